"""The one frame of the product's PDFs (reportlab): a header on every page with the trial,
the report's title, "page x of y", when it was generated and by whom.

"Page x of y" needs the total, known only at the end: `NumberedCanvas` keeps each page's state
and draws the header once the document is complete (the reportlab recipe). Reports subclass
`Report` and write `get_story()` (clinicedc edc-pdf-reports' pattern); no other module builds a
reportlab document. The helpers below are the only way to put text in a PDF: `para` escapes
what it is given (a participant's AE term or a user's name is text, never reportlab markup), and
`grid` is the one ruled table.
"""

from __future__ import annotations

import html
import re
from functools import cache
from io import BytesIO
from xml.sax.saxutils import escape

import arabic_reshaper
from bidi import get_display
from bidi.mirror import MIRRORED
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Table, TableStyle

from .trial import TRIAL

STYLES = getSampleStyleSheet()
SMALL = ParagraphStyle("edc-small", parent=STYLES["Normal"], fontSize=8, leading=10)
NORMAL = ParagraphStyle("edc-normal", parent=STYLES["Normal"], fontSize=9, leading=11)
HEADING = ParagraphStyle("edc-h2", parent=STYLES["Heading2"], spaceBefore=8, spaceAfter=4)
SUBHEADING = ParagraphStyle("edc-h3", parent=STYLES["Heading4"], spaceBefore=6, spaceAfter=2)
TITLE = STYLES["Title"]

# The header is drawn at 15 mm from the left and right edges and within 14 mm of the top.
MARGIN = 15 * mm
TOP_MARGIN = 20 * mm


def para(text: object, style=SMALL, *, bold: bool = False) -> Paragraph:
    """A paragraph of plain text (escaped; line breaks kept; empty shows as a dash)."""
    markup = escape(str(text if text not in (None, "") else "—")).replace("\n", "<br/>")
    return Paragraph(f"<b>{markup}</b>" if bold else markup, style)


# The rule of an ordinary table; a form with boxes (CIOMS I) draws them heavier and black.
RULE = (0.4, colors.grey)


def grid(
    rows: list[list],
    widths: list[float],
    *,
    header: bool = True,
    rule: tuple[float, colors.Color] = RULE,
) -> Table:
    """A ruled table of text (str cells go through `para`) or flowables; with `header`, the
    first row is shaded and repeated on each page."""
    table = Table(
        [[c if not isinstance(c, str) else para(c) for c in row] for row in rows],
        colWidths=widths,
        repeatRows=1 if header else 0,
    )
    width, color = rule
    style = [
        ("GRID", (0, 0), (-1, -1), width, color),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef2")))
    table.setStyle(TableStyle(style))
    return table


# -- Persian: right-to-left PDFs (issue 21) ---------------------------------------------------
# reportlab draws glyphs in the order it is given and does not join Arabic-script letters. For a
# reader whose language is written right to left, every text is shaped (arabic-reshaper: the
# joined letter forms) and put in visual order (python-bidi: the Unicode bidirectional
# algorithm), line by line once the width is known, in Vazirmatn (OFL, shipped in
# static/fonts/vazirmatn, the font of the Persian pages).
RTL_FONT = "Vazirmatn"
RTL_FONT_BOLD = "Vazirmatn-Bold"
_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")


@cache
def register_rtl_font() -> None:
    folder = settings.BASE_DIR / "static" / "fonts" / "vazirmatn"
    pdfmetrics.registerFont(TTFont(RTL_FONT, str(folder / "Vazirmatn-Regular.ttf")))
    pdfmetrics.registerFont(TTFont(RTL_FONT_BOLD, str(folder / "Vazirmatn-Bold.ttf")))
    pdfmetrics.registerFontFamily(
        RTL_FONT, normal=RTL_FONT, bold=RTL_FONT_BOLD, italic=RTL_FONT, boldItalic=RTL_FONT_BOLD
    )


# A study ID, date, time or code ("01-0031", "2026-12-07", "10:30"): kept left to right as
# one token, as <bdi dir="ltr"> keeps it on the pages; after an Arabic letter the bidi
# algorithm would otherwise read its numbers as Arabic numbers and reverse them ("0031-01").
_LTR_TOKEN = re.compile(r"[0-9A-Za-z]+(?:[-/:.·][0-9A-Za-z]+)+")
_ISOLATES = re.compile("[\u2066-\u2069]")


def visual(text: str) -> str:
    """One line of text as drawn: shaped and in visual order, right to left where it holds
    Arabic script (a line of Latin letters and digits only stays as it is)."""
    if not _ARABIC_SCRIPT.search(text):
        return text
    isolated = _LTR_TOKEN.sub(lambda m: f"\u2066{m.group(0)}\u2069", text)
    return _ISOLATES.sub("", bidi_line(arabic_reshaper.reshape(isolated)))


# python-bidi's get_display (unicode-bidi, in Rust) resolves the levels, brackets included (N0),
# and reorders, but does not mirror (rule L4): "(n = 1)" after Persian words came out as
# ")n = 1(". So the levels are taken from it and the line is reordered (L1, L2) and mirrored
# (L4) here; tests/test_pdf_persian.py checks the order against get_display's own.
_DEBUG_LEVEL = re.compile(r"Level\(\s*(\d+),?\s*\)")
_LINE_END_WHITESPACE = re.compile(r"[\s\u2066-\u2069]*$")


def bidi_levels(text: str) -> list[int]:
    """The resolved embedding level of each character of one right-to-left paragraph."""
    info = get_display(text, base_dir="R", debug=True)
    block = info.split("levels: [", 1)[1].split("paragraphs:", 1)[0]
    per_byte = [int(level) for level in _DEBUG_LEVEL.findall(block)]
    levels, offset = [], 0
    for char in text:  # unicode-bidi gives one level per byte of the UTF-8 text
        levels.append(per_byte[offset])
        offset += len(char.encode("utf-8"))
    if offset != len(per_byte):
        raise ValueError("python-bidi's levels do not match the text")
    return levels


def bidi_line(text: str) -> str:
    """One right-to-left line in visual order (UAX #9 L1, L2) with mirrored glyphs (L4)."""
    levels = bidi_levels(text)
    trailing = _LINE_END_WHITESPACE.search(text).start()  # L1: back to the paragraph level
    levels[trailing:] = [1] * (len(text) - trailing)
    order = list(range(len(text)))
    for level in range(max(levels, default=1), 0, -1):  # L2: reverse each run at >= level
        start = None
        for i in range(len(order) + 1):
            inside = i < len(order) and levels[order[i]] >= level
            if inside and start is None:
                start = i
            elif not inside and start is not None:
                order[start:i] = order[start:i][::-1]
                start = None
    return "".join(MIRRORED.get(text[i], text[i]) if levels[i] % 2 else text[i] for i in order)


def _lines_of(words: list[str], width: float | None, font: str, size: float) -> list[str]:
    """Greedy wrapping of logical words into lines no wider than `width` (measured shaped)."""
    if width is None:
        return [" ".join(words)]
    lines: list[str] = []
    current: list[str] = []
    for word in words:
        trial = " ".join([*current, word])
        if current and pdfmetrics.stringWidth(visual(trial), font, size) > width:
            lines.append(" ".join(current))
            current = [word]
        else:
            current.append(word)
    lines.append(" ".join(current))
    return lines


@cache
def _rtl_style(style: ParagraphStyle, bold: bool) -> ParagraphStyle:
    heavy = bold or "Bold" in style.fontName
    return ParagraphStyle(
        f"{style.name}-rtl{'-bold' if heavy else ''}",
        parent=style,
        fontName=RTL_FONT_BOLD if heavy else RTL_FONT,
        alignment=TA_CENTER if style.alignment == TA_CENTER else TA_RIGHT,
    )


class RtlParagraph(Paragraph):
    """A paragraph of a right-to-left report: its logical lines are wrapped to the width it is
    given, then each line is shaped and reordered for drawing (`visual`)."""

    def __init__(self, markup: str, style: ParagraphStyle):
        bold = "<b>" in markup
        plain = re.sub(r"<br\s*/?>", "\n", markup)
        plain = html.unescape(re.sub(r"<[^>]+>", "", plain))
        self.logical_lines = plain.split("\n")
        self.rtl_style = _rtl_style(style, bold)
        super().__init__(self._markup(None), self.rtl_style)

    def _markup(self, width: float | None) -> str:
        font, size = self.rtl_style.fontName, self.rtl_style.fontSize
        lines = [
            escape(visual(line))
            for logical in self.logical_lines
            for line in _lines_of(logical.split(" "), width, font, size)
        ]
        return "<br/>".join(lines)

    def wrap(self, availWidth, availHeight):  # noqa: N803 - reportlab's names
        width = availWidth - self.rtl_style.leftIndent - self.rtl_style.rightIndent
        Paragraph.__init__(self, self._markup(width), self.rtl_style)
        return super().wrap(availWidth, availHeight)


def right_to_left(flowable):
    """The flowable for a right-to-left report: paragraphs (in tables and groups too) become
    RtlParagraphs; the rest (drawings, spacers) is kept as it is."""
    if isinstance(flowable, RtlParagraph):
        return flowable
    if isinstance(flowable, Paragraph):
        return RtlParagraph(flowable.text, flowable.style)
    if isinstance(flowable, str):
        return RtlParagraph(escape(flowable), SMALL)
    if isinstance(flowable, list | tuple):
        return [right_to_left(f) for f in flowable]
    if isinstance(flowable, Table):
        flowable._cellvalues = [[right_to_left(c) for c in row] for row in flowable._cellvalues]
    elif isinstance(flowable, KeepTogether):
        flowable._content = [right_to_left(f) for f in flowable._content]
    return flowable


class NumberedCanvas(Canvas):
    """Defers each page until the end, so that every header can say "page x of y"."""

    header_lines: tuple[str, str] = ("", "")
    rtl: bool = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []

    def showPage(self):  # noqa: N802 - reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._draw_header(total)
            super().showPage()
        super().save()

    def _draw_header(self, total: int) -> None:
        width, height = self._pagesize
        left, right = self.header_lines
        page = _("Page %(page)s of %(total)s") % {"page": self._pageNumber, "total": total}
        self.saveState()
        self.setFont(RTL_FONT if self.rtl else "Helvetica", 7)
        self.setFillColor(colors.HexColor("#333333"))
        if self.rtl:  # the title on the right, the page number on the left
            self.drawRightString(width - MARGIN, height - 9 * mm, visual(left))
            self.drawString(MARGIN, height - 9 * mm, visual(page))
            self.drawRightString(width - MARGIN, height - 12.5 * mm, visual(right))
        else:
            self.drawString(MARGIN, height - 9 * mm, left)
            self.drawRightString(width - MARGIN, height - 9 * mm, page)
            self.drawString(MARGIN, height - 12.5 * mm, right)
        self.setStrokeColor(colors.HexColor("#999999"))
        self.line(MARGIN, height - 14 * mm, width - MARGIN, height - 14 * mm)
        self.restoreState()


class Report:
    """A PDF document: a title, a story of flowables, the header on every page.

    `user` is who asked for it, named in the header; None for a document built with nobody
    signed in (a task), whose header then gives the time only.
    """

    title = ""
    pagesize = A4

    def __init__(self, *, user=None):
        self.user = user
        self.generated_at = timezone.now()

    @property
    def width(self) -> float:
        """The width of the text frame, for a table's column widths."""
        return self.pagesize[0] - 2 * MARGIN

    def get_story(self) -> list:
        raise NotImplementedError

    def header_lines(self) -> tuple[str, str]:
        when = f"{self.generated_at:%Y-%m-%d %H:%M}"
        if self.user is None:
            generated = _("Generated %(when)s UTC") % {"when": when}
        else:
            generated = _("Generated %(when)s UTC by %(who)s (%(username)s)") % {
                "when": when,
                "who": self.user.get_full_name() or self.user.get_username(),
                "username": self.user.get_username(),
            }
        return (f"{TRIAL.acronym} · {TRIAL.registry_id} · {self.title}", generated)

    def render(self) -> bytes:
        buffer = BytesIO()
        doc = SimpleDocTemplate(
            buffer,
            pagesize=self.pagesize,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=TOP_MARGIN,
            bottomMargin=MARGIN,
            title=str(self.title),
            author="Trial EDC",
        )
        lines = self.header_lines()
        # A reader whose language is written right to left (Persian) gets the report in it;
        # a report kept in English (CIOMS I) is rendered under translation.override("en").
        rtl = translation.get_language_bidi()
        story = self.get_story()
        if rtl:
            register_rtl_font()
            story = right_to_left(story)
        canvas_class = type("ReportCanvas", (NumberedCanvas,), {"header_lines": lines, "rtl": rtl})
        doc.build(story, canvasmaker=canvas_class)
        return buffer.getvalue()
