"""Another site's record answers exactly like a record that does not exist (issue 20, finding 7).

Today a 403 for another site's record and a 404 for a missing one let site staff count another
site's enrolments and AEs by trying numbers. Every object page of the role × URL matrix, built for
a site-01 participant, is opened by each site-bound role of site 02: the answer (a 404, or a list
or form that shows nothing) has the same status and body as for a record that does not exist.
"""

import re

import pytest

from .factories import ParticipantFactory
from .pages import PAGES, build_world
from .roles_short import C, I, M, P

pytestmark = pytest.mark.django_db

SITE_BOUND = (C, I, P, M)
TOKEN = re.compile(r"\b[A-Za-z0-9]{64}\b")  # the CSRF token, masked anew at each response
LAST_NUMBER = re.compile(r"/(\d+)/(?=[^/]*$)")


def _body(response) -> str:
    return TOKEN.sub("<token>", response.content.decode(errors="replace"))


def _missing(path: str, participant) -> str:
    """The same address for a record that does not exist."""
    if participant.study_id in path:
        return path.replace(participant.study_id, "01-9999")
    return LAST_NUMBER.sub("/99999999/", path, count=1)


def test_site_02_staff_cannot_tell_site_01_records_from_missing_ones(
    client, make_user, login, site01, site02, roles
):
    ParticipantFactory(site=site01)  # 01-0001 is the placeholder of the study-ID boxes
    participant = ParticipantFactory(site=site01)
    world = build_world(participant)
    wrong = []
    for role in SITE_BOUND:
        login(make_user(role, sites=[site02], username=f"other-{role.value}"))
        for key, (_, build, allowed) in PAGES.items():
            if role not in allowed:
                continue
            path = build(world)
            response = client.get(path)
            if response.status_code == 200 and participant.study_id not in path:
                continue  # a page of the user's own (a list, a blank form, a report of theirs)
            missing = client.get(_missing(path, participant))
            if response.status_code == 200:
                # A list or a form that echoes what was typed: the same page as for a missing ID.
                seen = _body(response).replace(participant.study_id, "<id>")
                if missing.status_code != 200 or seen != _body(missing).replace("01-9999", "<id>"):
                    wrong.append(f"{role.label} {key} ({path}): differs from a missing record")
                continue
            if response.status_code != 404:
                wrong.append(f"{role.label} {key} ({path}): {response.status_code}, not 404")
            elif missing.status_code != 404 or _body(response) != _body(missing):
                wrong.append(f"{role.label} {key} ({path}): not the answer for a missing record")
        client.logout()
    assert not wrong, "\n".join(wrong)
