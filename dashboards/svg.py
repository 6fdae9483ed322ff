"""Plots and the CONSORT diagram as SVG text, drawn here (no JavaScript, no CDN, no matplotlib).

Plain Python, no Django import: each function takes plain, hashable values (tuples) and returns
an SVG string, memoised on its arguments (`lru_cache`): the same data give the same picture
without drawing it again, and new data give a new one, so a cached plot is never stale.

Accessibility: every SVG has role="img", a <title> and a <desc>; axes carry labels with units;
colours are the Okabe-Ito palette (readable with colour-vision deficiency) and every series is
also told apart by its marker or dash, never by colour alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import lru_cache
from hashlib import sha256
from html import escape

from kernel import calendars

BLUE = "#0072B2"
ORANGE = "#E69F00"
VERMILLION = "#D55E00"
GREEN = "#009E73"
GREY = "#555555"
PALETTE = (BLUE, VERMILLION, GREEN, ORANGE)
DASHES = ("", "6 3", "2 3", "8 3 2 3")

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 200, 34, 50


def _uid(kind: str, *args: object) -> str:
    """An element id from the data: the same plot always has the same ids."""
    return kind + sha256(repr(args).encode()).hexdigest()[:10]


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000):
        if value <= step * 5:
            return step * 5 if value > step * 4 else (int(value / step) + 1) * step
    return value * 1.1


def _ticks(maximum: float, n: int = 5) -> list[float]:
    return [maximum * i / n for i in range(n + 1)]


def _fmt(value: float) -> str:
    return f"{value:g}" if abs(value) < 1000 else f"{value:,.0f}"


def _frame(*, uid: str, title: str, desc: str, x_label: str, y_label: str, body: list[str]) -> str:
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'role="img" aria-labelledby="{uid}-t {uid}-d" class="edc-plot" '
            f'font-family="system-ui, sans-serif" font-size="12">',
            f'<title id="{uid}-t">{_e(title)}</title>',
            f'<desc id="{uid}-d">{_e(desc)}</desc>',
            f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
            f'<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{_e(title)}</text>',
            *body,
            f'<text x="{LEFT + (WIDTH - LEFT - RIGHT) / 2}" y="{HEIGHT - 8}" '
            f'text-anchor="middle">{_e(x_label)}</text>',
            f'<text transform="translate(16 {TOP + (HEIGHT - TOP - BOTTOM) / 2}) rotate(-90)" '
            f'text-anchor="middle">{_e(y_label)}</text>',
            "</svg>",
        ]
    )


def _y_axis(y_max: float, y_of: Callable[[float], float]) -> list[str]:
    parts = []
    for tick in _ticks(y_max):
        y = y_of(tick)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#dddddd"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(tick)}</text>'
        )
    parts.append(
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" stroke="{GREY}"/>'
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM}" '
        f'stroke="{GREY}"/>'
    )
    return parts


def _legend(entries: list[tuple[str, str, str]]) -> list[str]:
    """entries: (label, colour, dash)."""
    parts = []
    for i, (label, colour, dash) in enumerate(entries):
        y = TOP + 10 + i * 18
        x = WIDTH - RIGHT + 12
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{x}" x2="{x + 22}" y1="{y}" y2="{y}" stroke="{colour}" '
            f'stroke-width="2.5"{dash_attr}/>'
            f'<text x="{x + 28}" y="{y + 4}">{_e(label)}</text>'
        )
    return parts


@lru_cache(maxsize=256)
def cumulative_plot(
    *,
    title: str,
    x_label: str,
    y_label: str,
    series: tuple[tuple[str, tuple[tuple[date, int], ...]], ...],
    targets: tuple[tuple[str, int], ...],
    empty_text: str,
    day_format: tuple[str, bool] = ("gregorian", False),
) -> str:
    """Cumulative counts over calendar time as step lines, with horizontal target lines.

    `series`: (label, ((day, new on that day), ...)); the lines add the counts up.
    `day_format`: (calendar, Persian digits) of the axis dates.
    """

    def shown(day: date) -> str:
        return calendars.format_date(day, calendar=day_format[0], persian=day_format[1])

    uid = _uid("cum", title, series, targets)
    days = sorted({d for _, points in series for d, _ in points})
    if not days:
        return _frame(
            uid=uid,
            title=title,
            desc=empty_text,
            x_label=x_label,
            y_label=y_label,
            body=[
                f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">{_e(empty_text)}'
                "</text>"
            ],
        )
    first, last = days[0].toordinal(), days[-1].toordinal()
    span = max(last - first, 1)
    totals = [sum(n for _, n in points) for _, points in series]
    y_max = _nice_max(max([*totals, *(t for _, t in targets), 1]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(day: date) -> float:
        return LEFT + (day.toordinal() - first) / span * plot_w

    def y_of(value: float) -> float:
        return HEIGHT - BOTTOM - value / y_max * plot_h

    body = _y_axis(y_max, y_of)
    for day in (days[0], days[len(days) // 2], days[-1]) if len(days) > 2 else days:
        body.append(
            f'<text x="{x_of(day):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
            f"{shown(day)}</text>"
        )
    legend = []
    for i, (label, value) in enumerate(targets):
        y = y_of(value)
        body.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GREY}" '
            f'stroke-dasharray="{DASHES[(i + 1) % len(DASHES)]}"/>'
        )
        legend.append((f"{label} ({value})", GREY, DASHES[(i + 1) % len(DASHES)]))
    descriptions = []
    for i, (label, points) in enumerate(series):
        colour, dash = PALETTE[i % len(PALETTE)], DASHES[i % len(DASHES)]
        running, coords = 0, [f"{LEFT:.1f},{y_of(0):.1f}"]
        for day, n in sorted(points):
            coords.append(f"{x_of(day):.1f},{y_of(running):.1f}")
            running += n
            coords.append(f"{x_of(day):.1f},{y_of(running):.1f}")
        coords.append(f"{WIDTH - RIGHT:.1f},{y_of(running):.1f}")
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2.5"{dash_attr} '
            f'points="{" ".join(coords)}"/>'
        )
        legend.append((f"{label} ({running})", colour, dash))
        descriptions.append(f"{label}: {running}")
    body += _legend(legend)
    desc = (
        "; ".join([*descriptions, *(f"{label}: {value}" for label, value in targets)])
        + f" ({shown(days[0])} – {shown(days[-1])})"
    )
    return _frame(uid=uid, title=title, desc=desc, x_label=x_label, y_label=y_label, body=body)


@lru_cache(maxsize=256)
def trend_plot(
    *,
    title: str,
    x_label: str,
    y_label: str,
    points: tuple[tuple[int, float, float, float, int], ...],
    empty_text: str,
    legend_median: str,
    legend_iqr: str,
) -> str:
    """Median (line with dots) and interquartile range (band) by study day.

    `points`: ((study day, first quartile, median, third quartile, n), ...).
    """
    uid = _uid("trend", title, points)
    points = tuple(p for p in points if p[4] > 0)
    if not points:
        return _frame(
            uid=uid,
            title=title,
            desc=empty_text,
            x_label=x_label,
            y_label=y_label,
            body=[
                f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">{_e(empty_text)}'
                "</text>"
            ],
        )
    x_max = max(max(p[0] for p in points), 1)
    y_max = _nice_max(max(p[3] for p in points))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(day: float) -> float:
        return LEFT + day / x_max * plot_w

    def y_of(value: float) -> float:
        return HEIGHT - BOTTOM - value / y_max * plot_h

    body = _y_axis(y_max, y_of)
    for day, *_ in points:
        body.append(
            f'<text x="{x_of(day):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
            f"{day}</text>"
        )
    upper = [f"{x_of(d):.1f},{y_of(q3):.1f}" for d, _q1, _m, q3, _n in points]
    lower = [f"{x_of(d):.1f},{y_of(q1):.1f}" for d, q1, _m, _q3, _n in reversed(points)]
    body.append(
        f'<polygon fill="{BLUE}" fill-opacity="0.18" stroke="none" '
        f'points="{" ".join(upper + lower)}"/>'
    )
    line = " ".join(f"{x_of(d):.1f},{y_of(m):.1f}" for d, _q1, m, _q3, _n in points)
    body.append(f'<polyline fill="none" stroke="{BLUE}" stroke-width="2.5" points="{line}"/>')
    for d, q1, m, q3, n in points:
        body.append(
            f'<circle cx="{x_of(d):.1f}" cy="{y_of(m):.1f}" r="3.5" fill="{BLUE}">'
            f"<title>{_e(f'{x_label} {d}: {m:g} [{q1:g}–{q3:g}], n={n}')}</title></circle>"
        )
    body += _legend([(legend_median, BLUE, ""), (legend_iqr, "#9cc3e0", "")])
    desc = "; ".join(f"{d}: {m:g} [{q1:g}–{q3:g}] n={n}" for d, q1, m, q3, n in points)
    return _frame(uid=uid, title=title, desc=desc, x_label=x_label, y_label=y_label, body=body)


# --- CONSORT ------------------------------------------------------------------------------

BOX_W, LINE_H, PAD = 250, 15, 8


def _box(
    x: float, y: float, w: float, lines: tuple[str, ...], *, bold_first: bool = True
) -> tuple[list[str], int]:
    h = PAD * 2 + LINE_H * len(lines)
    parts = [
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h}" rx="4" fill="#ffffff" '
        f'stroke="#333333"/>'
    ]
    for i, text in enumerate(lines):
        weight = ' font-weight="bold"' if bold_first and i == 0 else ""
        parts.append(
            f'<text x="{x + PAD:.1f}" y="{y + PAD + LINE_H * (i + 1) - 3:.1f}"{weight}>'
            f"{_e(text)}</text>"
        )
    return parts, h


def _arrow(x1: float, y1: float, x2: float, y2: float, marker: str) -> str:
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#333333" '
        f'marker-end="url(#{marker})"/>'
    )


@lru_cache(maxsize=128)
def consort_diagram(
    *,
    title: str,
    top: tuple[str, ...],
    excluded: tuple[str, ...],
    enrolled: tuple[str, ...],
    not_randomized: tuple[str, ...],
    randomized: tuple[str, ...],
    stages: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...],
) -> str:
    """The CONSORT flow: boxes of text lines (the first line of each box in bold).

    `stages` are the rows below randomization: (stage name, (box lines per column, ...)); one
    column pooled, one per arm when by arm.
    """
    uid = _uid("consort", title, top, excluded, enrolled, not_randomized, randomized, stages)
    marker = f"{uid}-arrow"
    columns = max(len(boxes) for _, boxes in stages) if stages else 1
    col_w = BOX_W if columns == 1 else 230
    gap = 40
    label_w = 110
    main_x = label_w + 10
    width = max(main_x + columns * col_w + (columns - 1) * gap, main_x + BOX_W + 30 + 300) + 20
    centre = main_x + (columns * col_w + (columns - 1) * gap) / 2
    body: list[str] = []
    y = 40.0

    def centred_box(lines: tuple[str, ...], w: float = BOX_W) -> tuple[float, int]:
        nonlocal y
        parts, h = _box(centre - w / 2, y, w, lines)
        body.extend(parts)
        top_y = y
        y += h
        return top_y, h

    def side_box(lines: tuple[str, ...], at_y: float) -> int:
        parts, h = _box(centre + BOX_W / 2 + 30, at_y, 300, lines)
        body.extend(parts)
        body.append(_arrow(centre, at_y + h / 2, centre + BOX_W / 2 + 30, at_y + h / 2, marker))
        return h

    _top_y, _h = centred_box(top)
    side_y = y + 12
    side_h = side_box(excluded, side_y)
    y = side_y + side_h + 12
    body.append(_arrow(centre, _top_y + _h, centre, y, marker))
    enrolled_y, enrolled_h = centred_box(enrolled)
    side_y = y + 12
    side_h = side_box(not_randomized, side_y)
    y = side_y + side_h + 12
    body.append(_arrow(centre, enrolled_y + enrolled_h, centre, y, marker))
    rand_y, rand_h = centred_box(randomized)
    previous_bottoms = [(centre, rand_y + rand_h)]
    for stage, boxes in stages:
        y += 26
        body.append(
            f'<text x="8" y="{y + 14:.1f}" font-weight="bold" fill="{GREY}">{_e(stage)}</text>'
        )
        heights, xs = [], []
        for i, lines in enumerate(boxes):
            left = main_x + i * (col_w + gap)
            parts, h = _box(left, y, col_w, lines)
            body.extend(parts)
            heights.append(h)
            xs.append(left + col_w / 2)
        for i, x in enumerate(xs):
            src_x, src_y = previous_bottoms[i] if len(previous_bottoms) > i else previous_bottoms[0]
            if len(previous_bottoms) == 1 and len(xs) > 1:
                body.append(
                    f'<polyline fill="none" stroke="#333333" marker-end="url(#{marker})" '
                    f'points="{src_x:.1f},{src_y:.1f} {src_x:.1f},{y - 13:.1f} {x:.1f},'
                    f'{y - 13:.1f} {x:.1f},{y:.1f}"/>'
                )
            else:
                body.append(_arrow(src_x, src_y, x, y, marker))
        previous_bottoms = [(x, y + h) for x, h in zip(xs, heights, strict=True)]
        y += max(heights)
    height = y + 20
    desc = " / ".join(
        " · ".join(lines) for lines in (top, excluded, enrolled, not_randomized, randomized)
    ) + "".join(
        f" / {stage}: " + " | ".join(" · ".join(lines) for lines in boxes)
        for stage, boxes in stages
    )
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'role="img" aria-labelledby="{uid}-t {uid}-d" class="edc-consort" '
            'xml:space="preserve" '
            f'font-family="system-ui, sans-serif" font-size="12">',
            f'<title id="{uid}-t">{_e(title)}</title>',
            f'<desc id="{uid}-d">{_e(desc)}</desc>',
            f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#333333"/>'
            "</marker></defs>",
            f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
            f'<text x="8" y="22" font-size="14" font-weight="bold">{_e(title)}</text>',
            *body,
            "</svg>",
        ]
    )
