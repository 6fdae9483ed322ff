"""The arm reaches an export only after trial-level unblinding (SPEC §3, §8); before it, no
column, order or count reveals it."""

from __future__ import annotations

import csv

import pyreadstat
import pytest
from django.core.management import call_command
from django.db.models import Case, CharField, Value, When

from exports.models import ExportRun
from kernel.trial import TRIAL
from randomization import allocation

from .exports_data import build_trial
from .factories import lock_database
from .randomization_factories import behind_the_triggers

pytestmark = pytest.mark.django_db


def _export(tmp_path, name="out"):
    out = tmp_path / name
    call_command("export_ipd", "--out", str(out))
    return out


def _csv(path) -> list[dict]:
    return list(csv.DictReader(path.read_text().splitlines()))


@pytest.fixture
def trial(site01, roles):
    return build_trial(site01)


def test_a_blinded_export_has_no_arm_anywhere(trial, tmp_path):
    out = _export(tmp_path)
    assert "arm" not in _csv(out / "participants.csv")[0]
    assert "IT.participants.arm" not in (out / "odm.xml").read_text()
    assert not any(d["variable"] == "arm" for d in _csv(out / "data_dictionary.csv"))
    assert "BLINDED" in (out / "README.txt").read_text()
    assert ExportRun.objects.get().unblinded is False


def test_every_file_is_sorted_by_export_id(trial, tmp_path):
    out = _export(tmp_path)
    for path in out.glob("*.csv"):
        if path.name == "data_dictionary.csv":
            continue
        ids = [row["export_id"] for row in _csv(path)]
        assert ids == sorted(ids), path.name


def test_the_blinded_export_asks_nothing_of_the_allocation(trial, tmp_path, monkeypatch):
    """Fail closed: before unblinding the export does not even read the arm."""
    seen = []
    real = allocation.participant_annotations

    def spy(*, with_arm):
        seen.append(with_arm)
        return real(with_arm=with_arm)

    monkeypatch.setattr(allocation, "participant_annotations", spy)
    _export(tmp_path)
    assert seen == [False]


def test_after_trial_unblinding_participants_and_odm_carry_the_arm(trial, tmp_path, monkeypatch):
    # Stand-in for the randomization app's answer (its own tests cover the real unblinding).
    arms = Case(
        When(pk=trial[0].pk, then=Value("exosome")),
        default=Value("placebo"),
        output_field=CharField(),
    )
    monkeypatch.setattr(allocation, "trial_unblinded", lambda: True)
    monkeypatch.setattr(
        allocation,
        "participant_annotations",
        lambda *, with_arm: {"arm": arms} if with_arm else {},
    )
    out = _export(tmp_path)
    participants = _csv(out / "participants.csv")
    assert sorted(p["arm"] for p in participants) == ["exosome", "placebo", "placebo"]
    odm = (out / "odm.xml").read_text()
    assert 'ItemOID="IT.participants.arm" Value="exosome"' in odm
    assert "UNBLINDED" in (out / "README.txt").read_text()
    assert ExportRun.objects.get().unblinded is True


def test_the_arm_annotation_is_given_only_when_asked_for(db):
    """The one allocation reader (randomization.allocation) adds the arm only behind the gate."""
    assert "arm" not in allocation.participant_annotations(with_arm=False)
    assert "arm" in allocation.participant_annotations(with_arm=True)
    assert allocation.trial_unblinded() is False


# -- with the randomization app: demo trial, real lists, real trial-level unblinding -----------


@pytest.fixture
def demo_trial(db):
    from .factories import PASSWORD

    call_command("load_demo", "--participants", "6", "--password", PASSWORD)


_PACKAGE_READERS = {
    ".dta": pyreadstat.read_dta,
    ".sav": pyreadstat.read_sav,
    ".xpt": pyreadstat.read_xport,
}


def _package_content(path):
    """Everything a statistics package reads from the file: cells, names, labels, value labels."""
    frame, meta = _PACKAGE_READERS[path.suffix](str(path))
    return (
        frame.to_csv(index=False),
        meta.column_names_to_labels,
        meta.variable_value_labels,
        meta.file_label,
    )


def _strip_run_details(text: str) -> str:
    """What legitimately differs between two runs: the run number and the time."""
    import re

    text = re.sub(r'CreationDateTime="[^"]+"', "", text)
    text = re.sub(r'FileOID="[^"]+"', "", text)
    return text


def test_swapping_every_arm_changes_no_byte_of_a_blinded_export(demo_trial, tmp_path):
    from randomization.models import Slot

    assert Slot.objects.filter(randomization__isnull=False).exists()
    before = _export(tmp_path, "before")
    assigned = Slot.objects.filter(randomization__isnull=False)
    arms = dict(assigned.values_list("pk", "arm"))
    exosome, placebo = (a.code for a in TRIAL.arms)
    with behind_the_triggers():  # stored slots are immutable otherwise (migration 0005)
        for pk, arm in arms.items():
            Slot.objects.filter(pk=pk).update(arm=placebo if arm == exosome else exosome)
    after = _export(tmp_path, "after")
    files = sorted(p for p in before.rglob("*") if p.is_file())
    assert {p.relative_to(before) for p in files} == {
        p.relative_to(after) for p in after.rglob("*") if p.is_file()
    }
    for path in files:
        name = path.relative_to(before).as_posix()
        if name == "README.txt":
            continue
        if path.suffix in _PACKAGE_READERS:
            # Stata, SPSS and SAS files carry their creation time: compare what they hold.
            old, new = _package_content(path), _package_content(after / name)
        else:
            old, new = path.read_text(), (after / name).read_text()
        if name == "odm.xml":
            old, new = _strip_run_details(old), _strip_run_details(new)
        assert old == new, f"{name} changed with the allocation"


def test_after_the_real_trial_unblinding_the_arm_matches_the_allocation(demo_trial, tmp_path):
    from exports.models import ExportPseudonym
    from kernel.models import User
    from randomization import services as randomization_services
    from randomization.models import Randomization

    from .factories import PASSWORD

    assert "arm" not in _csv(_export(tmp_path, "blinded") / "participants.csv")[0]
    data_manager = User.objects.get(username="datamanager")
    lock_database(data_manager)
    randomization_services.trial_unblinding_confirm(user=data_manager, password=PASSWORD)
    assert "arm" not in _csv(_export(tmp_path, "half") / "participants.csv")[0]  # one of two
    statistician = User.objects.get(username="statistician")
    randomization_services.trial_unblinding_confirm(user=statistician, password=PASSWORD)

    out = _export(tmp_path, "unblinded")
    rows = {r["export_id"]: r for r in _csv(out / "participants.csv")}
    randomizations = Randomization.objects.select_related("slot__randomization_list")
    assert randomizations.exists()
    for randomization in randomizations:
        export_id = ExportPseudonym.objects.get(participant=randomization.participant).export_id
        row = rows[export_id]
        assert row["arm"] == randomization.slot.arm
        assert row["phase"] == randomization.slot.randomization_list.phase
        assert row["stratum"] == randomization.slot.randomization_list.stratum
        flagged = randomization.participant.emergency_unblindings.exists()
        assert row["emergency_unblinded"] == str(int(flagged))
    assert "UNBLINDED" in (out / "README.txt").read_text()
    assert 'ItemOID="IT.participants.arm"' in (out / "odm.xml").read_text()


def test_an_emergency_unblinding_is_flagged_without_the_arm(demo_trial, tmp_path):
    from exports.models import ExportPseudonym
    from kernel.models import User
    from randomization import services as randomization_services
    from randomization.models import Randomization

    from .factories import PASSWORD

    randomization = Randomization.objects.filter(participant__site__code="01").first()
    randomization_services.emergency_unblind(
        participant=randomization.participant,
        user=User.objects.get(username="investigator"),
        password=PASSWORD,
        reason="Anaphylaxis",
        no_event_justification="Anaphylaxis; the SAE is being entered",
    )
    out = _export(tmp_path)
    rows = {r["export_id"]: r for r in _csv(out / "participants.csv")}
    export_id = ExportPseudonym.objects.get(participant=randomization.participant).export_id
    assert rows[export_id]["emergency_unblinded"] == "1"
    assert sum(r["emergency_unblinded"] == "1" for r in rows.values()) == 1
    assert "arm" not in rows[export_id]
