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

from io import BytesIO
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

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


class NumberedCanvas(Canvas):
    """Defers each page until the end, so that every header can say "page x of y"."""

    header_lines: tuple[str, str] = ("", "")

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
        self.saveState()
        self.setFont("Helvetica", 7)
        self.setFillColor(colors.HexColor("#333333"))
        self.drawString(MARGIN, height - 9 * mm, left)
        self.drawRightString(
            width - MARGIN,
            height - 9 * mm,
            _("Page %(page)s of %(total)s") % {"page": self._pageNumber, "total": total},
        )
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
        canvas_class = type("ReportCanvas", (NumberedCanvas,), {"header_lines": lines})
        doc.build(self.get_story(), canvasmaker=canvas_class)
        return buffer.getvalue()
