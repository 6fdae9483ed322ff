"""The security log (issue 12): what is recorded, that it is append-only, and its page."""

import csv
import io
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.db import DatabaseError, transaction

from accounts.selectors import username_logged
from kernel.models import SecurityEvent, SecurityEventKind
from kernel.roles import Role
from randomization import services as randomization_services

from .factories import PASSWORD, UserFactory
from .randomization_factories import EXOSOME, PLACEBO, randomized_participant, store_list

pytestmark = pytest.mark.django_db

K = SecurityEventKind


def kinds(**filters) -> list[str]:
    return list(
        SecurityEvent.objects.filter(**filters).order_by("pk").values_list("kind", flat=True)
    )


def test_a_sign_in_and_a_sign_out_are_recorded_with_the_address(client, make_user):
    user = make_user(Role.COORDINATOR)
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    client.post("/logout/")
    assert kinds(user=user)[-2:] == [K.SIGN_IN, K.SIGN_OUT]  # after the set-up's role and site
    event = SecurityEvent.objects.filter(kind=K.SIGN_IN).get()
    assert event.ip_address == "127.0.0.1"
    assert event.username == user.username


def test_failed_sign_ins_and_the_lock_out_are_recorded_even_for_unknown_accounts(
    client, make_user, settings
):
    user = make_user(Role.COORDINATOR)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": user.username, "password": "wrong"})
    client.post("/login/", {"username": "no-such-person", "password": "wrong"})
    assert kinds(user=user).count(K.SIGN_IN_FAILED) == settings.AXES_FAILURE_LIMIT
    assert K.LOCKED_OUT in kinds(user=user)
    # The client had tried five wrong passwords: axes locks it out for any account now.
    unknown = SecurityEvent.objects.get(user=None, kind=K.SIGN_IN_FAILED)
    # A name that is no account's is kept only as a keyed hash (issue 20): it may be a password
    # typed into the wrong box. The same name gives the same hash.
    assert unknown.username == username_logged("no-such-person")
    assert unknown.username.startswith("unknown:")
    # The password typed is never kept, nor an unknown name.
    assert "wrong" not in str(list(SecurityEvent.objects.values()))
    assert "no-such-person" not in str(list(SecurityEvent.objects.values()))


def test_a_password_typed_as_the_username_is_not_readable_in_the_log(
    client, make_user, data_manager
):
    """Issue 20, finding 10: the data manager reads the log; the password typed into the
    username box must not be in it, on the page, in its CSV or in the admin."""
    user = make_user(Role.COORDINATOR)
    client.post("/login/", {"username": "Tr1al-secret!", "password": user.username})
    assert "Tr1al-secret!" not in str(list(SecurityEvent.objects.values()))
    # An account's own name stays readable.
    client.post("/login/", {"username": user.username, "password": "wrong"})
    assert SecurityEvent.objects.filter(username=user.username, kind=K.SIGN_IN_FAILED).exists()
    client.force_login(data_manager)
    assert "Tr1al-secret!" not in client.get("/security-log/").content.decode()
    csv_body = client.get("/security-log/", {"format": "csv"}).content.decode()
    assert "Tr1al-secret!" not in csv_body
    # Who knows the name can still find its tries: the search hashes it the same way.
    found = client.get("/security-log/", {"username": "Tr1al-secret!"}).content.decode()
    assert username_logged("Tr1al-secret!") in found


def test_role_site_and_account_changes_are_recorded(make_user, site02):
    user = make_user(Role.COORDINATOR)
    user.groups.add(Group.objects.get(name=Role.PHARMACIST.value))
    user.sites.remove(user.sites.get())
    user.sites.add(site02)
    user.is_active = False
    user.save()
    events = list(SecurityEvent.objects.filter(user=user).order_by("pk"))
    assert [(e.kind, e.detail) for e in events[-4:]] == [
        (K.ROLES_CHANGED, {"roles": [Role.PHARMACIST.value], "change": "added"}),
        (K.SITES_CHANGED, {"sites": ["01"], "change": "removed"}),
        (K.SITES_CHANGED, {"sites": ["02"], "change": "added"}),
        (K.ACCOUNT_CHANGED, {"is_active": False}),
    ]


def test_an_administrator_changing_a_role_is_recorded_as_the_one_who_did_it(client, make_user):
    admin = UserFactory(username="it-admin", is_staff=True, is_superuser=True)
    coordinator = make_user(Role.COORDINATOR)
    client.force_login(admin)
    pharmacist_group = Group.objects.get(name=Role.PHARMACIST.value)
    response = client.post(
        f"/admin/trialedc/user/{coordinator.pk}/change/",
        {
            "username": coordinator.username,
            "groups": [pharmacist_group.pk],
            "sites": [s.pk for s in coordinator.sites.all()],
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "_save": "Save",
        },
    )
    assert response.status_code == 302, response.context["adminform"].errors
    changed = SecurityEvent.objects.filter(user=coordinator, kind=K.ROLES_CHANGED, actor=admin)
    assert sorted(tuple(e.detail.values()) for e in changed) == [
        ([Role.COORDINATOR.value], "removed"),
        ([Role.PHARMACIST.value], "added"),
    ]


@pytest.fixture
def randomized(roles, site01):
    store_list(phase="I", stratum="B", arms=[EXOSOME, PLACEBO] * 3)
    return randomized_participant(site=site01, support="none")


def test_an_emergency_unblinding_is_recorded_without_the_arm(client, make_user, randomized):
    investigator = make_user(Role.INVESTIGATOR)
    client.force_login(investigator)
    url = f"/randomization/participant/{randomized.participant.study_id}/unblind/"
    form = {"sae_reference": "SAE-0007", "reason": "Shock", "password": PASSWORD}
    with mock.patch("randomization.services.alert_enqueue"):
        client.post(url, form)
    event = SecurityEvent.objects.get(kind=K.EMERGENCY_UNBLINDING)
    assert event.user == investigator
    assert event.ip_address == "127.0.0.1"
    assert event.detail == {
        "participant": randomized.participant.study_id,
        "sae_reference": "SAE-0007",
    }
    assert "xosome" not in str(event.detail)
    assert "lacebo" not in str(event.detail)


def test_each_trial_unblinding_confirmation_is_recorded(roles):
    data_manager = UserFactory(username="dm", role=Role.DATA_MANAGER)
    statistician = UserFactory(username="st", role=Role.STATISTICIAN)
    randomization_services.database_lock(user=data_manager)
    randomization_services.trial_unblinding_confirm(user=data_manager, password=PASSWORD)
    randomization_services.trial_unblinding_confirm(user=statistician, password=PASSWORD)
    events = SecurityEvent.objects.filter(kind=K.TRIAL_UNBLINDING).order_by("pk")
    assert [(e.user, e.detail["unblinded"]) for e in events] == [
        (data_manager, False),
        (statistician, True),
    ]


def test_an_export_and_its_download_are_recorded(client, make_user, site01):
    sponsor = make_user(Role.SPONSOR)
    client.force_login(sponsor)
    response = client.post("/exports/new/", {})
    run_id = int(response["Location"].rstrip("/").split("/")[-1])
    client.get(f"/exports/{run_id}/download/")
    assert kinds(user=sponsor)[-2:] == [K.EXPORT_STARTED, K.EXPORT_DOWNLOADED]
    assert SecurityEvent.objects.get(kind=K.EXPORT_DOWNLOADED).detail["run"] == run_id


def test_a_request_refused_by_a_rate_limit_is_recorded(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login": "0/60"}
    client.post("/login/", {"username": "sprayer", "password": "x"})
    event = SecurityEvent.objects.get(kind=K.RATE_LIMITED)
    assert (event.username, event.detail["scope"]) == (username_logged("sprayer"), "login")


def test_a_security_event_can_be_neither_changed_nor_deleted(make_user):
    user = make_user(Role.COORDINATOR)
    user.groups.clear()
    event = SecurityEvent.objects.filter(user=user).first()
    with pytest.raises(DatabaseError, match="cannot be changed"), transaction.atomic():
        SecurityEvent.objects.filter(pk=event.pk).update(username="someone-else")
    with pytest.raises(DatabaseError, match="cannot be changed"), transaction.atomic():
        SecurityEvent.objects.filter(pk=event.pk).delete()
    assert SecurityEvent.objects.get(pk=event.pk).username == user.username


# -- the page ----------------------------------------------------------------------------------


@pytest.fixture
def data_manager(make_user):
    return make_user(Role.DATA_MANAGER)


def test_the_data_manager_filters_the_log_by_event_and_user(client, data_manager, make_user):
    coordinator = make_user(Role.COORDINATOR)
    client.post("/login/", {"username": coordinator.username, "password": "wrong"})
    client.force_login(data_manager)
    body = client.get("/security-log/", {"kind": K.SIGN_IN_FAILED}).content.decode()
    assert "Sign-in failed" in body
    assert coordinator.username in body
    other = client.get("/security-log/", {"username": "nobody-here"}).content.decode()
    assert "No security event matches." in other


def test_a_bad_filter_is_explained_and_keeps_what_was_typed(client, data_manager):
    client.force_login(data_manager)
    body = client.get(
        "/security-log/",
        {
            "ip_address": "not-an-ip",
            "username": "kept",
            "date_from": "2026-02-01",
            "date_to": "2026-01-01",
        },
    ).content.decode()
    assert "Enter a valid IPv4 or IPv6 address." in body
    assert "The end date is before the start date." in body
    assert 'value="kept"' in body


def test_the_csv_has_every_matching_row_and_defuses_formulas(client, data_manager):
    UserFactory(username='=HYPERLINK("http://x")')  # an account's name is kept as it is
    client.post("/login/", {"username": '=HYPERLINK("http://x")', "password": "wrong"})
    client.force_login(data_manager)
    response = client.get("/security-log/", {"format": "csv", "kind": K.SIGN_IN_FAILED})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["when_utc", "event", "username"]
    assert [row[1] for row in rows[1:]] == [K.SIGN_IN_FAILED]
    assert rows[1][2] == '\'=HYPERLINK("http://x")'


def test_names_and_details_are_escaped_on_the_page(client, data_manager):
    UserFactory(username="<script>alert(1)</script>")  # an account's name is kept as it is
    client.post("/login/", {"username": "<script>alert(1)</script>", "password": "x"})
    client.force_login(data_manager)
    body = client.get("/security-log/").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_only_the_data_manager_reads_the_log(client, make_user):
    client.force_login(make_user(Role.STATISTICIAN))
    assert client.get("/security-log/").status_code == 403


def test_the_menu_shows_the_log_to_the_data_manager(client, data_manager):
    client.force_login(data_manager)
    assert 'href="/security-log/"' in client.get("/").content.decode()
