"""Many series' points inside a time window at once, as NaN-padded (series x points) arrays.

Every judgement reads windows (the evaluation window, each series' new points with context,
baselines, references), so a window over 10,000 series must not cost a numpy call per
series: rows of one block (pointblock.py) are found with one search and copied with one
gather; series on their own that share a timestamp array share one search, and are copied
with one scatter per array.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spc_rules.sidecar.query.blocks import rows_at
from spc_rules.sidecar.query.decode import FloatArray
from spc_rules.sidecar.query.pointblock import PointBlock
from spc_rules.sidecar.query.points import IntArray, Points


@dataclass(frozen=True)
class Window:
    """The points of many series inside one time window, as NaN-padded (series x points)
    arrays, left-aligned: row i holds ``counts[i]`` points, then NaN. The first
    ``context[i]`` of them come from just before the window (see ``window``)."""

    values: FloatArray
    sizes: FloatArray
    timestamps: FloatArray
    counts: IntArray
    context: IntArray

    @property
    def inside(self) -> NDArray[np.bool_]:
        """Where a row holds a point of the window itself, not of its context."""
        cols = np.arange(self.values.shape[1])
        return (cols >= self.context[:, None]) & (cols < self.counts[:, None])


def window(
    points: Sequence[Points],
    start: float | FloatArray,
    end: float | FloatArray,
    context: int = 0,
    groups: Groups | None = None,
) -> Window:
    """Each series' points with ``start < timestamp <= end``, after up to ``context`` points
    just before ``start`` (each a scalar, or one per series). ``groups``: ``groups_of(points)``
    where the caller has it."""
    groups = groups if groups is not None else groups_of(points)
    lo, hi = positions(points, start, groups), positions(points, end, groups)
    hi = np.maximum(hi, lo)  # an end before the start: an empty window
    first = np.maximum(lo - context, 0)
    counts = hi - first
    width = int(counts.max(initial=0))
    shape = (len(points), width)
    # Not filled with NaN first: every row is written once, its padding included (the NaN
    # fills of a first cycle's windows at 10,000 series took 0.3 s).
    out = Window(np.empty(shape), np.empty(shape), np.empty(shape), counts, lo - first)
    if width:
        for block, where, rows in groups.blocks:
            _copy_rows(out, where, block, rows, first)
        loose = [i for _, where in groups.shared for i in where.tolist()]
        if loose:
            _scatter(out, np.array(loose), [points[i] for i in loose], first)
    return out


@dataclass(frozen=True)
class Groups:
    """Which series of a list are searched and copied together: rows of one block (the
    block, where they are in the list, their rows in the block), and series on their own
    by their timestamp array (the array, where they are in the list)."""

    blocks: list[tuple[PointBlock, IntArray, IntArray]]
    shared: list[tuple[FloatArray, IntArray]]


def groups_of(points: Sequence[Points]) -> Groups:
    """The ``Groups`` of ``points``, each block's row numbers gathered once."""
    by_block: dict[int, list[int]] = defaultdict(list)
    by_stamps: dict[int, list[int]] = defaultdict(list)
    for i, p in enumerate(points):
        if p.block is not None:
            by_block[id(p.block)].append(i)
        else:
            by_stamps[id(p.timestamps)].append(i)
    blocks = []
    for members in by_block.values():
        block = points[members[0]].block
        assert block is not None
        rows = np.fromiter((points[i].row for i in members), np.intp, len(members))
        blocks.append((block, np.array(members), rows))
    shared = [(points[m[0]].timestamps, np.array(m)) for m in by_stamps.values()]
    return Groups(blocks, shared)


def positions(
    points: Sequence[Points], at: float | FloatArray, groups: Groups | None = None
) -> IntArray:
    """Per series, how many of its points have ``timestamp <= at`` (a scalar, or one per
    series): rows of one block are searched together (pointblock.py), and series on their
    own that share a timestamp array share one search."""
    stamps = np.broadcast_to(np.asarray(at, dtype=np.float64), (len(points),))
    groups = groups if groups is not None else groups_of(points)
    out = np.zeros(len(points), np.intp)
    for block, where, rows in groups.blocks:
        out[where] = block.positions(rows, stamps[where])
    for timestamps, where in groups.shared:
        out[where] = timestamps.searchsorted(stamps[where], side="right")
    return out


def _copy_rows(
    out: Window, at: IntArray, block: PointBlock, rows: IntArray, first: IntArray
) -> None:
    """Rows ``at`` of ``out`` from rows ``rows`` of ``block``, each ``out.counts`` points
    from its ``first`` on."""
    starts, counts = first[at], out.counts[at]
    width = int(counts.max(initial=0))
    target = rows_at(at)
    _pad(out, target, width)
    if width == 0:
        return
    cols = np.arange(width)
    if block.stamps is None and (starts == starts[0]).all() and (counts == width).all():
        # Every row has every column, and the same ones: one slice of the matrix.
        part = rows_at(rows), slice(int(starts[0]), int(starts[0]) + width)
        matrix = (-1, block.columns.size)
        out.values[target, :width] = block.values.reshape(matrix)[part]
        out.sizes[target, :width] = block.sizes.reshape(matrix)[part]
        out.timestamps[target, :width] = block.columns[part[1]]
        return
    filled = cols < counts[:, None]
    at_point = np.where(filled, block.offsets[rows][:, None] + starts[:, None] + cols, 0)
    out.values[target, :width] = np.where(filled, block.values[at_point], np.nan)
    out.sizes[target, :width] = np.where(filled, block.sizes[at_point], np.nan)
    if block.stamps is not None:
        stamps = block.stamps[at_point]
    else:
        stamps = block.columns[np.where(filled, starts[:, None] + cols, 0)]
    out.timestamps[target, :width] = np.where(filled, stamps, np.nan)


def _scatter(out: Window, at: IntArray, points: Sequence[Points], first: IntArray) -> None:
    """Rows ``at`` of ``out`` from series held on their own: in row-major order the cells
    a row fills are the order of its points, so one scatter per array (not three slice
    copies per row)."""
    counts = out.counts[at]
    width = int(counts.max(initial=0))
    target = rows_at(at)
    _pad(out, target, width)
    if width == 0:
        return
    filled = np.arange(width) < counts[:, None]
    spans = [(p, int(a), int(a + n)) for p, a, n in zip(points, first[at], counts, strict=True)]
    values, sizes, stamps = (np.full((len(at), width), np.nan) for _ in range(3))
    values[filled] = np.concatenate([p.values[a:b] for p, a, b in spans])
    sizes[filled] = np.concatenate([p.sizes[a:b] for p, a, b in spans])
    stamps[filled] = np.concatenate([p.timestamps[a:b] for p, a, b in spans])
    out.values[target, :width], out.sizes[target, :width] = values, sizes
    out.timestamps[target, :width] = stamps


def _pad(out: Window, target: slice | IntArray, width: int) -> None:
    """NaN in rows ``target`` of ``out`` from column ``width`` on, which their group does
    not write (a wider group elsewhere set the window's width)."""
    if width < out.values.shape[1]:
        for array in (out.values, out.sizes, out.timestamps):
            array[target, width:] = np.nan
