"""The search core's ranking: level combination against scoring every entry one by one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services.search import (
    MIN_SEARCH_SCORE,
    SearchHit,
    _best_levels,
    _holds,
    _lowest,
    _mask_of,
    _StartMasks,
)
from tests.test_search_service import index


def _by_brute_force(
    levels: list[list[tuple[float, int]]], allowed: int, floor: float, limit: int
) -> list[tuple[float, int]]:
    """Every allowed entry scored one by one, in the order the words were weighed."""
    entries = allowed.bit_length()
    order = sorted(range(len(levels)), key=lambda w: -(levels[w][0][0] if levels[w] else 0.0))
    scored = []
    for entry in range(entries):
        if not allowed >> entry & 1:
            continue
        total = 0.0
        for w in order:
            total += next((score for score, mask in levels[w] if mask >> entry & 1), 0.0)
        if total >= floor:
            scored.append((total, entry))
    scored.sort(key=lambda se: (-se[0], se[1]))
    return scored[:limit]


@st.composite
def _queries(draw: st.DrawFn) -> tuple[list[list[tuple[float, int]]], int, float, int]:
    entries = draw(st.integers(1, 300))
    words = draw(st.integers(1, 5))
    # Few distinct values, so that sums tie across words as real field weights make them do.
    values = st.sampled_from([0.3, 0.55, 0.6, 0.85, 1.0, 1.7, 2.2, 4.05])
    levels: list[list[tuple[float, int]]] = []
    for _ in range(words):
        level_of = draw(st.lists(st.integers(-3, 5), min_size=entries, max_size=entries))
        scores = sorted(set(draw(st.lists(values, min_size=6, max_size=6))), reverse=True)
        word: list[tuple[float, int]] = []
        for at, score in enumerate(scores):
            mask = sum(1 << e for e, level in enumerate(level_of) if level == at)
            if mask:
                word.append((score, mask))
        levels.append(word)
    allowed = draw(st.integers(0, (1 << entries) - 1)) | draw(
        st.sampled_from([0, (1 << entries) - 1])
    )
    floor = draw(st.sampled_from([0.01, 0.5, 1.0, 2.5, 5.0]))
    limit = draw(st.integers(1, 60))
    return levels, allowed, floor, limit


@settings(max_examples=400, deadline=None)
@given(_queries())
def test_level_combination_ranks_as_scoring_every_entry(
    query: tuple[list[list[tuple[float, int]]], int, float, int],
) -> None:
    levels, allowed, floor, limit = query
    assert _best_levels(levels, allowed, floor, limit) == _by_brute_force(
        levels, allowed, floor, limit
    )


def test_a_tie_at_the_last_place_goes_to_the_earlier_entry() -> None:
    # Entries 0-9 all match the one word equally; the best 3 are the first 3 in program order.
    levels = [[(1.0, (1 << 10) - 1)]]
    assert _best_levels(levels, (1 << 10) - 1, 0.5, 3) == [(1.0, 0), (1.0, 1), (1.0, 2)]
    # A better match anywhere comes first; entries not allowed never appear.
    levels = [[(2.0, 1 << 7), (1.0, ((1 << 10) - 1) & ~(1 << 7))]]
    allowed = ((1 << 10) - 1) & ~0b1
    assert _best_levels(levels, allowed, 0.5, 3) == [(2.0, 7), (1.0, 1), (1.0, 2)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 40), min_size=0, max_size=400),
    st.integers(-1, 41),
)
def test_start_masks_hold_exactly_the_entries_starting_later(minutes: list[int], at: int) -> None:
    base = datetime(2022, 7, 23, 12, tzinfo=UTC)
    starts = [base + timedelta(minutes=m) for m in minutes]
    moment = base + timedelta(minutes=at)
    later = _StartMasks(starts).after(moment)
    assert later == sum(1 << i for i, start in enumerate(starts) if start > moment)


@given(st.sets(st.integers(0, 999)))
def test_masks_and_postings_agree(items: set[int]) -> None:
    ascending = tuple(sorted(items))
    mask = _mask_of(ascending, 125)
    assert mask.bit_count() == len(items)
    assert _lowest(mask, 5) == list(ascending[:5])
    for item in (0, 1, 500, 999, *ascending[:10]):
        assert _holds(mask, item) == _holds(ascending, item) == (item in items)


def test_results_are_read_like_a_list() -> None:
    hits = index().search("pruning", limit=25)
    assert 5 <= len(hits) <= 25
    listed = list(hits)
    assert all(isinstance(hit, SearchHit) for hit in listed)
    assert hits[:] == listed
    assert hits[2:4] == listed[2:4]
    assert hits[-1] is hits[len(hits) - 1] is listed[-1]
    assert [hit.score for hit in listed] == sorted((hit.score for hit in listed), reverse=True)
    assert all(hit.score >= MIN_SEARCH_SCORE for hit in listed)
    with pytest.raises(IndexError):
        hits[len(hits)]
