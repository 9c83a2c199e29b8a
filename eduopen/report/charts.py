"""Inline SVG charts for the static report: no JavaScript, no CDN, no new dependency.

The report must open offline and without running any script, so every chart is drawn here as a
self-contained `<svg>` string. Every piece of text from the data is escaped; every element that
encodes a data value carries `class="mark"` (tests count them) and a `<title>` child, which
browsers show as a tooltip without any script.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

FONT_PX = 12
# Colour-blind-safe pairs (Okabe–Ito); the first two carry inbound/outbound everywhere.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
AXIS = "#94a3b8"
GRID = "#e2e8f0"
INK = "#1e293b"
MUTED = "#64748b"


@dataclass(frozen=True)
class Series:
    """One named series of values (None = missing: drawn as a gap, never as zero)."""

    name: str
    values: Sequence[float | None]
    color: str
    style: str = "line"  # 'line' (line + points) or 'points' (markers only, e.g. sparse figures)
    # Per value, what it is when it is not as the source published it ('estimate', 'derived'):
    # such a point is drawn hollow and its tooltip says so, so a reader never takes it for a count.
    marks: Sequence[str | None] | None = None


# -- numbers ------------------------------------------------------------------------------------
def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] with at most about `count` intervals."""
    if not math.isfinite(low) or not math.isfinite(high):
        raise ValueError("ticks need finite bounds")
    if high <= low:
        high = low + (abs(low) or 1.0)
    span = high - low
    magnitude = 10 ** math.floor(math.log10(span / count))
    step = magnitude * 10
    for multiple in (1, 2, 2.5, 5, 10):
        if span / (multiple * magnitude) <= count:
            step = multiple * magnitude
            break
    start = math.floor(low / step) * step
    stop = math.ceil(high / step) * step
    ticks = []
    value = start
    while value <= stop + step / 1e6:
        ticks.append(round(value, 10))
        value += step
    return ticks


def compact(value: float) -> str:
    """12_345 -> '12.3k', 2_500_000 -> '2.5M', 0.25 -> '0.25' (axis labels and bar ends)."""
    magnitude = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            text = f"{value / limit:.1f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    if float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def full(value: float) -> str:
    """Thousands separators for tooltips: 492185 -> '492,185'."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def text_width(text: str, font_px: float = FONT_PX) -> float:
    """Rough rendered width: CJK characters are about twice as wide as Latin ones."""
    units = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return units * font_px * 0.56


def fit(text: str, max_width: float, font_px: float = FONT_PX) -> str:
    """`text`, shortened with an ellipsis so that it fits in `max_width` pixels."""
    if text_width(text, font_px) <= max_width:
        return text
    while text and text_width(text + "…", font_px) > max_width:
        text = text[:-1]
    return text.rstrip() + "…"


def _f(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg_open(width: float, height: float, label: str, kind: str) -> str:
    return (
        f'<svg class="chart chart-{kind}" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {_f(width)} {_f(height)}" xmlns="http://www.w3.org/2000/svg" '
        f'font-size="{FONT_PX}" style="max-width:{_f(width)}px"><title>{escape(label)}</title>'
    )


LEGEND_LINE = 18


def _legend(series: Sequence[Series], x: float, y: float, max_x: float) -> tuple[list[str], float]:
    """Legend entries left to right, wrapping before `max_x`; returns (svg parts, y of the last line)."""
    parts = ['<g class="legend">']
    start = x
    for item in series:
        item_w = 20 + text_width(item.name) + 22
        if x > start and x + item_w - 22 > max_x:
            x, y = start, y + LEGEND_LINE
        if item.style == "points":
            swatch = f'<circle cx="{_f(x + 7)}" cy="{_f(y - 4)}" r="4" fill="{item.color}"/>'
        else:
            swatch = f'<rect x="{_f(x)}" y="{_f(y - 6)}" width="14" height="4" rx="1" fill="{item.color}"/>'
        parts.append(swatch)
        parts.append(f'<text x="{_f(x + 20)}" y="{_f(y)}" fill="{INK}">{escape(item.name)}</text>')
        x += item_w
    parts.append("</g>")
    return parts, y


# -- line chart ---------------------------------------------------------------------------------
def _series_marks(
    item: Series, x_values: Sequence[int], sx: Callable[[float], float], sy: Callable[[float], float]
) -> list[str]:
    """One series of a line chart: its line (broken where a value is missing) and a dot per value, a
    ringed one where the value carries a mark."""
    parts: list[str] = []
    points = [(x, v) for x, v in zip(x_values, item.values, strict=True)]
    if item.style == "line":
        commands, pen_down = [], False
        for x, v in points:
            if v is None:
                pen_down = False
                continue
            commands.append(f"{'L' if pen_down else 'M'}{_f(sx(x))},{_f(sy(v))}")
            pen_down = True
        if commands:
            parts.append(
                f'<path class="mark" d="{" ".join(commands)}" fill="none" '
                f'stroke="{item.color}" stroke-width="2.5" stroke-linejoin="round">'
                f"<title>{escape(item.name)}</title></path>"
            )
    radius = 3 if item.style == "line" else 5
    marks = item.marks or [None] * len(points)
    for (x, v), mark in zip(points, marks, strict=True):
        if v is None:
            continue
        if mark:
            parts.append(
                f'<circle class="mark {escape(mark)}" cx="{_f(sx(x))}" cy="{_f(sy(v))}" '
                f'r="{radius + 1.5}" fill="#fff" stroke="{item.color}" stroke-width="2">'
                f"<title>{escape(item.name)} · {x}: {full(v)} ({escape(mark)})</title></circle>"
            )
            continue
        parts.append(
            f'<circle class="mark" cx="{_f(sx(x))}" cy="{_f(sy(v))}" r="{radius}" '
            f'fill="{item.color}" stroke="#fff" stroke-width="1">'
            f"<title>{escape(item.name)} · {x}: {full(v)}</title></circle>"
        )
    return parts


def line_chart(
    x_values: Sequence[int],
    series: Sequence[Series],
    *,
    label: str,
    y_title: str = "",
    width: float = 1040,
    height: float = 360,
) -> str:
    """Years on x, one line per series; a missing value breaks the line instead of dropping to 0."""
    if not x_values or any(len(s.values) != len(x_values) for s in series):
        raise ValueError("every series needs one value per x value")
    present = [v for s in series for v in s.values if v is not None]
    if not present:
        raise ValueError("line_chart needs at least one value")
    left, right, bottom = 64, 20, 40
    legend, legend_y = _legend(series, left, 18, width - right)
    title_y = legend_y + 20
    top = title_y + (16 if y_title else 0)
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = nice_ticks(min(0.0, min(present)), max(present))
    y_low, y_high = ticks[0], ticks[-1]
    x_low, x_high = min(x_values), max(x_values)

    def sx(x: float) -> float:
        if x_high == x_low:
            return left + plot_w / 2
        return left + (x - x_low) / (x_high - x_low) * plot_w

    def sy(y: float) -> float:
        return top + plot_h - (y - y_low) / (y_high - y_low) * plot_h

    parts = [_svg_open(width, height, label, "line")]
    parts += legend
    if y_title:
        parts.append(
            f'<text x="{left - 8}" y="{_f(title_y)}" text-anchor="end" fill="{MUTED}" '
            f'font-size="11">{escape(y_title)}</text>'
        )
    for tick in ticks:
        y = sy(tick)
        parts.append(
            f'<line x1="{left}" x2="{_f(width - right)}" y1="{_f(y)}" y2="{_f(y)}" stroke="{GRID if tick else AXIS}"/>'
        )
        parts.append(f'<text x="{left - 8}" y="{_f(y + 4)}" text-anchor="end" fill="{MUTED}">{compact(tick)}</text>')
    # At most ~12 year labels, counted back from the latest year so that one is always labelled.
    every = max(1, math.ceil(len(x_values) / 12))
    for i, x in enumerate(x_values):
        if (len(x_values) - 1 - i) % every:
            continue
        parts.append(
            f'<line x1="{_f(sx(x))}" x2="{_f(sx(x))}" y1="{_f(top + plot_h)}" '
            f'y2="{_f(top + plot_h + 4)}" stroke="{AXIS}"/>'
        )
        parts.append(
            f'<text x="{_f(sx(x))}" y="{_f(top + plot_h + 18)}" text-anchor="middle" fill="{MUTED}">{x}</text>'
        )
    for item in series:
        parts += _series_marks(item, x_values, sx, sy)
    parts.append("</svg>")
    return "".join(parts)


# -- horizontal bars ----------------------------------------------------------------------------
def hbar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    label: str,
    notes: Sequence[str] | None = None,
    width: float = 1040,
) -> str:
    """One row per label, one bar per series in that row (grouped). Missing values read 'n/a'."""
    if not labels or any(len(s.values) != len(labels) for s in series):
        raise ValueError("every series needs one value per label")
    present = [v for s in series for v in s.values if v is not None]
    if not present:
        raise ValueError("hbar_chart needs at least one value")
    bar_h, gap_in, gap_out = 13, 2, 12
    row_h = len(series) * (bar_h + gap_in) - gap_in + gap_out
    label_w = min(300, max(text_width(text) for text in labels) + 16)
    note_w = max((text_width(n) for n in notes or [] if n), default=0) + (12 if notes else 0)
    left, right = label_w, 56 + note_w
    legend, legend_y = _legend(series, left, 16, width - right) if len(series) > 1 else ([], 0.0)
    top = legend_y + 18
    plot_w = width - left - right
    height = top + row_h * len(labels) + 26
    ticks = nice_ticks(0.0, max(present), 4)
    x_high = ticks[-1]

    def sx(value: float) -> float:
        return left + value / x_high * plot_w

    parts = [_svg_open(width, height, label, "hbar")]
    parts += legend
    bottom = top + row_h * len(labels) - gap_out / 2
    for tick in ticks:
        parts.append(
            f'<line x1="{_f(sx(tick))}" x2="{_f(sx(tick))}" y1="{_f(top - 6)}" y2="{_f(bottom)}" '
            f'stroke="{AXIS if tick == 0 else GRID}"/>'
        )
        parts.append(
            f'<text x="{_f(sx(tick))}" y="{_f(bottom + 16)}" text-anchor="middle" fill="{MUTED}">{compact(tick)}</text>'
        )
    for row, text in enumerate(labels):
        y0 = top + row * row_h
        mid = y0 + (row_h - gap_out) / 2
        parts.append(
            f'<text x="{_f(left - 10)}" y="{_f(mid + 4)}" text-anchor="end" fill="{INK}">'
            f"<title>{escape(text)}</title>{escape(fit(text, label_w - 14))}</text>"
        )
        for k, item in enumerate(series):
            y = y0 + k * (bar_h + gap_in)
            value = item.values[row]
            if value is None:
                parts.append(
                    f'<text x="{_f(left + 4)}" y="{_f(y + bar_h - 3)}" fill="{MUTED}" font-size="10">n/a</text>'
                )
                continue
            bar_w = max(sx(value) - left, 0.5)
            parts.append(
                f'<rect class="mark" x="{_f(left)}" y="{_f(y)}" width="{_f(bar_w)}" '
                f'height="{bar_h}" rx="2" fill="{item.color}">'
                f"<title>{escape(text)} · {escape(item.name)}: {full(value)}</title></rect>"
            )
            parts.append(
                f'<text x="{_f(left + bar_w + 4)}" y="{_f(y + bar_h - 3)}" fill="{MUTED}" '
                f'font-size="10">{compact(value)}</text>'
            )
        if notes and notes[row]:
            parts.append(
                f'<text x="{_f(width - note_w + 6)}" y="{_f(mid + 4)}" fill="{MUTED}" '
                f'font-size="11">{escape(notes[row])}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


# -- heatmap ------------------------------------------------------------------------------------
def _mix(low: str, high: str, t: float) -> str:
    a = [int(low[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(high[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))


def heatmap(
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    counts: Sequence[Sequence[int]],
    *,
    label: str,
    unit: str = "",
    width: float = 1040,
) -> str:
    """A grid of counts (rows × columns), darker for more; zero cells stay blank and are not marks."""
    if not row_labels or not col_labels:
        raise ValueError("heatmap needs rows and columns")
    if len(counts) != len(row_labels) or any(len(r) != len(col_labels) for r in counts):
        raise ValueError("counts must be rows × columns")
    peak = max((c for r in counts for c in r), default=0)
    if peak <= 0:
        raise ValueError("heatmap needs at least one non-zero count")
    label_w = min(440, max(text_width(text) for text in row_labels) + 16)
    cell_h, top = 26, 30
    cell_w = max(28.0, min(96.0, (width - label_w - 8) / len(col_labels)))
    width = label_w + cell_w * len(col_labels) + 8
    height = top + cell_h * len(row_labels) + 6
    low, high = "#eef4fb", "#0b4f8a"
    parts = [_svg_open(width, height, label, "heatmap")]
    every = max(1, math.ceil(len(col_labels) * 36 / (cell_w * len(col_labels))))
    for j, text in enumerate(col_labels):
        if j % every == 0 or j == len(col_labels) - 1:
            parts.append(
                f'<text x="{_f(label_w + cell_w * (j + 0.5))}" y="{top - 10}" '
                f'text-anchor="middle" fill="{MUTED}">{escape(text)}</text>'
            )
    for i, text in enumerate(row_labels):
        y = top + i * cell_h
        parts.append(
            f'<text x="{_f(label_w - 10)}" y="{_f(y + cell_h / 2 + 4)}" text-anchor="end" '
            f'fill="{INK}"><title>{escape(text)}</title>{escape(fit(text, label_w - 14))}</text>'
        )
        for j, count in enumerate(counts[i]):
            x = label_w + j * cell_w
            if count <= 0:
                parts.append(
                    f'<rect class="cell-empty" x="{_f(x + 1)}" y="{_f(y + 1)}" '
                    f'width="{_f(cell_w - 2)}" height="{cell_h - 2}" rx="3" fill="#f8fafc"/>'
                )
                continue
            # sqrt scale: one release must stay visible next to a busy theme
            t = 0.25 + 0.75 * math.sqrt(count / peak)
            fill = _mix(low, high, t)
            ink = "#ffffff" if t > 0.55 else INK
            tip = f"{row_labels[i]} · {col_labels[j]}: {count} {unit}".rstrip()
            parts.append(
                f'<rect class="mark" x="{_f(x + 1)}" y="{_f(y + 1)}" width="{_f(cell_w - 2)}" '
                f'height="{cell_h - 2}" rx="3" fill="{fill}"><title>{escape(tip)}</title></rect>'
            )
            parts.append(
                f'<text x="{_f(x + cell_w / 2)}" y="{_f(y + cell_h / 2 + 4)}" '
                f'text-anchor="middle" fill="{ink}" font-weight="600">{count}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
