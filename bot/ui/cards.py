"""Embeds the attendee sees: the talk card and program listings, always within Discord's limits."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

import discord

from bot.services.program import Talk, Workshop
from bot.ui.format import discord_ts, venue_time
from bot.ui.text import (
    EMBED_DESCRIPTION_MAX,
    EMBED_TITLE_MAX,
    EMBED_TOTAL_MAX,
    FIELD_VALUE_MAX,
    FOOTER_MAX,
    trim,
)

COLOURS = {
    "keynote": discord.Colour.gold(),
    "poster_session": discord.Colour.green(),
    "poster": discord.Colour.dark_green(),
    "break": discord.Colour.light_grey(),
    "panel": discord.Colour.purple(),
}


def when_text(talk: Talk, zone: ZoneInfo) -> str:
    """Start and end twice: Discord timestamps (reader's zone) and the venue's local time."""
    local = f"{venue_time(talk.start, zone, with_date=True)} – {venue_time(talk.end, zone)}"
    return f"{discord_ts(talk.start, 'F')} – {discord_ts(talk.end, 't')}\n{local}"


def people_text(names: Sequence[str], limit: int = FIELD_VALUE_MAX) -> str:
    """Names joined in published order; if too many to fit, say how many more."""
    out: list[str] = []
    used = 0
    for index, name in enumerate(names):
        rest = len(names) - index - 1
        tail = f" and {rest} more" if rest else ""
        piece = (", " if out else "") + name
        if used + len(piece) + len(tail) + 12 > limit:
            return "".join(out) + f" and {len(names) - index} more"
        out.append(piece)
        used += len(piece)
    return trim("".join(out), limit)


def talk_embed(
    talk: Talk,
    workshop: Workshop,
    *,
    session: Talk | None = None,
    posters: Sequence[Talk] = (),
) -> discord.Embed:
    """The talk card: title, kind, people, abstract, times, session, links."""
    embed = discord.Embed(
        title=trim(talk.title, EMBED_TITLE_MAX),
        colour=COLOURS.get(talk.kind, discord.Colour.blurple()),
    )
    label = talk.kind_label + (" (cancelled)" if talk.cancelled else "")
    embed.set_author(name=trim(f"{label} · {workshop.acronym}", 256))
    if talk.people:
        role = "Speaker" if talk.kind in ("keynote", "talk", "presentation") else "Authors"
        if len(talk.people) == 1 and role == "Authors":
            role = "Author"
        embed.add_field(name=role, value=people_text(talk.people), inline=False)
    embed.add_field(name="When", value=when_text(talk, workshop.zone), inline=False)
    if session is not None:
        embed.add_field(name="Session", value=trim(session.title, FIELD_VALUE_MAX), inline=True)
    if talk.room:
        embed.add_field(name="Room", value=trim(talk.room, FIELD_VALUE_MAX), inline=True)
    if posters:
        lines = [f"• {p.title}" for p in posters]
        embed.add_field(
            name=f"Posters ({len(posters)})",
            value=lines_within(lines, FIELD_VALUE_MAX),
            inline=False,
        )
    if talk.links:
        links = [f"[{trim(title, 80)}]({url})" for title, url in talk.links]
        embed.add_field(name="Links", value=lines_within(links, FIELD_VALUE_MAX), inline=False)
    footer = "Look anyone up with /author · find papers with /search"
    embed.set_footer(text=trim(footer, FOOTER_MAX))
    if talk.abstract:
        room = EMBED_TOTAL_MAX - len(embed) - 10
        embed.description = trim(talk.abstract, max(0, min(EMBED_DESCRIPTION_MAX, room)))
    return embed


def lines_within(lines: Sequence[str], limit: int) -> str:
    """As many whole lines as fit in ``limit``, then "… and N more"."""
    out: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        line = trim(line, limit - 30)
        left_after = len(lines) - index - 1
        # Keep room for the "and N more" line that would follow this one.
        reserve = len(f"\n… and {left_after} more") if left_after else 0
        needed = len(line) + (1 if out else 0)
        if used + needed + reserve > limit:
            out.append(f"… and {len(lines) - index} more")
            break
        out.append(line)
        used += needed
    return "\n".join(out)


def talk_line(talk: Talk, workshop: Workshop, *, relative: bool = False) -> str:
    """One line of a listing: both times, kind, title and people."""
    when = f"{discord_ts(talk.start, 't')}–{discord_ts(talk.end, 't')} ({venue_time(talk.start, workshop.zone)})"
    if relative:
        when += f" · {discord_ts(talk.start, 'R')}"
    who = f" — {people_text(talk.people, 120)}" if talk.people else ""
    return trim(f"{when} · **{talk.kind_label}**: {talk.title}{who}", 600)
