"""PDFs in Persian for Persian readers (issue 21): the casebook and the blank CRFs are written
in Persian, in Vazirmatn, shaped (arabic-reshaper) and in visual order (python-bidi); CIOMS I
stays in English. Checked by extracting the text back (pypdf reads the Arabic presentation
forms; NFKC gives the letters back)."""

import re
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


def test_brackets_in_a_persian_line_are_mirrored_as_a_reader_sees_them():
    # Right to left, "(n = 1)" after Persian words is drawn "(n = 1)" at the line's left end,
    # not ")n = 1(" (UAX #9 L4: a bracket at an odd level takes its mirror glyph).
    assert frame.visual("واردشده (n = 1)").startswith("(n = 1) ")
    assert frame.visual("گزارش (کورشده، تجمیعی)").startswith("(")
    assert frame.visual("گزارش (کورشده، تجمیعی)").endswith(frame.visual("گزارش"))
    assert frame.visual("آزمایش [ALT]").startswith("[ALT] ")


def test_every_persian_message_is_put_in_python_bidis_order_with_only_the_mirrors_added():
    import polib
    from bidi import get_display
    from bidi.mirror import MIRRORED
    from django.conf import settings

    def unmirrored(text):
        return "".join("(" if char in MIRRORED else char for char in text)

    catalogue = polib.pofile(str(settings.BASE_DIR / "locale/fa/LC_MESSAGES/django.po"))
    lines = {line for entry in catalogue for line in entry.msgstr.splitlines() if line.strip()}
    assert len(lines) > 500
    for line in lines:
        theirs = get_display(line, base_dir="R")
        ours = frame.bidi_line(line)
        assert unmirrored(ours).rstrip() == unmirrored(theirs).rstrip(), line


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


def test_the_consort_diagram_of_a_persian_dsmb_report_is_drawn_in_persian_right_to_left(
    client, login, persian, site01
):
    from dashboards import drawing

    coordinator = persian(Role.COORDINATOR, username="pdf-fa-dsmb-coordinator")
    randomize(ParticipantFactory(site=site01), user=coordinator)
    login(persian(Role.SPONSOR))
    response = client.get("/dashboards/reports/dsmb-open.pdf")
    assert response.status_code == 200
    with translation.override("fa"):
        title = translation.gettext("CONSORT flow diagram")
        randomized = translation.gettext("Randomized (n = %(n)s)") % {"n": 1}
    assert title != "CONSORT flow diagram"  # the catalogue has it
    reader = PdfReader(BytesIO(response.content))
    pages = [
        page
        for page in reader.pages
        if title.split()[0] in unicodedata.normalize("NFKC", page.extract_text())
        and "/XObject" not in page["/Resources"]
        and len(page.get_contents().get_data()) > 0
    ]
    diagram = [
        page for page in pages if page.get_contents().get_data().decode("latin-1").count(" re") >= 8
    ]
    assert diagram, "no page carries the drawn diagram"
    page = diagram[0]
    text = unicodedata.normalize("NFKC", page.extract_text())
    for word in randomized.split():
        if not word.isascii():
            assert word in text, word
    assert "Randomized" not in text
    assert "CONSORT flow diagram" not in text
    # Every text of the page is set in Vazirmatn (the English drawing's is Helvetica).
    content = page.get_contents().get_data().decode("latin-1")
    resources = page["/Resources"]["/Font"]
    used, current = set(), None
    for font, shown in re.findall(r"(/\S+) [\d.]+ Tf|(T[jJ])\b", content):
        if font:
            current = font
        elif shown:
            used.add(str(resources[current].get_object()["/BaseFont"]))
    assert used
    assert all("Vazirmatn" in font for font in used), used

    # Right to left: a box's line ends at the box's right edge, and the stage names stand on
    # the right of the flow (the mirror of the English drawing).
    script = drawing.Script(font=frame.RTL_FONT, bold=frame.RTL_FONT_BOLD, rtl=True)
    frame.register_rtl_font()
    shapes = (
        drawing.consort_drawing(
            title="t",
            top=("a",),
            excluded=("b",),
            enrolled=("c",),
            not_randomized=("d",),
            randomized=("e",),
            stages=(("stage", (("f",),)),),
            max_width=1000,
            max_height=1000,
            script=script,
        )
        .contents[0]
        .contents
    )
    strings = {shape.text: shape for shape in shapes if hasattr(shape, "text")}
    rects = [shape for shape in shapes if type(shape).__name__ == "Rect"]
    assert strings["stage"].textAnchor == "end"
    assert strings["stage"].x > max(rect.x + rect.width for rect in rects)
    top_box = min(rects, key=lambda rect: -rect.y)  # the highest box: "assessed"
    assert strings["a"].x == pytest.approx(top_box.x + top_box.width - drawing.PAD)
