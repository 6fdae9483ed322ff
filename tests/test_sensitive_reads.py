"""Every read of the allocation or of identifying data is in the security log: who, what, when,
from where (issue 20, finding 5; 21 CFR 11.10(e) audit trails, ICH E6(R3) 4.2.2 access
records) — and the data manager finds them with one filter on the security log page."""

import pytest

from kernel.models import SecurityEvent, SecurityEventKind
from kernel.roles import Role

from .randomization_factories import store_list

pytestmark = pytest.mark.django_db

BROWSER = "Inspector-Test-Browser/1.0"


def _reads(user):
    return SecurityEvent.objects.filter(kind=SecurityEventKind.SENSITIVE_READ, user=user)


@pytest.mark.parametrize(
    ("role", "path", "what"),
    [
        (Role.STATISTICIAN, "/randomization/lists/{list}/", "randomization_list"),
        (Role.PHARMACIST, "/randomization/pharmacy/list.pdf", "pharmacy_pdf"),
        (Role.STATISTICIAN, "/dashboards/reports/dsmb-closed.pdf", "dsmb_closed_report"),
        (Role.DATA_MANAGER, "/data/audit/?format=csv", "audit_log_csv"),
        (Role.DATA_MANAGER, "/security-log/?format=csv", "security_log_csv"),
    ],
)
def test_the_read_is_logged_with_who_what_when_and_from_where(
    client, make_user, login, role, path, what
):
    rlist = store_list(phase="I", stratum="A")
    user = make_user(role)
    login(user)
    response = client.get(path.format(list=rlist.pk), HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200
    event = _reads(user).get()
    assert event.detail["what"] == what
    assert event.detail["path"] == path.format(list=rlist.pk)
    assert event.ip_address == "127.0.0.1"
    assert event.user_agent == BROWSER
    assert event.at is not None


def test_a_refused_read_is_not_logged_as_a_read(client, make_user, login):
    rlist = store_list(phase="I", stratum="A")
    coordinator = make_user(Role.COORDINATOR)
    login(coordinator)
    assert client.get(f"/randomization/lists/{rlist.pk}/").status_code == 403
    assert not _reads(coordinator).exists()


def test_the_data_manager_filters_the_log_to_reads(client, make_user, login):
    rlist = store_list(phase="I", stratum="A")
    statistician = make_user(Role.STATISTICIAN)
    login(statistician)
    client.get(f"/randomization/lists/{rlist.pk}/")
    client.get(f"/randomization/lists/{rlist.pk}/csv/")
    client.logout()
    login(make_user(Role.DATA_MANAGER))
    page = client.get("/security-log/?reads=on").content.decode()
    rows = page.split('data-testid="security-log"')[1]
    assert "Allocation or identifying data read" in rows
    assert "Randomization list downloaded" in rows
    assert "Signed in" not in rows
