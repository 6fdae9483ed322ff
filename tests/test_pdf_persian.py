"""PDFs in Persian for Persian readers (issue 21): the casebook and the blank CRFs are written
in Persian, in Vazirmatn, shaped (arabic-reshaper) and in visual order (python-bidi); CIOMS I
stays in English. Checked by extracting the text back (pypdf reads the Arabic presentation
forms; NFKC gives the letters back)."""

import unicodedata
from io import BytesIO

import pytest
from django.utils import translation
from pypdf import PdfReader

from kernel import pdf as frame
from kernel.roles import Role

from .dashboards_randomization import randomize
from .factories import ParticipantFactory

pytestmark = pytest.mark.django_db


def text_of(content: bytes) -> str:
    reader = PdfReader(BytesIO(content))
    return unicodedata.normalize("NFKC", "\n".join(p.extract_text() for p in reader.pages))


def fonts_of(content: bytes) -> set[str]:
    reader = PdfReader(BytesIO(content))
    names = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


@pytest.fixture
def persian(make_user):
    def make(role, **kwargs):
        user = make_user(role, **kwargs)
        user.language = "fa"
        user.save(update_fields=["language"])
        return user

    return make


def test_a_persian_line_is_shaped_and_keeps_study_ids_and_dates_left_to_right():
    line = frame.visual("پرونده 01-0031 در 2026-12-07")
    assert "01-0031" in line
    assert "2026-12-07" in line
    assert "\ufe8e" <= max(line) <= "\ufefc"  # joined forms (Arabic Presentation Forms-B)
    assert frame.visual("Casebook 01-0031") == "Casebook 01-0031"


def test_a_long_persian_paragraph_wraps_in_reading_order():
    class Note(frame.Report):
        title = "یادداشت"

        def get_story(self):
            words = " ".join(["نخست", *["کلمه"] * 60, "پایان"])
            return [frame.para(words, frame.NORMAL)]

    with translation.override("fa"):
        content = Note().render()
    lines = [line for line in text_of(content).splitlines() if "کلمه" in line]
    # Wrapped over several lines, the first word on the first line, the last on the last.
    assert len(lines) >= 2
    assert "نخست" in lines[0]
    assert "پایان" not in lines[0]
    assert "پایان" in lines[-1]
    assert any("Vazirmatn" in f for f in fonts_of(content))


def test_the_casebook_pdf_of_a_persian_reader_is_in_persian(client, login, persian, site01):
    coordinator = persian(Role.COORDINATOR, username="pdf-fa-coordinator")
    participant = ParticipantFactory(site=site01)
    randomize(participant, user=coordinator)
    login(persian(Role.INVESTIGATOR))
    response = client.get(f"/dashboards/reports/casebook/{participant.study_id}.pdf")
    assert response.status_code == 200
    text = text_of(response.content)
    for words in ("پرونده", "ویزیت", "امضاهای الکترونیکی", "خلاصه سابقه ممیزی", "صفحه"):
        assert words in text, words
    assert participant.study_id in text  # left to right, as printed
    assert "Casebook" not in text
    assert "Audit trail summary" not in text
    assert any("Vazirmatn" in f for f in fonts_of(response.content))


def test_the_blank_crfs_of_a_persian_reader_are_in_persian(client, login, persian):
    login(persian(Role.MONITOR))
    response = client.get("/dashboards/reports/blank-crfs.pdf")
    assert response.status_code == 200
    text = text_of(response.content)
    assert "حاشیه‌نویسی‌شده" in text
    assert "Blank annotated CRFs" not in text


def test_an_english_readers_pdf_stays_in_helvetica(client, login, make_user, site01):
    participant = ParticipantFactory(site=site01)
    randomize(participant, user=make_user(Role.COORDINATOR, username="pdf-en-coordinator"))
    login(make_user(Role.INVESTIGATOR))
    response = client.get(f"/dashboards/reports/casebook/{participant.study_id}.pdf")
    assert f"Casebook {participant.study_id}" in text_of(response.content)
    assert not any("Vazirmatn" in f for f in fonts_of(response.content))


def test_cioms_stays_in_english_for_a_persian_reader(client, login, persian, site01):
    from .safety_factories import report_susar

    investigator = persian(Role.INVESTIGATOR)
    from kernel import concurrency
    from safety import services

    from .factories import PASSWORD

    ae = report_susar(ParticipantFactory(site=site01), investigator)
    services.ae_causality_sign(
        ae=ae,
        user=investigator,
        password=PASSWORD,
        relationship="probable",
        opened_version=concurrency.version_of(ae),
    )
    report = ae.reports.order_by("number").first()
    assert report is not None
    login(investigator)
    response = client.get(f"/safety/ae/{ae.pk}/reports/{report.number}/cioms.pdf")
    assert response.status_code == 200
    text = text_of(response.content)
    assert "CIOMS FORM" in text
    assert "Page 1 of" in text
    assert "صفحه" not in text
