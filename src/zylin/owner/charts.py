"""Small bar charts as inline SVG, drawn on the server: no script, no CDN, works offline.

Colours are SVG presentation attributes, not `style`, so the pages' strict CSP allows them.
Every label goes through `escape`: a chart never carries markup from the data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 320, 120
LEFT, RIGHT, TOP, BOTTOM = 4, 4, 14, 16


@dataclass(frozen=True)
class Stack:
    """One coloured part of each bar (e.g. answered calls, or the LLM's share of a reply)."""

    name: str
    colour: str
    values: Sequence[float | None]


@dataclass(frozen=True)
class Target:
    """A horizontal line the bars should stay under (or reach)."""

    value: float
    label: str


def _text(x: float, y: float, words: str, anchor: str = "start", cls: str = "") -> str:
    extra = f' class="{cls}"' if cls else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="9" fill="#6b7482" '
        f'text-anchor="{anchor}"{extra}>{escape(words)}</text>'
    )


def bar_chart(
    title: str,
    labels: Sequence[str],
    stacks: Sequence[Stack],
    *,
    fmt: Callable[[float], str],
    target: Target | None = None,
    floor_max: float = 1.0,
) -> Markup:
    """Stacked bars, one per label, scaled to the tallest bar (or the target, if higher).

    Args:
        title: What the chart shows; its accessible name.
        labels: One per bar (the first and last are printed under the axis).
        stacks: Bottom first; a None value draws nothing for that bar.
        fmt: Formats the scale's top value and the target.
        target: The line to draw, e.g. the 3 s voice-to-voice budget.
        floor_max: The least the scale may top out at (so a quiet week does not look busy).
    """
    count = max(1, len(labels))
    totals = [sum(s.values[i] or 0.0 for s in stacks) for i in range(len(labels))]
    candidates: list[float] = [floor_max, *totals]
    if target is not None:
        candidates.append(target.value * 1.15)
    top = max(candidates)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / count
    bar_w = max(1.0, slot * 0.72)

    def y_of(value: float) -> float:
        return TOP + plot_h - value / top * plot_h

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" '
        'stroke="#cfd4dc" stroke-width="1"/>',
        _text(LEFT, TOP - 4, f"max {fmt(top)}"),
    ]
    for i in range(len(labels)):
        x = LEFT + i * slot + (slot - bar_w) / 2
        base = 0.0
        for stack in stacks:
            value = stack.values[i]
            if not value:
                continue
            y0, y1 = y_of(base + value), y_of(base)
            parts.append(
                f'<rect x="{x:.1f}" y="{y0:.1f}" width="{bar_w:.1f}" '
                f'height="{max(0.5, y1 - y0):.1f}" fill="{stack.colour}">'
                f"<title>{escape(labels[i])}: {escape(stack.name)} {escape(fmt(value))}</title>"
                "</rect>"
            )
            base += value
    if target is not None:
        y = y_of(target.value)
        parts.append(
            f'<line class="target" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            'stroke="#b42318" stroke-width="1" stroke-dasharray="4 3"/>'
        )
        parts.append(_text(WIDTH - RIGHT, y - 3, f"{target.label} {fmt(target.value)}", "end"))
    if labels:
        parts.append(_text(LEFT, HEIGHT - 4, labels[0]))
        parts.append(_text(WIDTH - RIGHT, HEIGHT - 4, labels[-1], "end"))
    parts.append("</svg>")
    return Markup("".join(parts))


def legend(stacks: Sequence[Stack]) -> Markup:
    """The colour key under a chart."""
    items = "".join(
        f'<li><svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" '
        f'fill="{s.colour}"/></svg> {escape(s.name)}</li>'
        for s in stacks
    )
    return Markup(f'<ul class="legend">{items}</ul>')
