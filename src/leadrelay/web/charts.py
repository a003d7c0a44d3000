"""Charts as inline SVG drawn on the server: no chart library, nothing for the browser to fetch.

Colours come from the stylesheet through class names (``series-0``, ``series-1``), so the
Content-Security-Policy needs no inline styles. Every text is escaped; every bar carries its
value as a tooltip (``<title>``) and the figure an ``aria-label``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

Format = Callable[[float], str]

_ROW = 22  # height of one label row
_BAR_GAP = 2


def _number(value: float) -> str:
    return f"{value:g}"


def _scale(values: Sequence[float | None]) -> float:
    top = max((v for v in values if v is not None), default=0.0)
    return top if top > 0 else 1.0


def _legend(series: Sequence[str], x: int, y: int) -> str:
    parts = []
    for i, name in enumerate(series):
        left = x + i * 120
        kind = "target-key" if name == "target" else f"series-{i}"
        parts.append(
            f'<rect class="{kind}" x="{left}" y="{y - 9}" width="10" height="10"/>'
            f'<text x="{left + 14}" y="{y}">{escape(name)}</text>'
        )
    return "".join(parts)


def bar_chart(
    title: str,
    rows: Sequence[tuple[str, Sequence[float | None]]],
    series: Sequence[str],
    *,
    fmt: Format = _number,
    width: int = 560,
    label_width: int = 150,
    marks: Sequence[float | None] | None = None,
) -> Markup:
    """Horizontal bars: one row per label, one bar per series within it.

    ``marks`` (one per row) draws a tick on the row, e.g. a target share next to the actual one.
    A missing value (None) draws no bar and says "none" in its tooltip.
    """
    if not rows:
        return Markup('<p class="empty">No data yet for “{}”.</p>').format(title)
    values = [v for _, vs in rows for v in vs] + [m for m in marks or () if m is not None]
    top = _scale(values)
    plot = width - label_width - 70
    legend = 24 if len(series) > 1 or marks else 0
    height = legend + len(rows) * _ROW * max(len(series), 1) + 8
    bar_h = max((_ROW - 6) // max(len(series), 1), 4)
    out = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    if legend:
        names = [*series, *(["target"] if marks else [])]
        out.append(_legend(names, label_width, 14))
    y = legend + 4
    for index, (label, vs) in enumerate(rows):
        row_h = _ROW * max(len(series), 1)
        out.append(
            f'<text class="label" x="{label_width - 6}" y="{y + row_h / 2 + 4:.1f}"'
            f' text-anchor="end">{escape(label)}</text>'
        )
        for i, value in enumerate(vs):
            top_y = y + 3 + i * (bar_h + _BAR_GAP)
            shown = "none" if value is None else fmt(value)
            size = 0.0 if value is None else max(value / top * plot, 0.0)
            out.append(
                f'<rect class="series-{i}" x="{label_width}" y="{top_y}" width="{size:.1f}"'
                f' height="{bar_h}"><title>{escape(label)}, {escape(series[i])}:'
                f" {escape(shown)}</title></rect>"
                f'<text class="value" x="{label_width + size + 4:.1f}" y="{top_y + bar_h - 2}">'
                f"{escape(shown)}</text>"
            )
        mark = marks[index] if marks else None
        if mark is not None:
            x = label_width + mark / top * plot
            out.append(
                f'<line class="target" x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y + row_h}">'
                f"<title>target {escape(fmt(mark))}</title></line>"
            )
        y += row_h
    out.append("</svg>")
    return Markup("".join(out))


def column_chart(
    title: str,
    points: Sequence[tuple[str, float]],
    *,
    fmt: Format = _number,
    width: int = 560,
    height: int = 180,
) -> Markup:
    """Vertical columns over time (labels left to right in the order given)."""
    if not points:
        return Markup('<p class="empty">No data yet for “{}”.</p>').format(title)
    top = _scale([v for _, v in points])
    base = height - 30
    step = (width - 20) / len(points)
    col = max(min(step - 6, 48), 3)
    out = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<line class="axis" x1="10" x2="{width - 10}" y1="{base}" y2="{base}"/>'
    ]
    every = max(len(points) // 8, 1)  # label at most ~8 columns so labels do not overlap
    for i, (label, value) in enumerate(points):
        h = max(value / top * (base - 20), 0.0)
        x = 10 + i * step + (step - col) / 2
        out.append(
            f'<rect class="series-0" x="{x:.1f}" y="{base - h:.1f}" width="{col:.1f}"'
            f' height="{h:.1f}"><title>{escape(label)}: {escape(fmt(value))}</title></rect>'
            f'<text class="value" x="{x + col / 2:.1f}" y="{base - h - 4:.1f}"'
            f' text-anchor="middle">{escape(fmt(value))}</text>'
        )
        if i % every == 0:
            out.append(
                f'<text class="label" x="{x + col / 2:.1f}" y="{base + 16}"'
                f' text-anchor="middle">{escape(label)}</text>'
            )
    out.append("</svg>")
    return Markup("".join(out))
