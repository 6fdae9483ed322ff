"""Searching participants by a Persian name works whichever keyboard typed it (issue 11)."""

import pytest

from kernel.roles import Role
from participants.selectors import search_text

from .factories import ParticipantFactory

pytestmark = pytest.mark.django_db


def test_search_text_folds_arabic_letters_zwnj_and_persian_digits():
    assert search_text("علي") == "علی"  # Arabic yeh -> Persian yeh
    assert search_text("كاظمى") == "کاظمی"  # Arabic kaf and alef maksura
    assert search_text("محمد\u200cرضا") == "محمدرضا"
    assert search_text("۰۱-۰۰۰۱") == "01-0001"


@pytest.fixture
def persian_patients(site01):
    ali = ParticipantFactory(site=site01, identity__full_name="علی رضایی")
    other = ParticipantFactory(site=site01, identity__full_name="مریم کاظمی")
    zwnj = ParticipantFactory(site=site01, identity__full_name="محمد\u200cرضا احمدی")
    return ali, other, zwnj


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("علی", 0),  # as stored
        ("علي", 0),  # Arabic keyboard yeh
        ("رضايي", 0),
        ("كاظمي", 1),  # Arabic kaf and yeh
        ("محمدرضا", 2),  # without the zero-width non-joiner
        ("محمد\u200cرضا", 2),
    ],
)
def test_the_participant_list_and_screening_log_find_a_persian_name(
    client, make_user, login, persian_patients, typed, found
):
    login(make_user(Role.COORDINATOR))
    wanted = persian_patients[found]
    others = [p for p in persian_patients if p is not wanted]
    for url in ("/participants/", "/participants/screening/"):
        body = client.get(url, {"q": typed}).content.decode()
        assert wanted.study_id in body, (url, typed)
        assert not any(p.study_id in body for p in others if p.identity.full_name != typed)


def test_a_study_id_typed_in_persian_digits_is_found(client, make_user, login, persian_patients):
    login(make_user(Role.COORDINATOR))
    ali = persian_patients[0]
    persian = ali.study_id.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    body = client.get("/participants/", {"q": persian}).content.decode()
    assert ali.study_id in body
