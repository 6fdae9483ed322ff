"""The `randomization_list` command: the statistician's and external checks' contract."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from kernel.roles import Role
from randomization.models import RandomizationList, Slot

from .factories import UserFactory
from .randomization_factories import randomized_participant

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("randomization_list", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def statistician(roles):
    return UserFactory(username="stat", role=Role.STATISTICIAN)


def test_it_prints_the_list_as_csv_with_the_exact_header_and_writes_nothing():
    text = run("--phase", "I", "--stratum", "A", "--seed", "42")
    lines = text.splitlines()
    assert lines[0] == "sequence,block,block_size,arm,envelope_code"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 6
    assert sorted(r["arm"] for r in rows) == ["exosome"] * 3 + ["placebo"] * 3
    assert RandomizationList.objects.count() == 0
    assert Slot.objects.count() == 0


def test_the_same_seed_prints_the_same_list_and_another_seed_another():
    first = run("--phase", "II", "--stratum", "B", "--seed", "2021")
    assert first == run("--phase", "II", "--stratum", "B", "--seed", "2021")
    assert first != run("--phase", "II", "--stratum", "B", "--seed", "2022")
    assert len(first.splitlines()) - 1 >= 60


def test_strata_and_phases_get_different_envelope_codes_for_one_seed():
    a = run("--phase", "I", "--stratum", "A", "--seed", "9")
    b = run("--phase", "I", "--stratum", "B", "--seed", "9")
    codes = lambda t: {r["envelope_code"] for r in csv.DictReader(io.StringIO(t))}  # noqa: E731
    assert not codes(a) & codes(b)


def test_save_stores_the_printed_list_with_its_checksum(statistician):
    printed = run("--phase", "I", "--stratum", "A", "--seed", "42")
    run("--phase", "I", "--stratum", "A", "--seed", "42", "--save", "--user", "stat")
    rlist = RandomizationList.objects.get(phase="I", stratum="A")
    assert rlist.seed == 42
    assert rlist.source == "generated"
    stored = [
        f"{s.sequence},{s.block},{s.block_size},{s.arm},{s.envelope_code}"
        for s in rlist.slots.order_by("sequence")
    ]
    assert printed.splitlines()[1:] == stored
    assert [s.number for s in rlist.slots.order_by("sequence")][:2] == ["A-001", "A-002"]


def test_save_needs_a_statistician(roles):
    UserFactory(username="coord", role=Role.COORDINATOR)
    with pytest.raises(CommandError, match="not an active user allowed"):
        run("--phase", "I", "--stratum", "A", "--seed", "1", "--save", "--user", "coord")
    with pytest.raises(CommandError, match="--user is required"):
        run("--phase", "I", "--stratum", "A", "--seed", "1", "--save")


def test_save_replaces_an_unused_list_but_refuses_one_with_assignments(statistician, site01):
    run("--phase", "I", "--stratum", "B", "--seed", "1", "--save", "--user", "stat")
    run("--phase", "I", "--stratum", "B", "--seed", "2", "--save", "--user", "stat")
    assert RandomizationList.objects.get(phase="I", stratum="B").seed == 2
    replaced = RandomizationList.history.get(history_type="-")
    assert (replaced.seed, replaced.history_change_reason) == (1, "Replaced before use")
    assert replaced.history_user == statistician
    randomized_participant(site=site01, support="none")
    with pytest.raises(CommandError, match="already holds assignments"):
        run("--phase", "I", "--stratum", "B", "--seed", "3", "--save", "--user", "stat")
    assert RandomizationList.objects.get(phase="I", stratum="B").seed == 2


def test_import_validates_with_line_numbers(statistician, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "sequence,block,block_size,arm,envelope_code\n1,1,2,exosome,ACDEFH\n2,1,2,exosome,ACDEFJ\n"
    )
    with pytest.raises(CommandError) as error:
        run("--phase", "I", "--stratum", "A", "--import", str(bad), "--user", "stat")
    assert "line 2: block 1 is not 1:1" in str(error.value)
    assert "exactly 6 slots, not 2" in str(error.value)
    assert RandomizationList.objects.count() == 0


def test_import_stores_a_valid_external_list(statistician, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(
        "sequence,block,block_size,arm,envelope_code\n"
        "1,1,4,placebo,KQ7T3A\n2,1,4,exosome,KQ7T3C\n3,1,4,exosome,KQ7T3D\n"
        "4,1,4,placebo,KQ7T3E\n5,2,2,exosome,KQ7T3F\n6,2,2,placebo,KQ7T3H\n"
    )
    run("--phase", "I", "--stratum", "A", "--import", str(good), "--user", "stat")
    rlist = RandomizationList.objects.get()
    assert rlist.source == "imported"
    assert rlist.seed is None
    assert rlist.slots.count() == 6


def test_an_unknown_phase_is_refused():
    with pytest.raises(CommandError):
        run("--phase", "III", "--stratum", "A", "--seed", "1")
