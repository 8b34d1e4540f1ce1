"""iCalendar (RFC 5545) files of the program and of a person's agenda, and agenda overlaps."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot import __version__
from bot.program.model import slugify
from bot.services.program import ProgramSnapshot, Talk, Workshop

if TYPE_CHECKING:
    from icalendar import Calendar, Event

PRODID = f"-//workshop-bot//workshop-bot {__version__}//EN"
#: Calendar apps show long descriptions badly; the abstract is cut (with a mark) after this.
DESCRIPTION_MAX = 4000


def event_uid(entry_id: str, workshop: Workshop) -> str:
    """Stable across exports, so importing a newer file updates events instead of adding them."""
    return f"{entry_id}@{slugify(workshop.acronym)}.workshop-bot"


def _description(talk: Talk, posters: Sequence[Talk]) -> str:
    parts: list[str] = []
    if talk.people:
        parts.append(", ".join(talk.people))
    if talk.abstract:
        parts.append(talk.abstract)
    if posters:
        parts.append("Posters:\n" + "\n".join(f"- {p.title}" for p in posters))
    text = "\n\n".join(parts)
    if len(text) > DESCRIPTION_MAX:
        text = text[: DESCRIPTION_MAX - 1].rstrip() + "…"
    return text


def _event(talk: Talk, workshop: Workshop, now: datetime, posters: Sequence[Talk]) -> Event:
    # Imported here: the library costs the bot's process megabytes it rarely needs.
    from icalendar import Event

    event = Event()
    event.add("uid", event_uid(talk.id, workshop))
    event.add("dtstamp", now.astimezone(UTC))
    # UTC instants (DTSTART:...Z): no VTIMEZONE needed, and every client agrees on them.
    event.add("dtstart", talk.start.astimezone(UTC))
    event.add("dtend", talk.end.astimezone(UTC))
    event.add("summary", f"{talk.kind_label}: {talk.title}" if talk.kind != "talk" else talk.title)
    description = _description(talk, posters)
    if description:
        event.add("description", description)
    location = talk.room or workshop.venue
    if location:
        event.add("location", location)
    url = talk.links[0][1] if talk.links else (workshop.links[0][1] if workshop.links else None)
    if url:
        event.add("url", url)
    event.add("categories", [talk.kind_label])
    if talk.cancelled:
        # Kept (not dropped) so a re-import marks the event cancelled in the reader's calendar.
        event.add("status", "CANCELLED")
    else:
        event.add("status", "CONFIRMED")
    return event


def _calendar(workshop: Workshop, name: str) -> Calendar:
    from icalendar import Calendar

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", workshop.zone.key)
    return cal


def talks_ics(
    talks: Iterable[Talk],
    workshop: Workshop,
    *,
    now: datetime,
    name: str,
    children: dict[str, list[Talk]] | None = None,
) -> bytes:
    """A calendar of ``talks`` (CRLF line endings, folded lines, as RFC 5545 wants)."""
    cal = _calendar(workshop, name)
    for talk in talks:
        cal.add_component(_event(talk, workshop, now, (children or {}).get(talk.id, [])))
    return cal.to_ical()


def program_ics(snapshot: ProgramSnapshot, *, now: datetime) -> bytes:
    """The whole program: top-level entries, posters listed in their session's description.

    Cancelled entries are included as STATUS:CANCELLED so a re-import removes them from view.
    ``now`` is the DTSTAMP (pass the bot's clock).
    """
    children: dict[str, list[Talk]] = {}
    for talk in snapshot.talks:
        if talk.session_id is not None:
            children.setdefault(talk.session_id, []).append(talk)
    top = [t for t in snapshot.by_id.values() if t.session_id is None]
    top.sort(key=lambda t: (t.start, t.end, t.title))
    workshop = snapshot.workshop
    return talks_ics(top, workshop, now=now, name=workshop.name, children=children)


def agenda_ics(talks: Sequence[Talk], workshop: Workshop, *, now: datetime) -> bytes:
    """One person's agenda (the talks they asked to be reminded of)."""
    return talks_ics(talks, workshop, now=now, name=f"{workshop.acronym}: my agenda")


def overlaps(talks: Sequence[Talk]) -> dict[str, list[Talk]]:
    """For each talk (by id), the other talks whose time overlaps it (touching ends do not)."""
    ordered = sorted(talks, key=lambda t: (t.start, t.end))
    found: dict[str, list[Talk]] = {}
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            if second.start >= first.end:
                break
            if first.id == second.session_id or second.id == first.session_id:
                continue  # a poster inside its own session is no clash
            found.setdefault(first.id, []).append(second)
            found.setdefault(second.id, []).append(first)
    return found
