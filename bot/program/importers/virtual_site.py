"""Importer for a conference virtual-site workshop page (ICML/NeurIPS "virtual" site, as text).

The organizer selects the whole workshop page in a browser and pastes it into a file. That text
has no dates or zone names, only lines like ``Sat 5:45 a.m. - 6:00 a.m.`` in whatever zone the
browser showed, so the day and the zone come from :class:`ImportOptions`. Everything from
"More from the Same Authors" on lists other events of the organizers and is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from bot.errors import ProgramError
from bot.program.importers import ImportOptions
from bot.program.importers.kinds import parse_kind_map
from bot.program.importers.report import ImportReport, prepare_text
from bot.program.model import Entry, Link, Person, Program, Workshop, slugify, sort_entries

#: The options that turn the HAET 2022 page (tests/fixtures/haet2022_virtual_site.txt) into the
#: shipped data/haet2022.yaml; the tests and the CLI documentation use these same values.
HAET_OPTIONS = ImportOptions(
    date=date(2022, 7, 23),
    tz="America/Los_Angeles",
    venue_tz="America/New_York",
    name="Hardware-Aware Efficient Training",
    acronym="HAET 2022",
    venue="ICML 2022, Baltimore, Maryland, USA",
    links=(Link(title="Workshop page", url="https://icml.cc/virtual/2022/workshop/13457"),),
)


def haet_options() -> ImportOptions:
    """The import options of the shipped HAET 2022 program (see ``HAET_OPTIONS``)."""
    return HAET_OPTIONS


AUTHOR_INFORMATION = "Author Information"
MORE_FROM_AUTHORS = "More from the Same Authors"

LABEL_KINDS: dict[str, str] = {
    "intro": "opening",
    "opening": "opening",
    "opening remarks": "opening",
    "keynote": "keynote",
    "talk": "talk",
    "invited talk": "talk",
    "contributed talk": "talk",
    "oral": "talk",
    "spotlight": "talk",
    "poster": "poster",
    "poster session": "poster_session",
    "presentation": "presentation",
    "discussion panel": "panel",
    "panel": "panel",
    "panel discussion": "panel",
    "break": "break",
    "coffee break": "break",
    "closing message": "closing",
    "closing remarks": "closing",
    "closing": "closing",
}

_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_DAY_NAMES = (
    "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
    "|Mon|Tues|Tue|Wed|Thurs|Thur|Thu|Fri|Sat|Sun"
)
# Deliberately loose: anything that starts like a time line is one, so that a garbled time
# is reported instead of being read as part of the previous entry's abstract.
_TIME_LINE = re.compile(rf"^(?P<day>{_DAY_NAMES})\.?\s+(?P<rest>(?:[0-9]|noon|midnight).*)$")
_CLOCK = re.compile(
    r"^(?:(?P<h>[0-9]{1,2})(?::(?P<m>[0-9]{2}))?\s*(?P<ap>[ap])\.?\s*m\.?|(?P<word>noon|midnight))$",
    re.IGNORECASE,
)
_RANGE_DASH = re.compile(r"\s*[-–—]\s*")
# Link rows such as "SlidesLive Video » |", the bare "🔗 |" row and the "|" cell separators.
_DECORATION = re.compile(r"^(?:\||-|🔗\ufe0f?\s*\|?|[^\s·|»][^·|»]{0,39}»\s*\|?)$")
_ONE_LINE_LABEL = re.compile(r"^\(([^()]{1,40})\)$")
_BREAK_TITLE = re.compile(r"\b(?:lunch|coffee|break|breakfast|dinner)\b", re.IGNORECASE)
_GENERIC_SPEAKER = {"keynote", "keynote talk", "invited talk", "talk", "speaker", "tba", "tbd"}


@dataclass
class _Raw:
    """One schedule entry as read from the page, before ids and sessions are assigned."""

    line: int
    start: datetime
    end: datetime | None
    title: str
    kind: str
    people: tuple[str, ...]
    abstract: str
    speaker: str | None = None
    label: str | None = None


def parse(
    text: str, source: str, options: ImportOptions, report: ImportReport | None = None
) -> Program:
    """Parse a copied virtual-site workshop page into a validated Program.

    Raises only ProgramError, which names the line of the page where it went wrong.
    """
    report = report if report is not None else ImportReport(source)
    text = prepare_text(text, source, report)
    lines = [line.rstrip("\r") for line in text.split("\n")]
    name, acronym, day, shown_zone, venue_zone = _check_options(options, source, lines)

    stop = _find(lines, MORE_FROM_AUTHORS, 0, len(lines))
    stop = len(lines) if stop is None else stop
    info = _find(lines, AUTHOR_INFORMATION, 0, stop)
    schedule_end = stop if info is None else info
    starts = [i for i in range(schedule_end) if _TIME_LINE.match(lines[i].strip())]
    if not starts:
        raise ProgramError(
            "no schedule entries found: expected lines like 'Sat 5:45 a.m. - 6:00 a.m.' "
            "(copy the whole workshop page from the virtual site)",
            source=source,
            line=1,
        )
    if info is None:
        last = _last_nonblank(lines, stop)
        raise ProgramError(
            f"the page ends at line {last} without its '{AUTHOR_INFORMATION}' section; "
            "it looks cut off (copy the whole workshop page)",
            source=source,
            line=last,
        )

    description, description_line = _description(lines, starts[0])
    raws = [
        _parse_block(lines, begin, end, source, day, shown_zone, venue_zone)
        for begin, end in zip(starts, [*starts[1:], info], strict=True)
    ]
    organizers = _parse_organizers(lines, info + 1, stop, source)
    if stop == len(lines):
        # The page always ends with "More from the Same Authors"; without it, the organizer
        # list that comes before it may be cut short.
        last = _last_nonblank(lines, stop)
        if not organizers:
            raise ProgramError(
                f"the page ends at line {last} inside its '{AUTHOR_INFORMATION}' section, "
                "with no organizers; it looks cut off (copy the whole workshop page)",
                source=source,
                line=last,
            )
        report.changed(
            f"the page ends without '{MORE_FROM_AUTHORS}': if it was cut off, the organizer "
            "list may be incomplete",
            where=last,
        )
    kind_map = parse_kind_map(options.kind_map, source)
    if kind_map:
        raws = [_mapped_kind(raw, kind_map) for raw in raws]
    entries = _build_entries(raws, source)
    report.kept = len(entries)

    try:
        workshop = Workshop(
            name=name,
            acronym=acronym,
            venue=options.venue or "",
            timezone=venue_zone.key,
            date=day,
            description=description,
            links=tuple(options.links),
            organizers=organizers,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        where = str(err["loc"][0]) if err["loc"] else "workshop"
        line = description_line if where == "description" else None
        raise ProgramError(
            f"workshop {where}: {_message(err)}", source=source, line=line, field=where
        ) from None
    try:
        return Program(workshop=workshop, entries=tuple(sort_entries(entries)))
    except ValidationError as exc:
        raise ProgramError(_message(exc.errors()[0]), source=source, line=1) from None


def _mapped_kind(raw: _Raw, kind_map: dict[str, str]) -> _Raw:
    """The entry with the organizer's ``--kind-map`` applied to its page label."""
    key = " ".join((raw.label or "").casefold().split())
    if key in kind_map:
        raw.kind = kind_map[key]
    return raw


def _check_options(
    options: ImportOptions, source: str, lines: list[str]
) -> tuple[str, str, date, ZoneInfo, ZoneInfo]:
    # The zone options belong to the page's "Timezone:" line, so their errors point there.
    zone_line = next((i + 1 for i, s in enumerate(lines) if s.startswith("Timezone:")), 1)
    if options.date is None:
        raise ProgramError(
            "the page shows only weekdays: give the workshop day with --date YYYY-MM-DD",
            source=source,
            line=zone_line,
        )
    if not options.tz:
        raise ProgramError(
            "the page's times are in the zone your browser showed: give it with --tz "
            "(an IANA name such as America/Los_Angeles)",
            source=source,
            line=zone_line,
        )
    shown_zone = _zone(options.tz, "--tz", source, zone_line)
    venue_zone = (
        _zone(options.venue_tz, "--venue-tz", source, zone_line) if options.venue_tz else shown_zone
    )
    if not options.name:
        raise ProgramError(
            "the page does not say the workshop's name: give it with --name", source=source
        )
    if not options.acronym:
        raise ProgramError(
            "the page does not say the workshop's acronym: give it with --acronym", source=source
        )
    day = options.date.date() if isinstance(options.date, datetime) else options.date
    return options.name, options.acronym, day, shown_zone, venue_zone


def _zone(name: str, option: str, source: str, line: int) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ProgramError(
            f"unknown timezone {name!r} given with {option} (use an IANA name such as "
            "America/New_York)",
            source=source,
            line=line,
        ) from None


def _find(lines: list[str], marker: str, begin: int, end: int) -> int | None:
    return next((i for i in range(begin, end) if lines[i].strip() == marker), None)


def _last_nonblank(lines: list[str], end: int) -> int:
    return next((i + 1 for i in range(end - 1, -1, -1) if lines[i].strip()), 1)


def _description(lines: list[str], first_entry: int) -> tuple[str, int | None]:
    paragraphs: list[str] = []
    first_line: int | None = None
    for i in range(first_entry):
        text = lines[i].strip()
        if not text or text.startswith("Timezone:") or _DECORATION.match(text):
            continue
        if first_line is None:
            first_line = i + 1
        paragraphs.append(text)
    return "\n\n".join(paragraphs), first_line


def _parse_block(
    lines: list[str],
    begin: int,
    end: int,
    source: str,
    day: date,
    shown_zone: ZoneInfo,
    venue_zone: ZoneInfo,
) -> _Raw:
    """One entry: lines[begin] is its time line, lines[begin + 1:end] the rest of it."""
    line_no = begin + 1
    start, stop = _parse_time_line(lines[begin].strip(), line_no, source, day)

    i = begin + 1
    while i < end and (not lines[i].strip() or lines[i].strip() == "|"):
        i += 1
    title = _strip_trailer(lines[i])[0] if i < end else ""
    if not title or title in ("(", ")") or _DECORATION.match(title):
        raise ProgramError(
            f"the entry at '{lines[begin].strip()}' has no title (expected it after the '|' line)",
            source=source,
            line=line_no,
        )
    i += 1

    label: str | None = None
    while i < end and not lines[i].strip():
        i += 1
    if i < end and (lines[i].strip() == "(" or _ONE_LINE_LABEL.match(lines[i].strip())):
        label, i = _parse_label(lines, i, end, source)

    content: list[tuple[int, str, bool]] = []
    for j in range(i, end):
        raw = lines[j].strip()
        if not raw or _DECORATION.match(raw):
            continue
        if raw in ("(", ")"):
            raise ProgramError(
                f"unexpected {raw[:20]!r} inside the entry '{title[:60]}'; is the time line "
                "of the next entry missing?",
                source=source,
                line=j + 1,
            )
        text, linked = _strip_trailer(raw)
        if text:
            content.append((j + 1, text, linked))
    abstract, people = _split_content(content)

    kind = _kind(label, title)
    speaker = None
    if kind == "keynote":
        speaker, title = _split_speaker(title)
        if speaker is not None:
            people = (speaker, *(p for p in people if p != speaker))

    start_at = _instant(day, start, shown_zone)
    end_at: datetime | None = None
    if stop is not None:
        end_at = _instant(day, stop, shown_zone)
        if end_at < start_at:
            # An entry running past midnight shows the next day's clock time as its end.
            end_at = _instant(day + timedelta(days=1), stop, shown_zone)
    return _Raw(
        line=line_no,
        start=start_at.astimezone(venue_zone),
        end=None if end_at is None else end_at.astimezone(venue_zone),
        title=title,
        kind=kind,
        people=people,
        abstract=abstract,
        speaker=speaker,
        label=label,
    )


def _parse_time_line(text: str, line: int, source: str, day: date) -> tuple[time, time | None]:
    match = _TIME_LINE.match(text)
    if match is None:  # pragma: no cover - callers only pass lines that matched
        raise ProgramError(f"not a time line: {text!r}", source=source, line=line)
    day_text = match["day"]
    weekday = _WEEKDAYS[day_text[:3].lower()]
    if weekday != day.weekday():
        raise ProgramError(
            f"'{text}' is on a {day_text}, but --date {day.isoformat()} is a {day.strftime('%A')}",
            source=source,
            line=line,
        )
    parts = _RANGE_DASH.split(match["rest"].strip(), maxsplit=1)
    start = _clock(parts[0], text, line, source)
    stop = _clock(parts[1], text, line, source) if len(parts) > 1 and parts[1] else None
    return start, stop


def _clock(part: str, text: str, line: int, source: str) -> time:
    match = _CLOCK.match(part.strip())
    problem = f"'{part.strip()}' in '{text}' is not a time like '5:45 a.m.'"
    if match is None:
        raise ProgramError(problem, source=source, line=line)
    if match["word"]:
        return time(12) if match["word"].lower() == "noon" else time(0)
    hour, minute = int(match["h"]), int(match["m"] or 0)
    if not 1 <= hour <= 12 or minute > 59:
        raise ProgramError(problem, source=source, line=line)
    hour %= 12
    if match["ap"].lower() == "p":
        hour += 12
    return time(hour, minute)


def _instant(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)


def _parse_label(lines: list[str], i: int, end: int, source: str) -> tuple[str, int]:
    """The kind label "(" / label / ")" (or "(label)") at lines[i]; returns it and the next index."""
    one_line = _ONE_LINE_LABEL.match(lines[i].strip())
    if one_line is not None:
        label, after = one_line[1].strip(), i + 1
        closing = ")"
    else:
        label = lines[i + 1].strip() if i + 1 < end else ""
        closing = lines[i + 2].strip() if i + 2 < end else ""
        after = i + 3
    if not label or label in ("(", ")") or closing != ")":
        raise ProgramError(
            "the kind label opened with '(' here is not a label line followed by ')'",
            source=source,
            line=i + 1,
        )
    return label, after


def _strip_trailer(text: str) -> tuple[str, bool]:
    """The text without the page's trailing " |" / " 🔗" cell decorations, and whether it had 🔗."""
    text = text.strip()
    linked = False
    while True:
        if text.endswith("\ufe0f"):
            text = text[:-1]
        elif text.endswith("🔗"):
            text = text[:-1].rstrip()
            linked = True
        elif text == "|" or (text.endswith("|") and text[-2] in " \t🔗"):
            text = text[:-1].rstrip()
        else:
            return text, linked


def _split_content(content: list[tuple[int, str, bool]]) -> tuple[str, tuple[str, ...]]:
    """Abstract paragraphs and the author row among an entry's remaining lines."""
    if not content:
        return "", ()
    authors_at: int | None = None
    linked = [k for k, (_, _, has_link) in enumerate(content) if has_link]
    if linked:
        # The 🔗 closes the author row; a few rows on the page lack it (see below).
        authors_at = linked[-1]
    else:
        last = content[-1][1]
        if " · " in last or (len(content) > 1 and _looks_like_names(last)):
            authors_at = len(content) - 1
    people: tuple[str, ...] = ()
    if authors_at is not None:
        names = re.split(r"\s*·\s*", content[authors_at][1])
        people = tuple(n.strip() for n in names if n.strip())
    abstract = "\n\n".join(text for k, (_, text, _) in enumerate(content) if k != authors_at)
    return abstract, people


def _looks_like_names(text: str) -> bool:
    return len(text) <= 120 and len(text.split()) <= 8 and not text.endswith((".", "!", "?", ":"))


def _kind(label: str | None, title: str) -> str:
    if label is None:
        return "break" if _BREAK_TITLE.search(title) else "other"
    key = " ".join(label.lower().split())
    if key in LABEL_KINDS:
        return LABEL_KINDS[key]
    slug = slugify(label, 40).replace("-", "_")
    if not slug[0].isalpha():
        slug = ("kind_" + slug)[:40].rstrip("_")
    return slug


def _split_speaker(title: str) -> tuple[str | None, str]:
    """ "Name: Title" of a keynote into the speaker and the talk's title, when it looks so."""
    name, sep, rest = title.partition(": ")
    name, rest = name.strip(), rest.strip()
    words = name.split()
    if (
        not sep
        or not rest
        or not 1 <= len(words) <= 6
        or len(name) > 80
        or any(ch.isdigit() for ch in name)
        or not name[0].isupper()
        or name.lower() in _GENERIC_SPEAKER
    ):
        return None, title
    return name, rest


def _base_id(raw: _Raw) -> str:
    if raw.kind == "opening":
        return "opening"
    if raw.kind == "keynote":
        return "keynote-" + slugify(raw.speaker or raw.title, 50)
    if raw.kind == "poster":
        return "poster-" + slugify(raw.title, 50)
    if raw.kind == "poster_session":
        # "Poster session I: open discussion ..." -> poster-session-i
        base = slugify(raw.title.partition(":")[0], 50)
        return base if base.startswith("poster-session") else "poster-session-" + base
    return slugify(raw.title, 50)


def _build_entries(raws: list[_Raw], source: str) -> list[Entry]:
    ids: list[str] = []
    taken: set[str] = set()
    for raw in raws:
        base = _base_id(raw)
        entry_id, n = base, 1
        while entry_id in taken:
            n += 1
            entry_id = f"{base}-{n}"
        taken.add(entry_id)
        ids.append(entry_id)

    # The first session in page order wins when two start together, so the result is stable.
    sessions: dict[datetime, tuple[datetime, str]] = {}
    for raw, entry_id in zip(raws, ids, strict=True):
        if raw.end is not None and (raw.kind == "poster_session" or raw.kind.endswith("_session")):
            sessions.setdefault(raw.start, (raw.end, entry_id))

    entries: list[Entry] = []
    for raw, entry_id in zip(raws, ids, strict=True):
        session: str | None = None
        if raw.end is not None:
            end = raw.end
        elif raw.start in sessions:
            end, session = sessions[raw.start]
        else:
            raise ProgramError(
                f"'{raw.title[:60]}' has only a start time, and no poster session starts "
                "at that time to take its end from",
                source=source,
                line=raw.line,
            )
        try:
            entries.append(
                Entry(
                    id=entry_id,
                    kind=raw.kind,
                    title=raw.title,
                    people=raw.people,
                    abstract=raw.abstract,
                    start=raw.start,
                    end=end,
                    session=session,
                )
            )
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(part) for part in err["loc"]) or "entry"
            raise ProgramError(
                f"entry '{raw.title[:60]}': {where}: {_message(err)}",
                source=source,
                line=raw.line,
            ) from None
    return entries


def _parse_organizers(lines: list[str], begin: int, end: int, source: str) -> tuple[Person, ...]:
    """ "Name (Affiliation)" lines; longer lines are organizer bios, which are not kept."""
    people: list[Person] = []
    for i in range(begin, end):
        text = lines[i].strip()
        if not text or _DECORATION.match(text):
            continue
        name, affiliation = text, None
        if text.endswith(")"):
            opening = _matching_paren(text)
            if opening is not None:
                name, affiliation = text[:opening].strip(), text[opening + 1 : -1].strip()
        if not name or not _looks_like_names(name):
            continue
        try:
            people.append(Person(name=name, affiliation=affiliation or None))
        except ValidationError as exc:
            raise ProgramError(
                f"organizer '{name[:60]}': {_message(exc.errors()[0])}",
                source=source,
                line=i + 1,
            ) from None
    return tuple(people)


def _matching_paren(text: str) -> int | None:
    """Index of the "(" that the final ")" of ``text`` closes."""
    depth = 0
    for k in range(len(text) - 1, -1, -1):
        if text[k] == ")":
            depth += 1
        elif text[k] == "(":
            depth -= 1
            if depth == 0:
                return k
    return None


def _message(err: object) -> str:
    msg = str(err.get("msg", "invalid value")) if isinstance(err, dict) else "invalid value"
    return msg.removeprefix("Value error, ")
