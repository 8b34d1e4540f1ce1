"""Links where people need them: session-start posts, /schedule now and the board, each poster
with its PDF / Poster / Video links, within Discord's limits however long the session."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

import discord
import pytest

from bot.delivery.outbox import DiscordOutbox
from bot.program.files import load_program
from bot.services.program import ProgramSnapshot, Talk, snapshot_from_program
from bot.services.schedule import ScheduleService
from bot.simulator.validation import embed_issues
from bot.ui.cards import link_md, now_embed, poster_fields, talk_embed

HAET = Path(__file__).resolve().parent.parent / "data" / "haet2022.yaml"
EDT = ZoneInfo("America/New_York")
DURING_POSTERS_I = datetime(2022, 7, 23, 10, 30, tzinfo=EDT)


@cache
def haet() -> ProgramSnapshot:
    return snapshot_from_program(load_program(HAET))


def within_limits(embed: discord.Embed) -> None:
    assert embed_issues([embed.to_dict()]) == []
    assert len(embed) <= 6000


def text_of(embed: discord.Embed) -> str:
    parts = [embed.description or ""] + [f"{f.name}\n{f.value}" for f in embed.fields]
    return "\n".join(parts)


def posters_i() -> tuple[Talk, list[Talk]]:
    snapshot = haet()
    session = snapshot.by_id["poster-session-i"]
    return session, snapshot.children(session.id)


def pdf_link(talk: Talk) -> str:
    [url] = [url for title, url in talk.links if title == "PDF"]
    return f"[PDF](<{url}>)"


def links_broken(text: str) -> list[str]:
    """Link targets that do not close: a link cut by trimming shows its markdown raw."""
    return [m for m in re.findall(r"\]\(<([^>]*)", text) if not m.startswith("http")] + [
        line for line in text.splitlines() if line.count("](<") != line.count(">)")
    ]


def synthetic_posters(count: int, *, title_size: int, links: int = 3) -> list[Talk]:
    _, real = posters_i()
    template = real[0]
    return [
        dataclasses.replace(
            template,
            id=f"poster-{n}",
            title=f"Poster {n:03d} "
            + ("Efficient training of sparse networks " * 10)[: title_size - 11],
            links=tuple(
                (label, f"https://www.dropbox.com/s/{n:04d}abcdefghijkl/{label}_{n}.pdf?dl=0")
                for label in ("PDF", "Poster", "Video")[:links]
            ),
        )
        for n in range(count)
    ]


# -- the session-start post (the talk card of a poster session) ---------------------------------


def test_session_post_lists_all_twelve_posters_of_poster_session_i_with_their_pdf() -> None:
    session, posters = posters_i()
    assert len(posters) == 12
    embed = talk_embed(session, haet().workshop, posters=posters)
    within_limits(embed)
    names = [f.name for f in embed.fields if f.name.startswith("Posters")]
    assert names[0] == "Posters (12)" and len(names) > 1
    text = text_of(embed)
    for poster in posters:
        # Every title whole (none is longer than the 200 characters shown), and its links.
        assert f"• **{poster.title}**" in text
        if poster.links:
            assert pdf_link(poster) in text
            assert all(f"(<{url}>)" in text for _, url in poster.links)
    assert links_broken(text) == []
    # A poster with no links is listed all the same.
    assert "• **MobileTL: On-device Transfer Learning" in text


def test_forty_posters_with_300_character_titles_all_fit_shorter() -> None:
    session, _ = posters_i()
    posters = synthetic_posters(40, title_size=300)
    embed = talk_embed(session, haet().workshop, posters=posters)
    within_limits(embed)
    text = text_of(embed)
    for poster in posters:
        # Every poster is there (its title shortened), and its PDF while that fits.
        assert f"• **{poster.title[:10]}" in text
    assert "more: `/schedule session`" not in text
    assert links_broken(text) == []
    # Titles were shortened before links were dropped: each line is short, none is cut mid-link.
    lines = [line for line in text.splitlines() if line.startswith("• ")]
    assert len(lines) == 40 and all(len(line) < 300 for line in lines)


def test_shorter_titles_come_before_fewer_links() -> None:
    posters = synthetic_posters(12, title_size=300)
    roomy = poster_fields(posters, budget=6000, fields=25)
    text = "\n".join(v for _, v in roomy)
    # Room enough for every link once titles are shortened: all three links stay.
    assert text.count("[PDF](<") == 12 and text.count("[Video](<") == 12
    assert all(p.title not in text for p in posters)
    tight = "\n".join(v for _, v in poster_fields(posters, budget=1500, fields=25))
    assert tight.count("• **Poster") == 12
    assert tight.count("[Video](<") < 12


@pytest.mark.parametrize("count", [250, 1000])
def test_more_posters_than_any_embed_holds_say_how_many_more(count: int) -> None:
    session, _ = posters_i()
    posters = synthetic_posters(count, title_size=300)
    embed = talk_embed(session, haet().workshop, posters=posters)
    within_limits(embed)
    text = text_of(embed)
    shown = text.count("• **Poster")
    assert 40 < shown < count
    assert f"… and {count - shown} more: `/schedule session`" in text


def test_a_keynote_post_keeps_its_own_links() -> None:
    keynote = dataclasses.replace(
        haet().by_id["keynote-melika-payvand"],
        links=(("Slides", "https://example.org/slides.pdf"), ("Video", "https://youtu.be/x")),
    )
    embed = talk_embed(keynote, haet().workshop)
    within_limits(embed)
    links = {f.name: f.value for f in embed.fields}["Links"]
    assert links == "[Slides](<https://example.org/slides.pdf>)\n[Video](<https://youtu.be/x>)"


def test_imported_text_never_pings_nor_breaks_the_markdown() -> None:
    _, real = posters_i()
    hostile = dataclasses.replace(
        real[0],
        title="@everyone look <@&123456789012345678> **here** [x](https://evil.example)",
        links=(
            ("P]DF @here", "https://example.org/a b)c<@&1>@everyone"),
            ("Script", "javascript:alert(1)"),
        ),
    )
    [(_, value)] = poster_fields([hostile], budget=6000, fields=25)
    assert "@everyone" not in value.replace("@\u200beveryone", "")
    assert "<@&123456789012345678>" not in value
    assert "@here" not in value.replace("@\u200bhere", "")
    assert "\\*\\*here\\*\\*" in value
    # The target cannot end early (space, parenthesis, angle bracket are encoded) and a
    # non-web link is left out.
    assert "[P)DF @\u200bhere](<https://example.org/a%20b%29c%3C@&1%3E%40everyone>)" in value
    assert "javascript" not in value
    assert link_md("PDF", "ftp://example.org/x") is None


def test_a_link_too_long_for_a_list_is_left_out_whole() -> None:
    _, real = posters_i()
    long = dataclasses.replace(
        real[0], links=(("Huge", "https://example.org/" + "p" * 1500), *real[0].links)
    )
    [(_, value)] = poster_fields([long], budget=6000, fields=25)
    assert "Huge" not in value and pdf_link(real[0]) in value
    assert links_broken(value) == []


# -- /schedule now and the board, while Poster session I runs -----------------------------------


def test_now_during_poster_session_i_shows_each_posters_links() -> None:
    view = ScheduleService(haet).now(DURING_POSTERS_I)
    embed = now_embed(view, haet().workshop)
    within_limits(embed)
    _, posters = posters_i()
    description = embed.description or ""
    for poster in posters:
        assert f"◦ {poster.title[:80]}" in description
        if poster.links:
            assert pdf_link(poster) in description
    assert links_broken(description) == []
    # What starts next is still there.
    assert "Memory-Centric Machine Learning" in embed.fields[0].value


def test_now_with_a_running_keynote_shows_its_links() -> None:
    snapshot = haet()
    keynote = dataclasses.replace(
        snapshot.by_id["keynote-melika-payvand"],
        links=(("Slides", "https://example.org/slides.pdf"),),
    )
    talks = tuple(keynote if t.id == keynote.id else t for t in snapshot.talks)
    changed = dataclasses.replace(snapshot, talks=talks, by_id={t.id: t for t in talks})
    view = ScheduleService(lambda: changed).now(DURING_POSTERS_I - timedelta(minutes=85))
    embed = now_embed(view, changed.workshop)
    assert "🔗 [Slides](<https://example.org/slides.pdf>)" in (embed.description or "")


def test_now_with_several_long_poster_sessions_stays_within_limits() -> None:
    snapshot = haet()
    session = snapshot.by_id["poster-session-i"]
    talks: list[Talk] = []
    for s in range(6):
        sid = f"session-{s}"
        talks.append(dataclasses.replace(session, id=sid, title=f"Session {s} " + "x" * 300))
        talks += [
            dataclasses.replace(p, id=f"{sid}-{p.id}", session_id=sid)
            for p in synthetic_posters(40, title_size=300)
        ]
    changed = dataclasses.replace(snapshot, talks=tuple(talks), by_id={t.id: t for t in talks})
    embed = now_embed(ScheduleService(lambda: changed).now(DURING_POSTERS_I), changed.workshop)
    within_limits(embed)
    assert links_broken(embed.description or "") == []


def board(snapshot: ProgramSnapshot) -> DiscordOutbox:
    program = SimpleNamespace(snapshot=snapshot)
    return DiscordOutbox(
        cast(Any, None), cast(Any, None), cast(Any, program), cast(Any, None), cast(Any, None)
    )


def test_board_during_poster_session_i_lists_its_posters_with_links() -> None:
    view = ScheduleService(haet).now(DURING_POSTERS_I)
    embed = board(haet()).board_embed(view)
    within_limits(embed)
    names = [f.name for f in embed.fields]
    assert names[0] == "Now" and names[1] == "Posters (12)" and names[-1] == "Next"
    assert "Poster session I" in embed.fields[0].value
    text = text_of(embed)
    _, posters = posters_i()
    for poster in posters:
        assert f"• **{poster.title[:60]}" in text
        if poster.links:
            assert pdf_link(poster) in text
    assert links_broken(text) == []


def test_board_with_six_long_poster_sessions_stays_within_limits() -> None:
    snapshot = haet()
    session = snapshot.by_id["poster-session-i"]
    talks: list[Talk] = []
    for s in range(6):
        sid = f"session-{s}"
        talks.append(dataclasses.replace(session, id=sid, title=f"Session {s} " + "x" * 300))
        talks += [
            dataclasses.replace(p, id=f"{sid}-{p.id}", session_id=sid)
            for p in synthetic_posters(40, title_size=300)
        ]
    changed = dataclasses.replace(snapshot, talks=tuple(talks), by_id={t.id: t for t in talks})
    embed = board(changed).board_embed(ScheduleService(lambda: changed).now(DURING_POSTERS_I))
    within_limits(embed)
    assert sum(f.name.startswith("Posters (40) · Session") for f in embed.fields) == 6
    assert links_broken(text_of(embed)) == []
