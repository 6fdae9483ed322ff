"""No browser or proxy keeps a copy of what a signed-in user received (issue 20, finding 6).

Pages, CSVs and PDFs can hold identifying data or the allocation; a shared ward computer's cache
must not. The role × URL matrix checks the header on every page for every role; here the rule
itself, on a page, a CSV and a refusal.
"""

import pytest

from kernel.roles import Role

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/data/audit/?format=csv", "/data/locks/", "/no-such/"])
def test_every_response_to_a_signed_in_user_says_no_store(client, make_user, login, path):
    login(make_user(Role.DATA_MANAGER))
    response = client.get(path)
    assert "no-store" in response["Cache-Control"]
    assert response["Pragma"] == "no-cache"


def test_a_refused_page_says_no_store_too(client, make_user, login):
    login(make_user(Role.COORDINATOR))
    response = client.get("/data/locks/")
    assert response.status_code == 403
    assert "no-store" in response["Cache-Control"]
