"""The CONSORT flow as a reportlab Drawing: the PDF's twin of `svg.consort_diagram`.

Both take the same boxes (`plots.consort_lines`), so the page and the DSMB report cannot tell
different stories: boxes with the first line in bold, arrows down the main flow, side boxes for
those who leave it, and below randomization one column pooled or one column per arm.

Plain Python and reportlab, no Django import. Sizes are in points; the layout is computed from
the text itself (`stringWidth`) and the whole drawing is then scaled down, never up, to the
space it is given, so long reasons or many criteria never run off the page.

A reader whose language is written right to left (Persian) gets the mirror image: the flow runs
from the right, the stage names stand on the right, each line is right-aligned in its box, in
the script's own font and shaped by the caller's function (`Script`: kernel.pdf gives Vazirmatn
and `visual`, arabic-reshaper and python-bidi).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reportlab.graphics.shapes import Drawing, Group, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth

FONT, BOLD = "Helvetica", "Helvetica-Bold"
SIZE, LEADING, PAD = 8, 10, 5
GAP = 16  # between a box and the next one down
SIDE_GAP = 28  # between the main flow and a side box
COLUMN_GAP = 30
LABEL_WIDTH = 70  # the stage names on the left
INK = colors.HexColor("#333333")
GREY = colors.HexColor("#555555")
BOX_FILL = colors.HexColor("#f4f7f9")

# The standard PDF fonts have no glyph for some list markers the SVG uses.
_PRINTABLE = str.maketrans({"◦": "-", "\u2009": " "})


@dataclass(frozen=True)
class Script:
    """How the words are drawn: the fonts, the shaping of a line, and the reading direction."""

    font: str = FONT
    bold: str = BOLD
    shape: Callable[[str], str] = str
    rtl: bool = False

    def text(self, line: str) -> str:
        return self.shape(line.translate(_PRINTABLE))


LATIN = Script()


def _box_size(lines: tuple[str, ...], script: Script = LATIN) -> tuple[float, float]:
    width = max(
        stringWidth(script.text(line), script.bold if i == 0 else script.font, SIZE)
        for i, line in enumerate(lines)
    )
    return width + 2 * PAD, len(lines) * LEADING + 2 * PAD - (LEADING - SIZE)


class _Canvas:
    """Collects shapes in top-down coordinates (as the SVG is drawn) and flips them at the end
    (and mirrors them, right to left)."""

    def __init__(self, script: Script = LATIN):
        self.script = script
        self.shapes: list = []

    def box(self, x: float, y: float, lines: tuple[str, ...], width: float) -> float:
        _w, height = _box_size(lines, self.script)
        self.shapes.append(("rect", x, y, width, height))
        for i, line in enumerate(lines):
            self.shapes.append(
                (
                    "text",
                    x + PAD,
                    y + PAD + SIZE + i * LEADING,
                    self.script.text(line),
                    self.script.bold if i == 0 else self.script.font,
                )
            )
        return height

    def arrow(self, points: list[tuple[float, float]]) -> None:
        self.shapes.append(("arrow", points))

    def label(self, x: float, y: float, text: str) -> None:
        self.shapes.append(("label", x, y, self.script.text(text)))

    def title(self, text: str) -> None:
        self.shapes.append(("title", 0, SIZE + 3, self.script.text(text)))

    def render(self, width: float, height: float, scale: float) -> Drawing:
        group = Group()
        flip = height  # reportlab's y grows upwards
        rtl = self.script.rtl

        def across(x: float) -> float:
            return width - x if rtl else x

        def words(x: float, y: float, text: str, **style) -> String:
            # Right to left, a line starts at the box's right edge: its end is the mirror of
            # where a left-to-right line would begin.
            return String(across(x), flip - y, text, textAnchor="end" if rtl else "start", **style)

        for shape in self.shapes:
            kind = shape[0]
            if kind == "rect":
                _, x, y, w, h = shape
                group.add(
                    Rect(
                        width - x - w if rtl else x,
                        flip - y - h,
                        w,
                        h,
                        fillColor=BOX_FILL,
                        strokeColor=INK,
                        strokeWidth=0.7,
                    )
                )
            elif kind == "text":
                _, x, y, text, font = shape
                group.add(words(x, y, text, fontName=font, fontSize=SIZE, fillColor=colors.black))
            elif kind == "label":
                _, x, y, text = shape
                group.add(
                    words(x, y, text, fontName=self.script.bold, fontSize=SIZE, fillColor=GREY)
                )
            elif kind == "title":
                _, x, y, text = shape
                group.add(words(x, y, text, fontName=self.script.bold, fontSize=SIZE + 3))
            else:
                points = [(across(px), flip - py) for px, py in shape[1]]
                flat = [c for point in points for c in point]
                group.add(PolyLine(flat, strokeColor=INK, strokeWidth=0.8))
                group.add(_arrow_head(points[-2], points[-1]))
        group.transform = (scale, 0, 0, scale, 0, 0)
        drawing = Drawing(width * scale, height * scale)
        drawing.hAlign = "RIGHT" if rtl else "LEFT"  # against the reader's first margin
        drawing.add(group)
        return drawing


def _arrow_head(start: tuple[float, float], end: tuple[float, float]) -> Polygon:
    (x0, y0), (x1, y1) = start, end
    length = max(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, 1e-6)
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    size = 5
    left = (x1 - size * ux - size * 0.5 * uy, y1 - size * uy + size * 0.5 * ux)
    right = (x1 - size * ux + size * 0.5 * uy, y1 - size * uy - size * 0.5 * ux)
    return Polygon([x1, y1, *left, *right], fillColor=INK, strokeColor=INK, strokeWidth=0.5)


def consort_drawing(
    *,
    title: str,
    top: tuple[str, ...],
    excluded: tuple[str, ...],
    enrolled: tuple[str, ...],
    not_randomized: tuple[str, ...],
    randomized: tuple[str, ...],
    stages: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...],
    max_width: float,
    max_height: float,
    script: Script = LATIN,
) -> Drawing:
    """The CONSORT flow drawn with boxes and arrows, fitted into max_width × max_height."""
    canvas = _Canvas(script)
    canvas.title(title)
    columns = max((len(boxes) for _, boxes in stages), default=1)
    # Every column as wide as its widest box, every main box as wide as the widest main box.
    col_w = max(
        [_box_size(lines, script)[0] for _, boxes in stages for lines in boxes] + [110.0],
    )
    main_w = max(_box_size(lines, script)[0] for lines in (top, enrolled, randomized))
    side_w = max(_box_size(excluded, script)[0], _box_size(not_randomized, script)[0])
    flow_w = columns * col_w + (columns - 1) * COLUMN_GAP
    main_x = LABEL_WIDTH
    centre = main_x + max(flow_w, main_w) / 2
    width = max(main_x + max(flow_w, main_w), centre + main_w / 2 + SIDE_GAP + side_w)
    y = SIZE + 3 + 14.0

    def main_box(lines) -> tuple[float, float]:
        nonlocal y
        top_y = y
        y += canvas.box(centre - main_w / 2, y, lines, main_w)
        return top_y, y

    def down_with_side_box(from_y: float, lines) -> None:
        """An arrow down the main flow, and one off it to a side box (those who leave)."""
        nonlocal y
        side_y = from_y + GAP
        side_h = canvas.box(centre + main_w / 2 + SIDE_GAP, side_y, lines, side_w)
        mid = side_y + side_h / 2
        canvas.arrow([(centre, mid), (centre + main_w / 2 + SIDE_GAP, mid)])
        y = side_y + side_h + GAP
        canvas.arrow([(centre, from_y), (centre, y)])

    _, bottom = main_box(top)
    down_with_side_box(bottom, excluded)
    _, bottom = main_box(enrolled)
    down_with_side_box(bottom, not_randomized)
    _, bottom = main_box(randomized)
    sources = [(centre, bottom)]
    for stage, boxes in stages:
        y += GAP + 10
        canvas.label(0, y + SIZE + PAD, stage)
        xs, heights = [], []
        for i, lines in enumerate(boxes):
            x = main_x + (max(flow_w, main_w) - flow_w) / 2 + i * (col_w + COLUMN_GAP)
            heights.append(canvas.box(x, y, lines, col_w))
            xs.append(x + col_w / 2)
        for i, x in enumerate(xs):
            src_x, src_y = sources[i] if i < len(sources) else sources[0]
            if len(sources) == 1 and len(xs) > 1:  # the split into arms
                canvas.arrow([(src_x, src_y), (src_x, y - 8), (x, y - 8), (x, y)])
            else:
                canvas.arrow([(src_x, src_y), (x, y)])
        sources = [(x, y + h) for x, h in zip(xs, heights, strict=True)]
        y += max(heights)
    height = y + 4
    scale = min(1.0, max_width / width, max_height / height)
    return canvas.render(width, height, scale)
