"""The interactive memory-map view (the reference's plotMemoryAlloc), with Plotly.

One self-contained HTML page (Plotly's JavaScript embedded: it opens without a network),
one panel per memory level: each block a rectangle spanning its lifetime (x, schedule
steps) and its addresses (y, bytes); hovering shows its name, size, offset and lifetime;
a dashed line marks the level's capacity and a dotted one the arena's end (a level far
larger than its arena is shown up to just above the arena; its capacity is in the panel's
title). A legend gives the kinds of block by colour. Names are HTML-escaped: they come
from the model.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from tiler_passes.allocation.memory_map import MemoryMap

COLOURS = {"input": "#4c78a8", "constant": "#9d755d", "activation": "#54a24b", "buffer": "#f58518"}


def memory_map_figure(mmap: MemoryMap, arenas: Mapping[str, int], level_order: list[str]):
    from plotly.graph_objects import Figure, Scatter
    from plotly.subplots import make_subplots

    levels = [level for level in level_order if level in mmap.levels]
    fig: Figure = make_subplots(
        rows=max(len(levels), 1),
        cols=1,
        subplot_titles=[
            html.escape(f"{level}: arena {arenas[level]:,} of {mmap.capacities[level]:,} bytes") for level in levels
        ],
        # room between panels for one's axis title and the next one's title
        vertical_spacing=min(0.2, 0.5 / max(len(levels) - 1, 1)),
    )
    in_legend: set[str] = set()
    for row, level in enumerate(levels, start=1):
        for b in mmap.levels[level]:
            blk, o = b.block, b.offset or 0
            name = html.escape(blk.id)
            first_of_kind = b.kind not in in_legend
            in_legend.add(b.kind)
            fig.add_trace(
                Scatter(
                    x=[blk.lower, blk.upper, blk.upper, blk.lower, blk.lower],
                    y=[o, o, o + blk.size, o + blk.size, o],
                    fill="toself",
                    mode="lines",
                    line={"width": 1, "color": "#333333"},
                    fillcolor=COLOURS.get(b.kind, "#bab0ac"),
                    opacity=0.8,
                    # the legend lists the kinds of block by colour, once each
                    name=b.kind,
                    legendgroup=b.kind,
                    showlegend=first_of_kind,
                    hoveron="fills",
                    text=(
                        f"{name}<br>{b.kind}, {blk.size:,} bytes at offset {o:,}"
                        f"<br>steps [{blk.lower}, {blk.upper})"
                    ),
                    hoverinfo="text",
                ),
                row=row,
                col=1,
            )
        for y, dash, label in ((mmap.capacities[level], "dash", "capacity"), (arenas[level], "dot", "arena")):
            fig.add_trace(
                Scatter(
                    x=[0, mmap.steps],
                    y=[y, y],
                    mode="lines",
                    line={"color": "#d62728" if label == "capacity" else "#7f7f7f", "dash": dash},
                    name=f"{level} {label}",
                    showlegend=False,
                    hoverinfo="text",
                    text=f"{level} {label}: {y:,} bytes",
                ),
                row=row,
                col=1,
            )
        fig.update_xaxes(title_text="schedule step", row=row, col=1)
        # a level far larger than its arena (a roomy L2) would flatten the blocks: show up
        # to just above the arena; the capacity line is then above the view (zoom out)
        capacity, arena = mmap.capacities[level], max(arenas[level], 1)
        top = capacity * 1.05 if capacity <= 1.5 * arena else arena * 1.15
        fig.update_yaxes(title_text="address (bytes)", range=[0, top], row=row, col=1)
    fig.update_layout(height=420 * max(len(levels), 1), title_text="Memory map", template="plotly_white")
    return fig


def write_memory_map_html(mmap: MemoryMap, arenas: Mapping[str, int], level_order: list[str]) -> str:
    fig = memory_map_figure(mmap, arenas, level_order)
    # a fixed div id: plotly would draw a random one, and the same map must give the same page
    return fig.to_html(include_plotlyjs=True, full_html=True, div_id="memory-map", config={"displaylogo": False})
