"""Blinding proof (SPEC §1): the allocation reaches no blinded user by any path.

The differential test builds the same trial twice, once with the arms of every list flipped, and
records everything each blinded role can reach (every page the crawler finds from the role
matrix seeds, form errors, audit histories, the admin, the e-mails our code sends). With time and
identifiers frozen, the two recordings must be identical: any arm word, arm-dependent count or
ordering would make them differ.
"""

import difflib
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.db import connection, transaction
from django.db.models import AutoField
from django.utils import timezone

from kernel import concurrency
from kernel.models import UNBLINDED_ALERT_KINDS, Alert, AlertKind
from kernel.roles import BLINDED_ROLES, Role, role_permissions
from participants.models import ParticipantStatus
from randomization import services
from randomization.models import Randomization, RandomizationList

from . import outcomes_factories
from .blinding import leak_markers
from .crawl import crawl
from .factories import PASSWORD, ParticipantFactory, UserFactory
from .pages import PAGES
from .randomization_factories import EXOSOME, PLACEBO, authenticator, code_now, store_list
from .safety_factories import case_unblind, report_susar

pytestmark = pytest.mark.django_db

FROZEN = datetime(2021, 3, 10, 8, 30, tzinfo=ZoneInfo("UTC"))
ARM_ONLY = (
    "randomization.view_allocation",
    "randomization.view_pharmacy",
    "randomization.view_randomizationlist",
)


@pytest.fixture
def staff(roles, site01):
    users = {
        role: UserFactory(username=f"u-{role.value}", role=role, sites=[site01]) for role in Role
    }
    for user in users.values():
        user.email = f"{user.username}@example.org"
        user.save()
    return users


def build_trial(staff, site01, *, flip: bool):
    pair = [PLACEBO, EXOSOME] if flip else [EXOSOME, PLACEBO]
    statistician = staff[Role.STATISTICIAN]
    for phase, repeat in (("I", 3), ("II", 30)):
        for stratum in ("A", "B"):
            store_list(phase=phase, stratum=stratum, arms=pair * repeat, user=statistician)
    people = [
        ParticipantFactory(
            pk=9000 + n,
            identity__pk=9000 + n,
            identity__full_name=f"Demo Patient {n}",
            identity__national_id=f"00000000{n:02d}",
            identity__hospital_record_number=f"HRN-{n}",
            site=site01,
            study_id=f"01-09{n:02d}",
            status=ParticipantStatus.ENROLLED,
            registered_by=staff[Role.COORDINATOR],
            # The same screener in both runs (the factory would make a new user each time).
            screening__screened_by=staff[Role.COORDINATOR],
        )
        for n in (1, 2, 3)
    ]
    for participant in people[:2]:
        randomization = services.slot_assign(
            participant=participant, user=staff[Role.COORDINATOR], respiratory_support="none"
        )
        # The dose's weight is the Baseline CRF's (issue 18), entered by the site.
        outcomes_factories.crf(
            participant, "D0", "baseline", complete=False, weight_kg=Decimal("70.0")
        )
        preparation = services.preparation_record(
            randomization=randomization,
            user=staff[Role.PHARMACIST],
            lot_number="LOT-7",
            concentration_million_per_ml=Decimal("5000"),
            lot_expiry=date(2030, 1, 1),
            checked_by="Second Pharmacist",
        )
        services.handover_record(
            preparation=preparation,
            user=staff[Role.PHARMACIST],
            handed_over_to="Nurse Ava",
            opened_version=concurrency.version_of(preparation),
        )
    # Issue 19: a suspected SUSAR in each randomized participant (one in each arm), each
    # unblinded by the sponsor's safety physician: one is reported, the other closed as placebo.
    # Nothing a blinded role sees (pages, PDFs, the outbox, e-mails) may differ.
    physician = staff[Role.SAFETY_PHYSICIAN]
    susars = [
        # timezone.now(): FROZEN inside capture(), the real clock when built outside it.
        report_susar(
            participant, staff[Role.COORDINATOR], aware_at=timezone.now() - timedelta(hours=2)
        )
        for participant in people[:2]
    ]
    for ae in susars:
        case_unblind(ae, physician)
    services.emergency_unblind(
        participant=people[0],
        user=staff[Role.INVESTIGATOR],
        password=PASSWORD,
        reason="Anaphylaxis during infusion",
        adverse_event=susars[0],
    )
    return people


_TOKENS = [
    (re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"'), 'name="csrfmiddlewaretoken"'),
    (re.compile(r'"X-CSRFToken": "[^"]+"'), '"X-CSRFToken": ""'),
    # The screening form's one-time token against double submits: random on every render.
    (re.compile(r'name="submission_token" value="[^"]+"'), 'name="submission_token"'),
    # SHA-256 digests of export files: each release has a random key, so the files (and their
    # digests) differ between any two runs. tests/test_exports_blinding.py proves, with one key,
    # that swapping the arms changes no byte of a blinded export.
    (re.compile(r"\b[0-9a-f]{16,64}…?"), "<sha256>"),
    # The key of an authenticator app being set up (and its QR code): random for each session.
    (re.compile(r'src="data:image/svg\+xml[^"]+" alt="QR code'), 'src="<qr>" alt="QR code'),
    (re.compile(r'data-testid="two-factor-secret" dir="ltr">[A-Z2-7 ]+<'), "<secret><"),
]


def normalize(body: str) -> str:
    for pattern, replacement in _TOKENS:
        body = pattern.sub(replacement, body)
    return body


def seeds(people) -> list[str]:
    paths = {"/"}
    rlist = RandomizationList.objects.order_by("phase", "stratum").first()
    for participant in people:
        world = SimpleNamespace(participant=participant, randomized=participant, rlist=rlist)
        for _, build, _ in PAGES.values():
            try:
                paths.add(build(world))
            except AttributeError:
                continue  # a page of another app needing an object this world lacks
    return sorted(paths)


def record(client, staff, people, roles=BLINDED_ROLES) -> dict:
    """Everything each of `roles` (blinded) can see, keyed by (role, what)."""
    seen = {}
    first, second, waiting = people
    for role in sorted(roles, key=lambda r: r.value):
        client.force_login(staff[role])
        result = crawl(client, start=seeds(people))
        for path, status in result.pages.items():
            key = (role.value, "GET", re.sub(r"/lists/\d+/", "/lists/<pk>/", path))
            seen[key] = (status, normalize(result.bodies.get(path, "")))
        posts = [
            (f"/randomization/participant/{first.study_id}/randomize/", {}),
            (f"/randomization/participant/{waiting.study_id}/randomize/", {}),
            (
                f"/randomization/participant/{waiting.study_id}/randomize/",
                {"respiratory_support": "none", "confirm_step": "1"},
            ),
            (
                f"/randomization/participant/{second.study_id}/unblind/",
                {
                    "adverse_event": "none",
                    "no_event_justification": "AE not entered yet",
                    "reason": "Shock",
                    "password": "wrong",
                },
            ),
            (f"/randomization/participant/{first.study_id}/unblind/", {}),
        ]
        for path, data in posts:
            response = client.post(path, data)
            seen[(role.value, "POST", path, tuple(sorted(data.items())))] = (
                response.status_code,
                normalize(response.content.decode()),
            )
        for participant in (first, second):
            path = f"/admin/participants/participant/{participant.pk}/history/"
            response = client.get(path)
            seen[(role.value, "admin", path)] = (response.status_code, response.get("Location"))
        client.logout()
    return seen


def restart_sequences(start: int = 500_000) -> None:
    """Give both runs the same primary keys: sequences are not rolled back with the data, so
    without this a page linking a record by its key would differ between the runs by the key
    alone, not by the arm."""
    with connection.cursor() as cursor:
        for model in apps.get_models():
            if not model._meta.managed or model._meta.proxy:
                continue  # no table of its own (e.g. a model that only holds permissions)
            if not isinstance(model._meta.pk, AutoField):
                continue  # no sequence (e.g. the session key)
            # Past any row already there: sequences are not rolled back either, so rows the
            # fixtures made in this test (e.g. security-log lines of the staff's role changes)
            # may already hold keys above `start`. The same value for both runs all the same.
            table = connection.ops.quote_name(model._meta.db_table)
            column = connection.ops.quote_name(model._meta.pk.column)
            # Identifiers quoted by the backend; values as parameters.
            sql = f"SELECT setval(pg_get_serial_sequence(%s, %s), GREATEST(%s, (SELECT COALESCE(MAX({column}), 0) + 1 FROM {table})), false)"  # noqa: E501, S608
            cursor.execute(sql, [model._meta.db_table, model._meta.pk.column, start])


def capture(client, staff, site01, *, flip: bool, roles=BLINDED_ROLES):
    """The trial built with the arms as drawn (or flipped) and what `roles` see of it; no roles:
    only the trial and the e-mails its building sent."""
    with (
        # Every clock stopped, including the defaults that hold timezone.now itself (the
        # security log's times, for instance), so both runs are written at the same moment.
        time_machine.travel(FROZEN, tick=False),
        mock.patch("django.utils.timezone.now", return_value=FROZEN),
        mock.patch("randomization.services.alert_enqueue") as alerts,
        transaction.atomic(),
    ):
        restart_sequences()
        people = build_trial(staff, site01, flip=flip)
        arms = [Randomization.objects.get(participant=p).slot.arm for p in people[:2]]
        seen = record(client, staff, people, roles) if roles else {}
        # The pharmacist's e-mail of each randomization is written to the outbox by the
        # assignment's database function (issue 24), not through alert_enqueue: read there.
        seen[("e-mails",)] = [
            {"kind": a.kind, "subject": a.subject, "body": a.body, "recipients": a.recipients}
            for a in Alert.objects.filter(kind=AlertKind.DOSE_TO_PREPARE).order_by("pk")
        ] + [
            {k: v for k, v in call.kwargs.items() if k != "participant"}
            for call in alerts.call_args_list
        ]
        # The safety e-mails in the outbox: those any blinded person receives or can read.
        seen[("outbox",)] = [
            (a.kind, a.subject, a.body, a.recipients)
            for a in Alert.objects.exclude(kind__in=sorted(UNBLINDED_ALERT_KINDS)).order_by("pk")
        ]
        seen[("unblinded outbox recipients",)] = sorted(
            {
                r
                for a in Alert.objects.filter(kind__in=sorted(UNBLINDED_ALERT_KINDS))
                for r in a.recipients
            }
        )
        markers = leak_markers()
        transaction.set_rollback(True)
    return arms, seen, markers


def first_difference(plain: dict, flipped: dict, keys: list) -> str:
    """The first differing view as a unified diff, so a failure shows what leaked."""
    key = keys[0]
    a, b = (
        str(view[key][1]) if isinstance(view[key], tuple) else str(view[key])
        for view in (plain, flipped)
    )
    diff = difflib.unified_diff(a.splitlines(), b.splitlines(), "arms", "flipped", lineterm="", n=1)
    return f"{len(keys)} views differ; first {key}:\n" + "\n".join(list(diff)[:60])


def test_blinded_roles_see_exactly_the_same_whichever_arm_each_participant_is_in(
    client, staff, site01
):
    arms, plain, markers = capture(client, staff, site01, flip=False)
    flipped_arms, flipped, _ = capture(client, staff, site01, flip=True)
    assert arms == [EXOSOME, PLACEBO]
    assert flipped_arms == [PLACEBO, EXOSOME]
    assert plain.keys() == flipped.keys()
    differences = [key for key in plain if plain[key] != flipped[key]]
    assert differences == [], first_difference(plain, flipped, differences)
    # The emergency e-mail, and the pharmacist's notice of each randomization (issue 21): the
    # same words in both runs, whichever arm (compared above with everything else).
    kinds = [mail["kind"] for mail in plain[("e-mails",)]]
    assert kinds.count("emergency_unblinding") == 1
    assert set(kinds) == {"emergency_unblinding", "dose_to_prepare"}
    assert kinds.count("dose_to_prepare") >= 2  # one per randomized participant
    # The crawl really went somewhere: randomized participants' own pages were among them.
    bodies = {k: v for k, v in plain.items() if k[1:2] == ("GET",) and v[0] == 200}
    assert any("01-0901" in body for _, body in bodies.values())
    for key, (_, body) in bodies.items():
        for marker in markers:
            assert marker not in body, f"{key}: {marker!r}"


def test_the_emergency_e_mail_names_the_event_not_the_arm(client, staff, site01):
    _, seen, _ = capture(client, staff, site01, flip=False, roles=())
    (mail,) = [m for m in seen[("e-mails",)] if m["kind"] != "dose_to_prepare"]
    assert mail["kind"] == "emergency_unblinding"
    assert "01-0901" in mail["subject"]
    for word in ("xosome", "lacebo", "saline"):
        assert word not in mail["body"].lower().replace("exosome therapy", "")
    assert "SAE 1: " in mail["body"]  # the triggering event, chosen (issue 19)
    assert sorted(mail["recipients"]) == sorted(
        [
            "u-investigator@example.org",
            "u-unblinded_pharmacist@example.org",
            "safety@sponsor.example.org",
        ]
    )


@pytest.mark.parametrize("role", sorted(BLINDED_ROLES, key=lambda r: r.value))
def test_no_blinded_role_holds_a_permission_that_shows_an_arm(role):
    held = role_permissions()[role]
    assert not set(held) & set(ARM_ONLY)


def test_the_leak_markers_do_catch_the_pharmacists_pages(client, login, staff, site01):
    build_trial(staff, site01, flip=False)
    login(staff[Role.PHARMACIST])
    body = client.get("/randomization/pharmacy/").content.decode()
    assert any(marker in body for marker in leak_markers())
    prepared = client.get("/randomization/pharmacy/01-0901/").content.decode()
    assert 'data-testid="dose"' in prepared
    assert any(marker in prepared for marker in leak_markers())


@pytest.mark.parametrize("role", list(Role))
def test_no_role_reads_an_allocation_through_the_audit_history_page(client, staff, site01, role):
    build_trial(staff, site01, flip=False)
    randomization = Randomization.objects.first()
    user = staff[role]
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    if client.get("/").status_code == 302:
        # A role that signs in with a second factor (the safety physician) gives it: the
        # refusal below is the role's, not the sign-in's.
        response = client.post(
            "/account/two-factor/verify/", {"code": code_now(authenticator(user))}
        )
        assert response.status_code == 302, response.content[:400]
    assert client.get("/").status_code == 200, role
    for label, pk in [
        ("randomization.slot", randomization.slot_id),
        ("randomization.randomization", randomization.pk),
        ("randomization.randomizationlist", randomization.slot.randomization_list_id),
        ("randomization.preparation", randomization.preparation.pk),
    ]:
        response = client.get(f"/audit/{label}/{pk}/")
        assert response.status_code == 403, (role, label)


def test_the_admin_shows_blinded_staff_no_allocation_model(client, staff, site01):
    build_trial(staff, site01, flip=False)
    blinded_admin = staff[Role.DATA_MANAGER]
    blinded_admin.is_staff = True
    blinded_admin.is_superuser = True  # even with every admin permission
    blinded_admin.save()
    client.force_login(blinded_admin)
    index = client.get("/admin/").content.decode()
    for hidden in ("Slots", "Randomization lists", "Randomizations", "Preparations"):
        assert f">{hidden}<" not in index
    for model in ("slot", "randomizationlist", "randomization", "preparation"):
        assert client.get(f"/admin/randomization/{model}/").status_code == 404
    # Being a superuser gives no trial permission (issue 20): the admin shows the data manager
    # only what the data manager's role may read, and that role reads no randomization record.
    assert client.get("/admin/randomization/").status_code == 404
    event = client.get("/admin/randomization/emergencyunblinding/")
    assert event.status_code == 403
    for marker in leak_markers():
        assert marker not in index
        assert marker not in event.content.decode()


def test_the_differential_test_catches_an_order_that_follows_the_arm(client, staff, site01):
    """A mutant listing participants by arm (no arm word anywhere) must be caught."""
    from randomization import selectors

    original = selectors.randomizations_for

    def by_arm(user):
        return original(user).order_by("slot__arm", "participant__study_id")

    # One role that sees the randomization overview is enough to show the mutant is caught.
    with mock.patch("randomization.views.selectors.randomizations_for", by_arm):
        _, plain, _ = capture(client, staff, site01, flip=False, roles={Role.COORDINATOR})
        _, flipped, _ = capture(client, staff, site01, flip=True, roles={Role.COORDINATOR})
    assert [key for key in plain if plain[key] != flipped[key]]
