"""The database lock checks readiness, needs a reason and the data manager's e-signature, and
a locked CRF is shown read-only (issue 20, finding 4; 21 CFR 11.10(f) operational checks,
11.50/11.200 signature components, 11.10(e) the reason in the audit trail)."""

import pytest

from datamanagement import selectors, services
from datamanagement.exceptions import NotLocked
from datamanagement.models import Lock, LockLevel
from kernel.roles import Role

from .factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_query(murray):
    return services.query_raise(
        participant=murray.visit.participant,
        visit=murray.visit,
        crf_code="murray",
        field_name="fio2",
        text="Please confirm FiO2 against the ventilator chart.",
        origin="edit_check",
        auto_key="readiness-test",
    )


@pytest.fixture
def data_manager(make_user):
    return make_user(Role.DATA_MANAGER)


def _readiness():
    return {item.key: item.count for item in selectors.database_lock_readiness()}


def test_the_checklist_counts_open_queries_and_unverified_crfs(open_query):
    counts = _readiness()
    assert counts["queries"] == 1
    assert counts["sdv"] >= 1  # the Murray CRF is entered, not source-verified
    assert set(counts) == {"queries", "voided_signatures", "sdv", "missing_crfs", "sae_follow_ups"}


def test_an_open_item_not_waived_refuses_the_lock(data_manager, open_query):
    with pytest.raises(NotLocked, match="Open or answered queries"):
        services.database_lock(
            user=data_manager, password=PASSWORD, reason="LPLV", waivers={"sdv": "Risk-based"}
        )
    assert not selectors.database_is_locked()


def test_a_wrong_password_or_no_reason_refuses_the_lock(data_manager, open_query):
    waivers = {k: "Accepted by the sponsor" for k in _readiness()}
    with pytest.raises(NotLocked, match="password"):
        services.database_lock(user=data_manager, password="wrong", reason="LPLV", waivers=waivers)
    with pytest.raises(NotLocked, match="reason"):
        services.database_lock(user=data_manager, password=PASSWORD, reason=" ", waivers=waivers)
    assert not selectors.database_is_locked()


def test_every_open_item_waived_and_signed_locks_and_keeps_the_record(data_manager, open_query):
    waivers = {k: "Accepted by the sponsor" for k, n in _readiness().items() if n}
    lock = services.database_lock(
        user=data_manager, password=PASSWORD, reason="Last visit entered", waivers=waivers
    )
    assert selectors.database_is_locked()
    assert lock.reason == "Last visit entered"
    assert lock.readiness["items"]["queries"] == 1
    assert lock.readiness["waivers"]["queries"] == "Accepted by the sponsor"
    assert lock.readiness["signature"]["signer"]


def test_the_one_click_database_lock_is_gone(client, login, data_manager, murray):
    login(data_manager)
    client.post("/data/locks/", {"do": "lock", "level": "database", "reason": ""})
    client.post("/randomization/trial-unblinding/", {"lock": "1"})
    with pytest.raises(NotLocked):
        services.lock_create(user=data_manager, level=LockLevel.DATABASE, reason="x")
    assert not selectors.database_is_locked()


def test_the_page_shows_the_checklist_and_locks_with_waivers_and_signature(
    client, login, data_manager, open_query
):
    login(data_manager)
    page = client.get("/data/locks/").content.decode()
    assert 'data-testid="lock-readiness"' in page
    assert "Open or answered queries" in page
    form = {"do": "database", "reason": "Last visit entered", "password": PASSWORD}
    response = client.post("/data/locks/", form)
    assert response.status_code == 200
    assert "Not ready to lock" in response.content.decode()
    assert "Last visit entered" in response.content.decode()  # what was typed is kept
    waivers = {f"waive_{k}": "Accepted by the sponsor" for k, n in _readiness().items() if n}
    response = client.post("/data/locks/", {**form, **waivers})
    assert response.status_code == 302
    assert selectors.database_is_locked()


def test_a_reason_is_required_for_every_lock(data_manager, participant):
    with pytest.raises(NotLocked, match="reason"):
        services.lock_create(
            user=data_manager, level=LockLevel.PARTICIPANT, participant=participant, reason=""
        )
    assert not Lock.objects.exists()


def test_a_locked_crf_is_shown_read_only(client, login, make_user, data_manager, murray):
    services.lock_create(
        user=data_manager,
        level=LockLevel.CRF,
        participant=murray.visit.participant,
        visit=murray.visit,
        crf_code="murray",
        reason="CRF signed",
    )
    login(make_user(Role.COORDINATOR))
    study_id = murray.visit.participant.study_id
    page = client.get(f"/outcomes/participants/{study_id}/visits/D0/murray/").content.decode()
    assert 'data-testid="crf-read-only"' in page
    fields = page.split('data-testid="crf-locked-fields"')[1].split("</fieldset>")[0]
    assert "<input" in fields  # the values are shown, in a disabled fieldset
    assert 'name="reason_for_change"' not in page
