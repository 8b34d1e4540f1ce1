"""Embeds the attendee sees: the talk card and program listings, always within Discord's limits."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import discord

from bot.services.program import Talk, Workshop
from bot.services.schedule import NowView, Phase, SessionGroup
from bot.services.search import PersonMatch, SearchHit
from bot.ui.format import discord_ts, reader_span, venue_span, venue_time
from bot.ui.text import (
    CHOICE_NAME_MAX,
    EMBED_DESCRIPTION_MAX,
    EMBED_FIELDS_MAX,
    EMBED_TITLE_MAX,
    EMBED_TOTAL_MAX,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    FOOTER_MAX,
    defuse_mentions,
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
    footer: str | None = None,
    members: Mapping[str, int] | None = None,
) -> discord.Embed:
    """The talk card: title, kind, people, abstract, times, session, links; a footer only
    when given (a hint that helps on a card someone opened, not on every post and DM).

    ``members``: people linked to server members (name -> user id), shown as a mention
    beside the name (send it with no allowed mentions: it shows, and pings nobody)."""
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
        names = [with_member(name, members) for name in talk.people]
        embed.add_field(name=role, value=people_text(names), inline=False)
    embed.add_field(name="When", value=when_text(talk, workshop.zone), inline=False)
    if session is not None:
        embed.add_field(name="Session", value=trim(session.title, FIELD_VALUE_MAX), inline=True)
    if talk.room:
        embed.add_field(name="Room", value=trim(talk.room, FIELD_VALUE_MAX), inline=True)
    # The card's own links in full (a long one too), one a line, none cut.
    own = [link_md(title, url, 80) for title, url in talk.links]
    links = [text for text in own if text is not None and len(text) <= FIELD_VALUE_MAX - 40]
    links_value = lines_within(links, FIELD_VALUE_MAX) if links else ""
    footer_text = trim(footer, FOOTER_MAX) if footer else ""
    if posters:
        # Each poster with its links, over as many fields as that takes: what the links
        # field, the footer and a little of the session's abstract need is kept aside.
        keep = len("Links") + len(links_value) + len(footer_text) + min(len(talk.abstract), 300)
        for name, value in poster_fields(
            posters,
            budget=EMBED_TOTAL_MAX - len(embed) - keep - 20,
            fields=EMBED_FIELDS_MAX - len(embed.fields) - (1 if links_value else 0),
            more_hint=": `/schedule session`",
        ):
            embed.add_field(name=name, value=value, inline=False)
    if links_value:
        embed.add_field(name="Links", value=links_value, inline=False)
    if footer_text:
        embed.set_footer(text=footer_text)
    if talk.abstract:
        room = EMBED_TOTAL_MAX - len(embed) - 10
        embed.description = trim(talk.abstract, max(0, min(EMBED_DESCRIPTION_MAX, room)))
    return embed


def with_member(name: str, members: Mapping[str, int] | None) -> str:
    """``name``, and its linked member's mention when there is one: ``Tri Dao (<@1>)``."""
    user_id = (members or {}).get(name)
    return f"{name} (<@{user_id}>)" if user_id is not None else name


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
    """One line of a listing: both times (the reader's with its date), kind, title, people."""
    when = times_text(talk, workshop.zone)
    if relative:
        when += f" · {discord_ts(talk.start, 'R')}"
    title = md(defuse_mentions(trim(talk.title, TITLE_IN_LIST_MAX)))
    return trim(f"{when} · **{talk.kind_label}**: {title}{_who(talk)}", 600)


# -- listings: now, next, the day, kinds, sessions, search and author results ---------------------

#: Entries per page of a listing, and the most one entry's block may take.
PER_PAGE = 10
BLOCK_MAX = 400
TITLE_IN_LIST_MAX = 200
INTRO_MAX = 1000
# Posters listed under the one running poster session (under each, when several run, fewer).
POSTERS_IN_NOW = 25
# How much of the "now" embed the upcoming entries may take; the rest is for what is running.
NEXT_FIELDS_BUDGET = 1800


@dataclass(frozen=True, slots=True)
class Block:
    """One entry of a listing, as text; ``resume`` heads a page that opens inside its group."""

    text: str
    talk: Talk | None = None
    resume: str | None = None


@dataclass(slots=True)
class ListingPage:
    """A page's embed and the entries on it (for the "Open a talk card" menu)."""

    embed: discord.Embed
    talks: list[Talk] = field(default_factory=list)


# Whatever discord.py's escape_markdown would change starts with one of these: text without
# any is returned as it is, without running its slower expression (a "now" answer has 100+).
_MARKDOWN_TRIGGER = re.compile(r"[_\\~|*`>\[#]|^\s*-", re.MULTILINE)


def md(text: str) -> str:
    """Program text shown literally: a title with ``*`` or ``_`` must not turn into markdown."""
    if _MARKDOWN_TRIGGER.search(text) is None:
        return text
    return discord.utils.escape_markdown(text)


def quoted(text: str, limit: int = 80) -> str:
    """What the user typed, fit to echo back: one line, no invisible or control characters."""
    visible = "".join(c for c in text if unicodedata.category(c)[0] != "C")
    cleaned = " ".join(visible.split())
    return f"“{md(defuse_mentions(trim(cleaned, limit)))}”" if cleaned else "that"


def choice_name(text: str) -> str:
    """An autocomplete choice's or select option's label (1-100 characters)."""
    return trim(" ".join(text.split()), CHOICE_NAME_MAX) or "…"


def times_text(talk: Talk, zone: ZoneInfo) -> str:
    """``<t:…:f>–<t:…:t> (09:00–09:30 EDT)``: the reader's zone, with the reader's date (it
    may differ from the venue's), then the venue's."""
    return f"{reader_span(talk.start, talk.end)} ({venue_span(talk.start, talk.end, zone)})"


def _who(talk: Talk, limit: int = 120) -> str:
    return f" — {md(people_text(talk.people, limit))}" if talk.people else ""


def entry_block(
    talk: Talk, zone: ZoneInfo, *, at: datetime | None = None, posters: int = 0, note: str = ""
) -> str:
    """Two lines: bold title and people; times, kind, how soon (from ``at``) and posters.

    How soon is a live Discord timestamp ("in 25 minutes"), never text counted from ``at``:
    a listing shared in a channel is read long after it was made.
    """
    details = [times_text(talk, zone), talk.kind_label]
    if at is not None:
        if talk.start > at:
            details.append(discord_ts(talk.start, "R"))
        elif talk.end > at:
            details.append(f"ends {discord_ts(talk.end, 'R')}")
    if posters:
        details.append(f"{posters} poster{'s' if posters != 1 else ''}")
    if talk.cancelled:
        details.append("cancelled")
    title = md(trim(talk.title, TITLE_IN_LIST_MAX))
    text = f"**{title}**{_who(talk)}\n{' · '.join(details)}"
    return trim(text + (f"\n{note}" if note else ""), BLOCK_MAX)


def poster_line(talk: Talk) -> str:
    """A poster under its session: title and authors (its times are the session's)."""
    return trim(f"◦ **{md(trim(talk.title, TITLE_IN_LIST_MAX))}**{_who(talk)}", BLOCK_MAX)


def listing_pages(
    title: str,
    blocks: Sequence[Block],
    *,
    intro: str = "",
    empty: str = "Nothing to show.",
    colour: discord.Colour | None = None,
    per_page: int = PER_PAGE,
) -> list[ListingPage]:
    """Blocks on pages of at most ``per_page`` entries, each page within Discord's limits."""
    head = trim(intro, INTRO_MAX) + "\n\n" if intro else ""
    pages: list[ListingPage] = []
    lines: list[str] = []
    talks: list[Talk] = []
    count = 0
    used = len(head)

    def flush() -> None:
        text = head + "\n".join(lines) if lines else head + empty
        embed = discord.Embed(
            title=trim(title, EMBED_TITLE_MAX),
            description=text.strip() or None,
            colour=colour or discord.Colour.blurple(),
        )
        pages.append(ListingPage(embed, list(talks)))

    for block in blocks:
        text = trim(block.text, BLOCK_MAX)
        size = len(text) + 1
        if lines and (count >= per_page or used + size > EMBED_DESCRIPTION_MAX - 200):
            flush()
            lines, talks, count, used = [], [], 0, len(head)
        if not lines and block.resume:
            # A page opening inside a group says which group it continues.
            lines.append(trim(block.resume, 200))
            used += len(lines[-1]) + 1
        lines.append(text)
        used += size
        count += 1
        if block.talk is not None:
            talks.append(block.talk)
    flush()
    return pages


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def now_embed(view: NowView, workshop: Workshop) -> discord.Embed:
    """What runs now (posters under their session) and what starts next, or when the day is."""
    zone = workshop.zone
    embed = discord.Embed(
        title=trim(f"Now at {workshop.acronym}", EMBED_TITLE_MAX),
        colour=discord.Colour.blurple(),
    )
    # The footer names the clock the answer used, which matters during a rehearsal and once
    # the answer is shared; the embed's timestamp shows that moment in the reader's zone.
    embed.set_footer(text=f"Workshop clock: {venue_time(view.at, zone, with_date=True)}")
    embed.timestamp = view.at
    if view.phase is Phase.EMPTY or view.starts_at is None or view.ends_at is None:
        embed.description = "The program has no entries yet."
        return embed
    if view.phase is Phase.AFTER:
        end = view.ends_at
        embed.description = (
            f"The workshop has ended: its last entry finished at {discord_ts(end, 'f')} "
            f"({venue_time(end, zone, with_date=True)}). Thank you for coming!"
        )
        return embed
    lines: list[str] = []
    if view.phase is Phase.BEFORE:
        # No "today" or "tomorrow": the venue's calendar is not the reader's. Discord shows
        # the date in the reader's zone, and how far off it is whenever it is read.
        start = view.starts_at
        lines.append(
            f"The workshop starts on {discord_ts(start, 'F')} "
            f"({venue_time(start, zone, with_date=True)}), {discord_ts(start, 'R')}."
        )
    elif not view.running:
        lines.append("Nothing is running right now.")
    used = sum(len(line) + 1 for line in lines)
    # What is running may take this much of the description; what starts next has the rest.
    running_budget = min(EMBED_DESCRIPTION_MAX, EMBED_TOTAL_MAX - NEXT_FIELDS_BUDGET - 300)
    for index, item in enumerate(view.running):
        if used > EMBED_DESCRIPTION_MAX:
            # Only so much fits: formatting hundreds of parallel entries costs milliseconds.
            lines.append(f"… and {len(view.running) - index} more running: `/schedule day`")
            break
        before = len(lines)
        lines.append(
            f"**{md(trim(item.talk.title, TITLE_IN_LIST_MAX))}**{_who(item.talk)}\n"
            f"{item.talk.kind_label} · {times_text(item.talk, zone)} · "
            f"ends {discord_ts(item.talk.end, 'R')}"
        )
        # Several entries at once share the room: each gets its part of what is left.
        share = (running_budget - used - len(lines[-1])) // (len(view.running) - index)
        links = with_links("🔗", item.talk.links, limit=min(1000, share - 10), lead=" ")
        if links != "🔗":
            lines.append(links)
            share -= len(links) + 1
        if item.children:
            lines.append(f"Posters ({len(item.children)}):")
            # Several sessions at once: each lists a few, then points onward.
            shown = item.children[: POSTERS_IN_NOW if len(view.running) == 1 else 5]
            tail = ""
            if len(shown) < len(item.children):
                tail = f"◦ … and {len(item.children) - len(shown)} more: `/schedule session`"
            budget = share - len(lines[-1]) - len(tail) - 2
            lines.extend(poster_lines_within(shown, budget))
            if tail:
                lines.append(tail)
        used += sum(len(line) + 1 for line in lines[before:])
    budget = NEXT_FIELDS_BUDGET
    for number, group in enumerate(view.upcoming):
        if len(embed.fields) >= EMBED_FIELDS_MAX - 1 or budget < 200:
            break
        # Field names show no Discord timestamps: how soon goes in the value, live.
        name = "Next" if number == 0 else "Then"
        items = [
            f"**{md(trim(i.talk.title, TITLE_IN_LIST_MAX))}**{_who(i.talk)} · {i.talk.kind_label}"
            + (f" ({_count(len(i.children), 'poster', 'posters')})" if i.children else "")
            for i in group.items
        ]
        when = (
            f"{discord_ts(group.start, 'f')} ({venue_time(group.start, zone)}), "
            f"{discord_ts(group.start, 'R')}"
        )
        value = lines_within([when, *items], min(FIELD_VALUE_MAX, budget))
        embed.add_field(name=trim(name, 256), value=value, inline=False)
        budget -= len(name) + len(value)
    room = EMBED_TOTAL_MAX - len(embed) - 50
    embed.description = lines_within(lines, max(0, min(EMBED_DESCRIPTION_MAX, room)))
    return embed


def now_talks(view: NowView) -> list[Talk]:
    """The entries a "now" answer names, in the order shown (for opening their cards)."""
    talks: list[Talk] = []
    for item in view.running:
        talks.append(item.talk)
        talks.extend(item.children)
    talks.extend(i.talk for group in view.upcoming for i in group.items)
    return talks


def day_blocks(groups: Sequence[SessionGroup], zone: ZoneInfo) -> list[Block]:
    """The whole program: each entry, and a poster session's posters beneath it."""
    blocks: list[Block] = []
    for group in groups:
        blocks.append(
            Block(entry_block(group.entry, zone, posters=len(group.children)), group.entry)
        )
        resume = f"↳ *{group.entry.kind_label} at {venue_time(group.entry.start, zone)}, continued*"
        blocks.extend(Block(poster_line(p), p, resume) for p in group.children)
    return blocks


def search_block(hit: SearchHit, zone: ZoneInfo) -> Block:
    """A search result: the entry, then why it matched (people named, or the abstract's words)."""
    note = ""
    if hit.field == "people" and hit.people:
        note = f"Matched: {md(people_text(hit.people, 120))}"
    elif hit.field == "abstract" and hit.snippet:
        note = f"> {md(trim(' '.join(hit.snippet.split()), 160))}"
    return Block(entry_block(hit.talk, zone, note=note), hit.talk)


def author_intro(
    person: PersonMatch,
    workshop: Workshop,
    entries: int,
    others: Sequence[str] = (),
    member_id: int | None = None,
) -> str:
    """Who the person is for this workshop: organizer (with affiliation), speaker or author."""
    lines: list[str] = []
    name = md(trim(person.name, 200))
    if person.is_organizer:
        where = f" ({md(trim(person.affiliation, 200))})" if person.affiliation else ""
        lines.append(f"**{name}**{where} organizes {md(workshop.acronym)}.")
    if member_id is not None:
        lines.append(f"On this server: <@{member_id}>")
    if entries:
        lines.append(f"Speaker or author of {_count(entries, 'entry', 'entries')}:")
    elif not person.is_organizer:
        lines.append(f"**{name}** has no entry in the program.")
    if others:
        lines.append(f"Also matching: {md(people_text(others, 300))}")
    return "\n".join(lines)


# -- links: a talk's own, and each poster's under its session ------------------------------------

#: Characters never left raw in a link's target: they end ``<…>`` or ``(…)`` early, or are
#: not a URL's at all (a space, a quote, a control character).
_URL_UNSAFE = re.compile(r"[\s<>()\"`\\\x00-\x1f\x7f]")
#: The most of one link any listing shows: a longer target (a 1,500-character URL) is left
#: to the card, where it has room; in a listing it would crowd out everything else.
LINK_MAX = 400
#: The most links shown per entry in a listing (the card shows all of them).
LINKS_PER_ENTRY = 4
#: The longest poster line: any field holds one, with room for "… and N more" after it.
POSTER_LINE_MAX = 960


def safe_url(url: str) -> str | None:
    """``url`` fit for a markdown link target, or None if it is not a web address."""
    url = url.strip()
    if not url.lower().startswith(("https://", "http://")):
        return None
    url = _URL_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), url)
    return url.replace("@everyone", "%40everyone").replace("@here", "%40here")


def link_md(title: str, url: str, title_max: int = 40) -> str | None:
    """``[Title](<url>)``: a link that never unfurls, its text shown literally (no pings, no
    markdown, no bracket ending the text early); None if ``url`` is not a web address."""
    target = safe_url(url)
    if target is None:
        return None
    label = " ".join(title.split()).replace("[", "(").replace("]", ")") or "link"
    return f"[{md(defuse_mentions(trim(label, title_max)))}](<{target}>)"


def links_text(
    links: Sequence[tuple[str, str]],
    count: int = LINKS_PER_ENTRY,
    *,
    title_max: int = 40,
    link_max: int = LINK_MAX,
) -> str:
    """Up to ``count`` of ``links`` as ``[PDF](<…>) · [Poster](<…>)``, each at most
    ``link_max`` characters (a longer one is left out, never cut)."""
    shown: list[str] = []
    for title, url in links:
        if len(shown) >= count:
            break
        text = link_md(title, url, title_max)
        if text is not None and len(text) <= link_max:
            shown.append(text)
    return " · ".join(shown)


@dataclass(frozen=True, slots=True)
class PosterFit:
    """How much of each poster a list shows: its title up to ``title_max``, ``links`` links."""

    title_max: int
    links: int


#: From the most to the least of each poster: shorter titles first, then fewer links, so a
#: long session still lists every poster (each with its PDF as long as that fits).
POSTER_FITS = (
    PosterFit(200, LINKS_PER_ENTRY),
    PosterFit(120, LINKS_PER_ENTRY),
    PosterFit(80, LINKS_PER_ENTRY),
    PosterFit(60, LINKS_PER_ENTRY),
    PosterFit(60, 2),
    PosterFit(60, 1),
    PosterFit(40, 1),
    PosterFit(60, 0),
    PosterFit(40, 0),
    PosterFit(24, 0),
)


def poster_link_line(talk: Talk, fit: PosterFit, *, bullet: str = "•", bold: bool = True) -> str:
    """``• **Title** — [PDF](<…>) · [Poster](<…>)``: a poster and its links on one line, short
    enough for any field (links that would not fit are left out, never cut)."""
    title = md(defuse_mentions(trim(" ".join(talk.title.split()), fit.title_max)))
    line = f"{bullet} **{title}**" if bold else f"{bullet} {title}"
    return with_links(line, talk.links, limit=POSTER_LINE_MAX, count=fit.links)


def with_links(
    text: str,
    links: Sequence[tuple[str, str]],
    *,
    limit: int,
    count: int = LINKS_PER_ENTRY,
    lead: str = " — ",
) -> str:
    """``text — [PDF](<…>) · [Poster](<…>)``: as many of the first ``count`` links as keep
    it within ``limit`` characters (a link is left out whole, never cut)."""
    shown = 0
    for title, url in links:
        if shown >= count:
            break
        link = link_md(title, url)
        if link is None or len(link) > LINK_MAX:
            continue
        piece = (lead if shown == 0 else " · ") + link
        if len(text) + len(piece) > limit:
            break
        text += piece
        shown += 1
    return text


def poster_lines_within(
    posters: Sequence[Talk], budget: int, *, bullet: str = "◦", bold: bool = False
) -> list[str]:
    """Every poster, one line each, with as much title and as many links as ``budget``
    characters (lines joined by newlines) allow; only if even the shortest lines do not fit,
    as many as do and "… and N more"."""
    lines: list[str] = []
    for fit in POSTER_FITS:
        lines = [poster_link_line(p, fit, bullet=bullet, bold=bold) for p in posters]
        if sum(len(line) + 1 for line in lines) - 1 <= budget:
            return lines
    return lines_within(lines, budget).split("\n") if posters and budget > 40 else []


def poster_fields(
    posters: Sequence[Talk],
    *,
    budget: int,
    fields: int,
    more_hint: str = "",
    name: str = "",
) -> list[tuple[str, str]]:
    """A poster session's posters with their links, as embed fields (name, value): every
    poster, over at most ``fields`` fields of 1,024 characters, all of them (names included)
    within ``budget`` characters. Titles shorten, then links go, before any poster does; only
    when even titles alone overflow, as many as fit and "… and N more" (with ``more_hint``)."""
    first = trim(name or f"Posters ({len(posters)})", FIELD_NAME_MAX)
    more = "Posters (continued)"

    def named(lines: Sequence[str]) -> list[tuple[str, str]] | None:
        values = _pack(lines, FIELD_VALUE_MAX)
        out = [(first if i == 0 else more, value) for i, value in enumerate(values)]
        fits = len(out) <= fields and sum(len(n) + len(v) for n, v in out) <= budget
        return out if fits else None

    if not posters or fields < 1:
        return []
    lines: list[str] = []
    for fit in POSTER_FITS:
        lines = [poster_link_line(p, fit) for p in posters]
        done = named(lines)
        if done is not None:
            return done

    # The most posters that fit with "… and N more" after them (more lines never take less
    # room, so a bisection finds it; each line takes 10 characters or more).
    def cut(shown: int) -> list[tuple[str, str]] | None:
        return named([*lines[:shown], f"… and {len(lines) - shown} more{more_hint}"])

    low, high, best = 1, min(len(lines) - 1, budget // 10), None
    while low <= high:
        middle = (low + high) // 2
        done = cut(middle)
        if done is None:
            high = middle - 1
        else:
            low, best = middle + 1, done
    return best or []


def _pack(lines: Sequence[str], limit: int) -> list[str]:
    """Whole lines into as few values of at most ``limit`` characters as they fill, in order."""
    values: list[str] = []
    for line in lines:
        line = trim(line, limit)
        if values and len(values[-1]) + 1 + len(line) <= limit:
            values[-1] += "\n" + line
        else:
            values.append(line)
    return values
