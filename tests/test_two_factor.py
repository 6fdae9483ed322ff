"""Two-factor sign-in (issue 12): who must use it, setting it up, signing in with it, backup
codes, throttling, an administrator's reset, and the password + code asked again before
emergency unblinding, trial-level unblinding and an e-signature.

Codes are computed here from the device's secret (RFC 6238), as an authenticator app does.
`TWO_FACTOR_ENFORCED` is off in tests/settings.py (as under DEBUG) and switched on here.
"""

from __future__ import annotations

import re
import time
from binascii import unhexlify
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
import time_machine
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import twofactor
from accounts.models import BackupCodes
from kernel.models import SecurityEvent, SecurityEventKind
from kernel.roles import Role

from . import outcomes_factories as of
from .factories import PASSWORD, ParticipantFactory, UserFactory, lock_database
from .page_client import version_shown
from .pages import PAGES, build_world
from .randomization_factories import EXOSOME, PLACEBO, randomized_participant, store_list

pytestmark = pytest.mark.django_db


REQUIRED = {
    Role.PHARMACIST,
    Role.STATISTICIAN,
    Role.DATA_MANAGER,
    Role.SAFETY_PHYSICIAN,  # unblinded case by case (issue 19)
    # Identifying data (participants.view_identifyingdata):
    Role.COORDINATOR,
    Role.INVESTIGATOR,
    Role.MONITOR,
}


def code_for(key_hex: str, *, at: float | None = None) -> str:
    totp = TOTP(unhexlify(key_hex))
    totp.time = time.time() if at is None else at
    return f"{totp.token():06d}"


def a_device(user) -> TOTPDevice:
    """A set-up authenticator (as if enrolled a while ago)."""
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


@pytest.fixture
def enforced(settings):
    settings.TWO_FACTOR_ENFORCED = True


@pytest.fixture
def clock():
    """A stopped clock moved on 30 s (one TOTP step) at each `clock.step()`: a code is accepted
    once per step, so tests that use several codes move time like a person would."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        traveller.step = lambda: traveller.shift(timedelta(seconds=30))
        yield traveller


def signed_in_with_code(client, user, device) -> None:
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    response = client.post("/account/two-factor/verify/", {"code": code_for(device.key)})
    assert response.status_code == 302, response.content[:400]


# -- who must use it ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_two_factor_is_required_of_the_unblinded_the_data_manager_and_phi_roles(
    enforced, make_user, role
):
    assert twofactor.required(make_user(role)) is (role in REQUIRED)


def test_staff_need_it_and_nobody_does_where_it_is_not_enforced(settings, roles, site01):
    admin = UserFactory(username="admin", is_staff=True)
    sponsor = UserFactory(username="sponsor", role=Role.SPONSOR)
    settings.TWO_FACTOR_ENFORCED = True
    assert twofactor.required(admin)
    assert not twofactor.required(sponsor)
    settings.TWO_FACTOR_ENFORCED = False
    assert not twofactor.required(admin)


@pytest.mark.parametrize("role", sorted(REQUIRED, key=lambda r: r.value))
def test_a_required_role_without_a_device_is_sent_to_set_it_up_and_sees_nothing_else(
    enforced, client, login, make_user, site01, role
):
    """Every page of the role (the role × URL matrix's list) sends it to set-up."""
    world = build_world(ParticipantFactory(site=site01))
    login(make_user(role))
    paths = [build(world) for _, build, allowed in PAGES.values() if role in allowed]
    assert len(paths) > 5
    for path in paths:
        if path.startswith("/account/two-factor/"):
            continue
        response = client.get(path)
        assert (response.status_code, response["Location"]) == (302, "/account/two-factor/"), path
    page = client.get("/account/two-factor/")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="two-factor-required"' in body
    assert 'data-testid="two-factor-qr"' in body
    assert "data:image/svg+xml" in body
    # The menu offers nothing while the second factor is missing.
    assert 'class="nav-link' not in body
    assert "no-cache" in page["Cache-Control"]


def test_an_optional_role_goes_on_without_one_but_is_offered_it(enforced, client, login, make_user):
    login(make_user(Role.SPONSOR))
    assert client.get("/").status_code == 200
    preferences = client.get("/preferences/").content.decode()
    assert 'href="/account/two-factor/"' in preferences
    assert "Set up two-factor sign-in" in preferences


def test_required_second_factor_comes_before_the_forced_password_change(
    enforced, settings, client, login, make_user
):
    """A new pharmacist with an initial password: set-up first, then the password; no loop."""
    settings.PASSWORD_CHANGE_ENFORCED = True
    user = make_user(Role.PHARMACIST)
    user.must_change_password = True
    user.save()
    login(user)
    assert client.get("/")["Location"] == "/account/two-factor/"
    assert client.get("/password/")["Location"] == "/account/two-factor/"
    client.get("/account/two-factor/")
    key = client.session[twofactor.PENDING_KEY]
    response = client.post("/account/two-factor/", {"code": code_for(key)})
    assert response.status_code == 200
    assert client.get("/")["Location"] == "/password/"


# -- setting it up ------------------------------------------------------------------------------


def test_setting_up_needs_a_right_code_and_gives_ten_backup_codes_once(client, login, make_user):
    user = make_user(Role.PHARMACIST)
    login(user)
    page = client.get("/account/two-factor/").content.decode()
    key = client.session[twofactor.PENDING_KEY]
    assert twofactor.secret_base32(key) in page
    # A wrong code: nothing is set up, the user is told why, the attempt is logged.
    wrong = client.post("/account/two-factor/", {"code": "000000"})
    assert wrong.status_code == 200
    assert "This code is not right" in wrong.content.decode()
    assert not TOTPDevice.objects.exists()
    assert SecurityEvent.objects.filter(kind=SecurityEventKind.TWO_FACTOR_FAILED).exists()
    # The same secret is kept while the page is reloaded (the app has scanned it once).
    client.get("/account/two-factor/")
    assert client.session[twofactor.PENDING_KEY] == key

    done = client.post("/account/two-factor/", {"code": code_for(key)})
    body = done.content.decode()
    assert "no-store" in done["Cache-Control"]
    codes = re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", body)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed
    assert device.key == key
    backup = BackupCodes.objects.get(user=user)
    assert backup.remaining == 10
    stored = str(BackupCodes.objects.filter(pk=backup.pk).values().get())
    assert not any(code.replace("-", "") in stored for code in codes), "codes kept in clear"
    assert twofactor.PENDING_KEY not in client.session
    assert SecurityEvent.objects.filter(
        kind=SecurityEventKind.TWO_FACTOR_ENROLLED, user=user
    ).exists()
    # This session is verified: the EDC opens.
    assert client.get("/").status_code == 200


def test_a_password_alone_cannot_set_up_a_second_device(client, login, make_user):
    """Someone with the password of a user who has a device is asked for its code, and cannot
    replace it with their own."""
    user = make_user(Role.PHARMACIST)
    device = a_device(user)
    login(user)
    response = client.get("/account/two-factor/")
    assert response["Location"].startswith("/account/two-factor/verify/")
    client.post("/account/two-factor/", {"code": "123456"})
    assert list(TOTPDevice.objects.filter(user=user)) == [device]


# -- signing in with it -------------------------------------------------------------------------


def test_signing_in_asks_the_code_after_the_password_and_returns_to_the_page(
    clock, client, make_user
):
    user = make_user(Role.COORDINATOR)
    device = a_device(user)
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    response = client.get("/participants/")
    assert response["Location"] == "/account/two-factor/verify/?next=/participants/"
    page = client.get(response["Location"]).content.decode()
    assert "Second step of signing in" in page
    assert "/participants/" not in page.split("<main", 1)[0]  # no menu yet

    refused = client.post(
        "/account/two-factor/verify/", {"code": "000000", "next": "/participants/"}
    )
    assert "This code is not right" in refused.content.decode()
    clock.step()
    accepted = client.post(
        "/account/two-factor/verify/", {"code": code_for(device.key), "next": "/participants/"}
    )
    assert accepted["Location"] == "/participants/"
    assert client.get("/participants/").status_code == 200
    kinds = list(
        SecurityEvent.objects.filter(user=user).order_by("pk").values_list("kind", flat=True)
    )
    assert kinds[-3:] == [
        SecurityEventKind.SIGN_IN,
        SecurityEventKind.TWO_FACTOR_FAILED,
        SecurityEventKind.TWO_FACTOR_VERIFIED,
    ]


def test_a_code_works_once_and_never_sends_elsewhere(clock, client, make_user):
    from django.test import Client

    user = make_user(Role.MONITOR)
    device = a_device(user)
    code = code_for(device.key)
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    response = client.post(
        "/account/two-factor/verify/", {"code": code, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"
    other = Client()
    other.post("/login/", {"username": user.username, "password": PASSWORD})
    replay = other.post("/account/two-factor/verify/", {"code": code})
    assert replay.status_code == 200  # refused: the same code cannot be used twice
    assert other.get("/")["Location"].startswith("/account/two-factor/verify/")


def test_a_code_typed_with_persian_digits_is_accepted(client, make_user):
    from kernel.calendars import persian_digits

    user = make_user(Role.COORDINATOR)
    device = a_device(user)
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    typed = persian_digits(code_for(device.key))  # a Persian keyboard
    response = client.post("/account/two-factor/verify/", {"code": f" {typed[:3]} {typed[3:]} "})
    assert response.status_code == 302


def test_wrong_codes_make_the_next_try_wait(clock, client, make_user):
    user = make_user(Role.DATA_MANAGER)
    device = a_device(user)
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    client.post("/account/two-factor/verify/", {"code": "000000"})
    client.post("/account/two-factor/verify/", {"code": "000001"})  # within the 1 s wait
    at_once = client.post("/account/two-factor/verify/", {"code": code_for(device.key)})
    assert "Too many wrong codes: wait" in at_once.content.decode()
    clock.shift(timedelta(seconds=3))
    later = client.post("/account/two-factor/verify/", {"code": code_for(device.key)})
    assert later.status_code == 302


def test_a_backup_code_signs_in_once(client, make_user):
    user = make_user(Role.STATISTICIAN)
    a_device(user)
    codes = BackupCodes.objects.create(user=user, name="Backup codes").codes_replace()
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    response = client.post(
        "/account/two-factor/verify/", {"code": codes[3].upper().replace("-", " ")}
    )
    assert response.status_code == 302
    assert "9 are left" in client.get("/").content.decode()
    assert BackupCodes.objects.get(user=user).remaining == 9
    event = SecurityEvent.objects.filter(kind=SecurityEventKind.TWO_FACTOR_VERIFIED).get()
    assert event.detail == {"for": "sign-in", "with": "backup code", "backup_codes_left": 9}
    client.logout()
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    again = client.post("/account/two-factor/verify/", {"code": codes[3]})
    assert again.status_code == 200


def test_new_backup_codes_replace_the_old_ones_and_need_a_code(clock, client, make_user):
    user = make_user(Role.PHARMACIST)
    device = a_device(user)
    old = BackupCodes.objects.create(user=user, name="Backup codes").codes_replace()
    signed_in_with_code(client, user, device)
    refused = client.post("/account/two-factor/", {"do": "backup-codes", "code": "123"})
    assert refused.status_code == 200
    assert "This code is not right" in refused.content.decode()
    clock.step()
    page = client.post("/account/two-factor/", {"do": "backup-codes", "code": code_for(device.key)})
    new = re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", page.content.decode())
    assert len(new) == 10
    assert not set(new) & set(old)
    assert "Your earlier backup codes no longer work" in page.content.decode()
    backup = BackupCodes.objects.get(user=user)
    assert not backup.verify_token(old[0])
    clock.shift(timedelta(seconds=5))  # past the wait after a wrong code
    assert backup.verify_token(new[0])


def test_an_optional_user_may_turn_it_off_a_required_one_may_not(
    enforced, clock, client, make_user
):
    sponsor = make_user(Role.SPONSOR)
    device = a_device(sponsor)
    signed_in_with_code(client, sponsor, device)
    assert "Turn two-factor sign-in off" in client.get("/account/two-factor/").content.decode()
    clock.step()
    client.post("/account/two-factor/", {"do": "turn-off", "code": code_for(device.key)})
    assert not TOTPDevice.objects.filter(user=sponsor).exists()
    assert SecurityEvent.objects.filter(kind=SecurityEventKind.TWO_FACTOR_REMOVED).exists()

    client.logout()
    pharmacist = make_user(Role.PHARMACIST)
    device = a_device(pharmacist)
    clock.step()
    signed_in_with_code(client, pharmacist, device)
    page = client.get("/account/two-factor/").content.decode()
    assert "Turn two-factor sign-in off" not in page
    clock.step()
    client.post("/account/two-factor/", {"do": "turn-off", "code": code_for(device.key)})
    assert TOTPDevice.objects.filter(user=pharmacist).exists()


# -- an administrator's reset -------------------------------------------------------------------


def test_an_administrator_resets_a_lost_phone_with_a_reason_in_the_security_log(
    clock, client, roles, site01
):
    from django.test import Client

    pharmacist = UserFactory(username="pharm", role=Role.PHARMACIST, sites=[site01])
    device = a_device(pharmacist)
    BackupCodes.objects.create(user=pharmacist, name="Backup codes").codes_replace()
    ward = Client()
    signed_in_with_code(ward, pharmacist, device)
    assert ward.get("/").status_code == 200

    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    listing = client.get("/admin/trialedc/user/?q=pharm").content.decode()
    assert "Two-factor sign-in" in listing
    assert 'alt="True"' in listing  # the pharmacist has it set up
    confirm = client.post(
        "/admin/trialedc/user/", {"action": "reset_two_factor", "_selected_action": pharmacist.pk}
    )
    assert "Reset two-factor sign-in" in confirm.content.decode()
    assert TOTPDevice.objects.filter(user=pharmacist).exists()  # nothing yet without a reason
    done = client.post(
        "/admin/trialedc/user/",
        {
            "action": "reset_two_factor",
            "_selected_action": pharmacist.pk,
            "apply": "1",
            "reason": "Phone lost; the user came in person",
        },
    )
    assert done.status_code == 302
    assert not TOTPDevice.objects.filter(user=pharmacist).exists()
    assert not BackupCodes.objects.filter(user=pharmacist).exists()
    event = SecurityEvent.objects.get(kind=SecurityEventKind.TWO_FACTOR_RESET)
    assert (event.user, event.actor) == (pharmacist, admin)
    assert event.detail == {"reason": "Phone lost; the user came in person"}
    # The session verified with the old phone is verified no longer.
    with mock.patch("django.conf.settings.TWO_FACTOR_ENFORCED", True):
        assert ward.get("/")["Location"] == "/account/two-factor/"


# -- asked again: unblinding and e-signatures ---------------------------------------------------


@pytest.fixture
def randomized(roles, site01):
    store_list(phase="I", stratum="B", arms=[EXOSOME, PLACEBO] * 3)
    return randomized_participant(site=site01, support="none")


def test_emergency_unblinding_asks_the_password_and_a_current_code(
    clock, client, make_user, randomized
):
    from randomization.models import EmergencyUnblinding

    investigator = make_user(Role.INVESTIGATOR)
    device = a_device(investigator)
    signed_in_with_code(client, investigator, device)
    url = f"/randomization/participant/{randomized.participant.study_id}/unblind/"
    form = {
        "adverse_event": "none",
        "no_event_justification": "Arrest; the SAE is being entered",
        "reason": "Anaphylactic shock",
        "password": PASSWORD,
    }
    assert 'name="otp_code"' in client.get(url).content.decode()
    with mock.patch("randomization.services.alert_enqueue"):
        missing = client.post(url, form)
        clock.step()
        wrong = client.post(url, {**form, "otp_code": "000000"})
        assert not EmergencyUnblinding.objects.exists()
        assert "Type the code your authenticator app shows" in missing.content.decode()
        assert "This code is not right" in wrong.content.decode()
        assert "Anaphylactic shock" in wrong.content.decode()  # nothing typed is lost
        clock.step()
        clock.shift(timedelta(seconds=5))  # past the wait after the wrong code
        done = client.post(url, {**form, "otp_code": code_for(device.key)})
    assert 'data-testid="revealed-arm"' in done.content.decode()
    assert EmergencyUnblinding.objects.count() == 1
    assert SecurityEvent.objects.filter(
        kind=SecurityEventKind.TWO_FACTOR_VERIFIED, detail__for="emergency unblinding"
    ).exists()


def test_an_e_signature_asks_a_current_code(clock, client, make_user, site01):
    from datamanagement.models import Signature

    participant = ParticipantFactory(site=site01)
    of.schedule(participant)
    of.crf(
        participant, "D0", "murray", pao2_mmhg=Decimal("70"), fio2=Decimal("0.6"), cxr_quadrants=2
    )
    investigator = make_user(Role.INVESTIGATOR)
    device = a_device(investigator)
    signed_in_with_code(client, investigator, device)
    path = f"/data/participants/{participant.study_id}/sign/?level=casebook"
    data = {"level": "casebook", "meaning": "accurate_complete", "password": PASSWORD}
    data |= version_shown(client, path)  # the records' versions the page showed (issue 26)
    clock.step()
    refused = client.post(path, {**data, "otp_code": "999999"})
    assert refused.status_code == 200
    assert not Signature.objects.exists()
    clock.step()
    clock.shift(timedelta(seconds=5))
    signed = client.post(path, {**data, "otp_code": code_for(device.key)})
    assert signed.status_code == 302
    assert Signature.objects.get().signed_by == investigator


def test_trial_level_unblinding_asks_a_current_code(clock, client, make_user):
    from randomization.models import TrialUnblinding

    lock_database(make_user(Role.DATA_MANAGER))
    statistician = make_user(Role.STATISTICIAN)
    device = a_device(statistician)
    signed_in_with_code(client, statistician, device)
    page = client.get("/randomization/trial-unblinding/").content.decode()
    assert 'name="otp_code"' in page
    clock.step()
    response = client.post(
        "/randomization/trial-unblinding/",
        {"confirm": "1", "password": PASSWORD, "otp_code": "000000"},
    )
    assert "This code is not right" in response.content.decode()
    assert not TrialUnblinding.objects.filter(statistician_confirmed_at__isnull=False).exists()
    clock.step()
    clock.shift(timedelta(seconds=5))
    client.post(
        "/randomization/trial-unblinding/",
        {"confirm": "1", "password": PASSWORD, "otp_code": code_for(device.key)},
    )
    assert TrialUnblinding.objects.get().statistician == statistician


# -- the user is told ---------------------------------------------------------------------------


def test_the_user_is_e_mailed_when_their_sign_in_details_change(
    client, login, make_user, django_capture_on_commit_callbacks, mailoutbox
):
    from .blinding import leak_markers

    user = make_user(Role.PHARMACIST)
    user.email = "pharmacist@example.org"
    user.save()
    login(user)
    client.get("/account/two-factor/")
    key = client.session[twofactor.PENDING_KEY]
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/account/two-factor/", {"code": code_for(key)})
    (notice,) = mailoutbox
    assert notice.to == ["pharmacist@example.org"]
    assert notice.subject == "[EXO-ARDS EDC] Two-factor sign-in was set up"
    assert "from the address 127.0.0.1" in notice.body
    assert "tell the data manager or the EDC administrator at once" in notice.body
    assert not any(marker in notice.body for marker in leak_markers())


def test_a_persian_user_is_told_in_persian_and_a_user_without_address_not_at_all(
    make_user, django_capture_on_commit_callbacks, mailoutbox
):
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    reader = make_user(Role.COORDINATOR)
    reader.email, reader.language = "c@example.org", "fa"
    reader.save()
    silent = make_user(Role.MONITOR)
    with django_capture_on_commit_callbacks(execute=True):
        twofactor.reset(user=reader, actor=admin, reason="phone lost")
        twofactor.reset(user=silent, actor=admin, reason="phone lost")
    (notice,) = mailoutbox
    assert notice.to == ["c@example.org"]
    assert "بازنشانی" in notice.subject
    assert "phone lost" not in notice.body  # the reason is for the log, not the e-mail
