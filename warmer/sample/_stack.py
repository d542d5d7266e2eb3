"""LRU stack distances of a whole reference sequence at once, in numpy (Mattson et al., 1970).

The stack distance of a reference is its key's depth in the LRU stack: 1 + the number of
distinct keys referenced since the key's previous reference (infinite on a first
reference). An LRU cache of ``c`` objects hits exactly the references whose distance is at
most ``c``, so one pass gives the hit rate of every cache size.

For a reference at ``i`` whose previous reference is at ``p``, the keys seen in between
are the ``i - p - 1`` references in ``(p, i)`` minus the repeats among them; a reference
``j`` in ``(p, i)`` repeats when its key comes back before ``i``. Writing every
(previous, next) pair of the sequence as ``(P[t], Q[t])`` in order of ``Q``, the repeats
inside the window of pair ``t`` are the earlier pairs ``t' < t`` with ``P[t'] > P[t]``:
a count of "earlier and larger" elements, which a bottom-up merge sort gives for every
element in ``log2(n)`` vectorised passes (each pass merges pairs of sorted blocks with one
``searchsorted``). The byte distance — the bytes an LRU cache needs to still hold the
object — is the same count weighted by object size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]

_BLOCK_SHIFT = np.int64(1) << np.int64(32)


@dataclass(frozen=True)
class Distances:
    """Stack distances of the references at ``positions`` (the others were first references)."""

    positions: Array
    """Indices (into the sequence) of the references that had a previous reference."""
    objects: Array
    """Their distance in objects (1 = the most recently used key)."""
    bytes: Array | None
    """Their distance in bytes (the object's own size included), when sizes were given."""


def previous_positions(ids: Array) -> Array:
    """For each position, the previous position holding the same id, or -1."""
    order = np.argsort(ids, kind="stable")
    ordered = ids[order]
    same = ordered[1:] == ordered[:-1]
    previous = np.full(len(ids), -1, dtype=np.int64)
    previous[order[1:][same]] = order[:-1][same]
    return previous


def stack_distances(ids: Array, sizes: Array | None = None) -> Distances:
    """Object (and byte) stack distances of every reference of ``ids`` that repeats a key."""
    previous = previous_positions(ids)
    positions = np.flatnonzero(previous >= 0)
    earlier = previous[positions]
    weights = None if sizes is None else np.asarray(sizes, dtype=np.float64)[earlier]
    repeats, repeated_bytes = earlier_greater(earlier, weights)
    objects = positions - earlier - repeats  # (i - p - 1) distinct keys, + 1 for the key itself
    byte_distances = None
    if sizes is not None and repeated_bytes is not None:
        cumulative = np.concatenate(([0.0], np.cumsum(np.asarray(sizes, dtype=np.float64))))
        window = cumulative[positions] - cumulative[earlier + 1]
        own = np.asarray(sizes, dtype=np.float64)[positions]
        byte_distances = window - repeated_bytes + own
    return Distances(positions, objects, byte_distances)


def earlier_greater(values: Array, weights: Array | None = None) -> tuple[Array, Array | None]:
    """For each element: how many earlier elements are larger, and their total weight.

    ``values`` are distinct non-negative integers below 2^32. Bottom-up merge sort: at the
    pass of width ``w`` the array is sorted within blocks of ``w`` elements, block pairs
    (left = earlier positions, right = later) are counted against each other with one
    ``searchsorted`` over every pair at once (each pair's values are offset into their own
    range), then merged by one sort of the offset values.
    """
    m = len(values)
    counts = np.zeros(m, dtype=np.int64)
    totals = None if weights is None else np.zeros(m, dtype=np.float64)
    vals = np.asarray(values, dtype=np.int64)
    ids = np.arange(m, dtype=np.int64)
    wts = None if weights is None else np.asarray(weights, dtype=np.float64)
    position = np.arange(m, dtype=np.int64)
    width = 1
    while width < m:
        block = position // width
        pair = block >> 1
        left = (block & 1) == 0
        right = ~left
        keys = pair * _BLOCK_SHIFT + vals
        left_keys, left_pairs = keys[left], pair[left]
        right_pairs = pair[right]
        ends = np.searchsorted(left_pairs, right_pairs, "right")
        not_larger = np.searchsorted(left_keys, keys[right], "right")
        counts[ids[right]] += ends - not_larger
        if wts is not None and totals is not None:
            cumulative = np.concatenate(([0.0], np.cumsum(wts[left])))
            totals[ids[right]] += cumulative[ends] - cumulative[not_larger]
        order = np.argsort(keys, kind="stable")
        vals, ids = vals[order], ids[order]
        if wts is not None:
            wts = wts[order]
        width *= 2
    return counts, totals


def last_occurrences(ids: Array) -> Array:
    """Positions of the last reference to each id, in increasing order (LRU stack, oldest first)."""
    reversed_ids = ids[::-1]
    _, first_in_reversed = np.unique(reversed_ids, return_index=True)
    return np.sort(len(ids) - 1 - first_in_reversed)
