"""A workshop website's markdown pages (GitHub Pages / Jekyll): papers, speakers, schedule.

One page at a time, holding any mix of what such sites publish:

* **papers**: a line that is a bold title (``**Title**``, optionally as a list item), then the
  authors (``<br />A; B; C<br />``, or after the title on its line; ``;`` or ``,`` between
  names), an ``<abstract>…</abstract>`` or ``Abstract: …``, and links such as
  ``[PDF](https://…) &bull; [Poster](https://…)``;
* **speakers**: a ``## Name`` section (or ``###``) with a bold talk title, its abstract, and
  labelled values such as ``| **Affiliation** | [NVIDIA](https://…) |`` and
  ``**Biography:** …``, in table cells or plain lines; a section without a talk title, an
  affiliation or a biography is not a speaker (``## Aim of the Workshop``);
* **a schedule table**: rows whose first cell is a time range (``9:00 9:30``, ``9:00-9:30``,
  ``9:00 am – 9:30 am``) and whose second cell is the event (``Keynote 1: [Name](/speakers#x).
  <br /> **Title: …**``).

Papers and talks the page gives no time are placed in the page's only poster session when it
has exactly one, else over the workshop day (the schedule's span, or the whole ``--date``);
the report says so. Such a page is mostly a second source for ``workshop-bot enrich``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from bot.errors import ProgramError
from bot.program.importers import ImportOptions
from bot.program.importers.kinds import session_kind
from bot.program.importers.report import IdKey, ImportReport, assign_ids, prepare_text
from bot.program.model import Entry, Link, Person, Program, Workshop, sort_entries

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_TITLE_LINE = re.compile(r"^\s*(?:[-*+]\s+|\d+[.)]\s+)?\*\*(?P<title>[^*]+?)\*\*(?P<rest>.*)$")
_LINK = re.compile(r"\[(?P<text>(?:[^\[\]]|\[[^\]]*\])*)\]\((?P<url>[^)\s]*)(?:\s+\"[^\"]*\")?\)")
_TAG = re.compile(r"<[^>]+>")
_BR = re.compile(r"<br\s*/?>", re.I)
_ABSTRACT_OPEN = re.compile(r"<abstract>", re.I)
_ABSTRACT_CLOSE = re.compile(r"</abstract>", re.I)
_LABEL = re.compile(r"^\*\*(?P<label>[^*]{1,40}?)\s*:?\s*\*\*\s*:?\s*(?P<value>.*)$")
_PLAIN_LABEL = re.compile(r"^(?P<label>Abstract|Summary)\s*:\s*(?P<value>.*)$", re.I)
_TABLE_RULE = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$")
_TIME_RANGE = re.compile(
    r"^(?P<h1>\d{1,2})[:.h](?P<m1>\d{2})\s*(?P<p1>[ap]\.?m\.?)?\s*(?:-|–|—|to)?\s*"
    r"(?P<h2>\d{1,2})[:.h](?P<m2>\d{2})\s*(?P<p2>[ap]\.?m\.?)?$",
    re.I,
)
_DATE_IN_TEXT = re.compile(
    r"(?P<month>January|February|March|April|May|June|July|August|September|October|"
    r"November|December)\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})"
)
_MONTHS = (
    "january february march april may june july august september october november december"
).split()

UNTIMED = "papers and talks the page gives no time: placed over the workshop day"

#: Labels of speaker values, folded, and the field each fills.
LABELS = {
    "affiliation": "affiliation",
    "affiliations": "affiliation",
    "institution": "affiliation",
    "organization": "affiliation",
    "organisation": "affiliation",
    "bio": "bio",
    "biography": "bio",
    "about": "bio",
    "abstract": "abstract",
    "summary": "abstract",
    "title": "title",
    "talk": "title",
    "talk title": "title",
}


@dataclass
class _Item:
    """A paper, talk or schedule row as the page gives it."""

    title: str
    line: int
    kind: str
    people: list[str] = field(default_factory=list)
    abstract: str = ""
    links: list[Link] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None


def parse(
    text: str, source: str, options: ImportOptions, report: ImportReport | None = None
) -> Program:
    """Parse one workshop-website markdown page into a validated Program.

    Raises only ProgramError, naming the line of the page where it went wrong.
    """
    report = report if report is not None else ImportReport(source)
    text = prepare_text(text, source, report)
    lines = text.split("\n")
    zone = _zone(options, source)
    rows = _schedule(lines, source, options, zone, report)
    talks, people, speaker_lines = _speakers(lines, report)
    papers = _papers(lines, speaker_lines, report)
    items = rows + papers + talks
    if not items and not people:
        raise ProgramError(
            "no papers, speakers or schedule found: expected '**Title**' lines with authors "
            "and links, '## Name' sections with a talk title, affiliation or biography, or a "
            "table of times",
            source=source,
            line=1,
        )
    day = _day(options, lines, rows, source)
    _place_untimed(items, rows, day, zone, report)
    entries = _entries(items, source)
    report.kept = len(entries)
    name = options.name or _page_title(lines) or "Workshop website"
    try:
        workshop = Workshop(
            name=name,
            acronym=options.acronym or name[:40],
            venue=options.venue or "",
            timezone=(options.venue_tz or zone.key),
            date=day,
            links=tuple(options.links),
        )
        return Program(workshop=workshop, entries=tuple(sort_entries(entries)), people=people)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(part) for part in err["loc"])
        raise ProgramError(
            f"{where}: {err['msg'].removeprefix('Value error, ')}", source=source, line=1
        ) from None


def _zone(options: ImportOptions, source: str) -> ZoneInfo:
    name = options.tz or options.venue_tz or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ProgramError(f"unknown timezone {name!r} (use an IANA name)", source=source) from None


def _day(options: ImportOptions, lines: list[str], rows: list[_Item], source: str) -> date:
    if options.date is not None:
        return options.date
    for number, line in enumerate(lines, 1):
        found = _DATE_IN_TEXT.search(line)
        if found:
            try:
                return date(
                    int(found["year"]), _MONTHS.index(found["month"].lower()) + 1, int(found["day"])
                )
            except ValueError:
                raise ProgramError(
                    f"{found.group()!r} is not a date", source=source, line=number
                ) from None
    raise ProgramError(
        "the page does not say the workshop's date: give --date YYYY-MM-DD", source=source
    )


def _page_title(lines: list[str]) -> str | None:
    for line in lines:
        if line.startswith("title:"):
            return line.partition(":")[2].strip().strip("\"'") or None
    return None


# -- text ----------------------------------------------------------------------------------------


def plain(text: str) -> str:
    """Markdown and HTML as the reader sees it: link texts, no tags, no emphasis, one space."""
    text = _BR.sub(" ", text)
    text = _LINK.sub(lambda m: m["text"], text)
    text = _TAG.sub("", text)
    text = re.sub(r"(\*\*|__|(?<!\w)[*_]|[*_](?!\w))", "", text)
    return " ".join(html.unescape(text).split())


def _names(text: str) -> list[str]:
    """Authors separated by ``;`` (or, without one, by ``,``, ``and``, ``&``)."""
    text = plain(text).strip(" .")
    if not text:
        return []
    parts = text.split(";") if ";" in text else re.split(r",|\s+and\s+|\s+&\s+", text)
    return [" ".join(p.split()).strip(" .") for p in parts if p.strip(" .")]


def _links(text: str, line: int, report: ImportReport) -> list[Link]:
    links = []
    for found in _LINK.finditer(text):
        title, url = plain(found["text"]).strip("[] "), found["url"].strip()
        if not url:
            continue
        if not re.match(r"^https?://\S+$", url) or not title:
            report.dropped("links that are not web addresses (relative or empty)", url, line)
            continue
        links.append(Link(title=title[:200], url=url))
    return links


# -- papers --------------------------------------------------------------------------------------


def _papers(lines: list[str], speaker_lines: list[range], report: ImportReport) -> list[_Item]:
    starts = []
    for index, line in enumerate(lines):
        found = _TITLE_LINE.match(line)
        if (
            found
            and not _is_label(found["title"])
            and not line.lstrip().startswith("|")
            and not any(index in r for r in speaker_lines)
        ):
            starts.append(index)
    papers = []
    for begin, end in zip(starts, [*starts[1:], len(lines)][: len(starts)], strict=True):
        # A heading ends the paper before it.
        stop = next((i for i in range(begin + 1, end) if _HEADING.match(lines[i])), end)
        paper = _paper(lines, begin, stop, report)
        if paper is not None:
            papers.append(paper)
    return papers


def _is_label(title: str) -> bool:
    return title.rstrip().endswith(":") or title.strip().lower().rstrip(":") in LABELS


def _paper(lines: list[str], begin: int, end: int, report: ImportReport) -> _Item | None:
    found = _TITLE_LINE.match(lines[begin])
    assert found is not None
    title = plain(found["title"])
    authors: list[str] = [found["rest"]]
    abstract: list[str] = []
    links: list[Link] = []
    in_abstract = False
    for index in range(begin + 1, end):
        line = lines[index]
        if not in_abstract and _ABSTRACT_OPEN.search(line):
            line = _ABSTRACT_OPEN.split(line, 1)[1]
            in_abstract = True
        if in_abstract:
            closed = _ABSTRACT_CLOSE.search(line)
            abstract.append(line[: closed.start()] if closed else line)
            in_abstract = closed is None
            if closed:
                links += _links(line[closed.end() :], index + 1, report)
            continue
        label = _LABEL.match(line.strip()) or _PLAIN_LABEL.match(line.strip())
        if label and plain(label["label"]).rstrip(":").lower() in ("abstract", "summary"):
            abstract.append(label["value"])
            continue
        if _LINK.search(line) and not plain(_LINK.sub("", line)).strip(" •|·-–,/[]"):
            links += _links(line, index + 1, report)  # a line of links and separators only
            continue
        if line.strip() and not abstract and not links:
            authors.append(line)
    people = _names(" ".join(authors))
    text = plain(" ".join(abstract))
    if not people and not links and not text:
        report.dropped(
            "bold lines that are not papers (no authors, abstract or links)", title, begin + 1
        )
        return None
    return _Item(title, begin + 1, "poster", people, text, links)


# -- speakers ------------------------------------------------------------------------------------


def _speakers(
    lines: list[str], report: ImportReport
) -> tuple[list[_Item], tuple[Person, ...], list[range]]:
    """Talks and people of the ``## Name`` sections that are speakers, and their line ranges."""
    headings = [
        (index, len(found[1]), plain(found[2]))
        for index, line in enumerate(lines)
        if (found := _HEADING.match(line))
    ]
    talks: list[_Item] = []
    people: dict[str, Person] = {}
    ranges: list[range] = []
    for number, (begin, level, heading) in enumerate(headings):
        if level not in (2, 3) or heading.lower() in LABELS:
            continue
        end = next((i for i, lvl, _ in headings[number + 1 :] if lvl <= level), len(lines))
        values, explicit = _section_values(lines, begin + 1, end, report)
        if not explicit:
            continue  # "## Aim of the Workshop", "## Our Sponsors"
        ranges.append(range(begin, end))
        name, _, paren = heading.partition(" (")
        name = name.strip()
        if not values.get("affiliation") and paren.endswith(")"):
            values["affiliation"] = paren[:-1].strip()[:300]
        if not name or len(name) > 200:
            continue
        if name not in people:
            people[name] = Person(
                name=name,
                affiliation=values.get("affiliation") or None,
                bio=values.get("bio") or None,
            )
        if values.get("title"):
            talks.append(
                _Item(values["title"], begin + 1, "keynote", [name], values.get("abstract", ""))
            )
    return talks, tuple(people.values()), ranges


def _section_values(
    lines: list[str], begin: int, end: int, report: ImportReport
) -> tuple[dict[str, str], bool]:
    """The section's values by field, and whether it had a talk title or a labelled value."""
    values: dict[str, str] = {}
    explicit = False
    current: str | None = None  # the field a "### Biography" sub-heading names

    def put(key: str, value: str, append: bool = False) -> None:
        value = plain(value)
        if not value:
            return
        if append and key in values:
            value = values[key] + " " + value
        elif key in values:
            return
        values[key] = value[:300] if key == "affiliation" else value[:20000]

    for index in range(begin, end):
        line = lines[index].strip()
        if not line or _TABLE_RULE.match(line):
            continue
        heading = _HEADING.match(line)
        if heading:
            current = LABELS.get(plain(heading[2]).rstrip(":").lower())
            explicit = explicit or current is not None
            continue
        cells = [c.strip() for c in line.strip("|").split("|")] if line.startswith("|") else [line]
        cells = [c for c in cells if c and plain(c)]  # pictures are empty cells
        if not cells:
            continue
        bold = re.fullmatch(r"\*\*([^*]+)\*\*:?", cells[0])
        label = _LABEL.match(cells[0])
        if bold:
            key = LABELS.get(plain(bold[1]).rstrip(":").lower())
        else:
            key = LABELS.get(plain(label["label"]).rstrip(":").lower()) if label else None
        if key == "affiliation" and len(cells) >= 2:
            for found in _LINK.finditer(" ".join(cells[1:])):
                if found["url"].strip():
                    report.dropped(
                        "web addresses of affiliations (a person has no links)",
                        found["url"],
                        index + 1,
                    )
        if len(cells) >= 2 and bold:
            if key is None:
                report.dropped(
                    "speaker values with a label the program has no place for",
                    plain(cells[0]),
                    index + 1,
                )
                continue
            explicit = True
            put(key, " ".join(cells[1:]))
        elif bold and key is not None:
            current = key  # "**Abstract**" on a line of its own: what follows is one
            explicit = True
        elif bold:
            title = plain(bold[1])
            explicit = True
            put("title", title[6:].strip() if title.lower().startswith("title:") else title)
        elif label and key is not None:
            explicit = True
            put(key, label["value"])
        elif len(cells) == 1 and not re.match(r"^[-*+]\s+\[", line):
            put(current or ("abstract" if "title" in values else "bio"), cells[0], append=True)
    return values, explicit


# -- schedule ------------------------------------------------------------------------------------


def _schedule(
    lines: list[str], source: str, options: ImportOptions, zone: ZoneInfo, report: ImportReport
) -> list[_Item]:
    rows = []
    day: date | None = None
    for index, line in enumerate(lines):
        if not line.lstrip().startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2:
            continue
        found = _TIME_RANGE.match(plain(cells[0]))
        if not found:
            continue
        if day is None:
            day = _day(options, lines, [], source)
        start = _clock(found["h1"], found["m1"], found["p1"] or found["p2"], index + 1, source)
        end = _clock(found["h2"], found["m2"], found["p2"], index + 1, source)
        start_at = datetime.combine(day, start, zone)
        end_at = datetime.combine(day, end, zone)
        if end_at < start_at:
            end_at += timedelta(days=1)
        rows.append(_row(" | ".join(cells[1:]), index + 1, start_at, end_at, report))
    return rows


def _clock(hour: str, minute: str, half: str | None, line: int, source: str) -> time:
    h, m = int(hour), int(minute)
    if half:
        if not 1 <= h <= 12:
            raise ProgramError(f"{hour}:{minute} {half} is not a time", source=source, line=line)
        h = h % 12 + (12 if half.lower().startswith("p") else 0)
    if h > 23 or m > 59:
        raise ProgramError(f"{hour}:{minute} is not a time", source=source, line=line)
    return time(h, m)


def _row(cell: str, line: int, start: datetime, end: datetime, report: ImportReport) -> _Item:
    text = plain(cell)
    title_match = re.search(r"\*\*\s*Title:\s*(.+?)\s*\*\*", cell) or re.search(
        r"Title:\s*(.+)$", text
    )
    head = plain(cell[: title_match.start()] if title_match else cell)
    kind = session_kind(head.partition(":")[0]) or session_kind(head) or "other"
    people: list[str] = []
    if title_match:
        title = plain(title_match[1])
        speaker = head.partition(":")[2].strip(" .")
        if speaker:
            people = [speaker]
    else:
        title = text.strip() or "(untitled)"
    if kind == "poster" and re.search(r"poster\s+session", head, re.I):
        kind = "poster_session"
    return _Item(title, line, kind, people, "", [], start, end)


# -- entries -------------------------------------------------------------------------------------


def _place_untimed(
    items: list[_Item], rows: list[_Item], day: date, zone: ZoneInfo, report: ImportReport
) -> None:
    untimed = [item for item in items if item.start is None]
    if not untimed:
        return
    sessions = [row for row in rows if row.kind == "poster_session"]
    if rows:
        start = min(row.start for row in rows if row.start)
        end = max(row.end for row in rows if row.end)
    else:
        start = datetime.combine(day, time(0), zone)
        end = start + timedelta(days=1)
    for item in untimed:
        if item.kind == "poster" and len(sessions) == 1:
            item.start, item.end = sessions[0].start, sessions[0].end
            continue
        item.start, item.end = start, end
        report.note(
            UNTIMED,
            item.title,
            item.line,
        )


def _entries(items: list[_Item], source: str) -> list[Entry]:
    ids = assign_ids(
        "site-",
        [
            IdKey(f"{item.kind}-{item.title}", item.start or datetime.min, str(item.line))
            for item in items
        ],
    )
    sessions = [
        (item, entry_id)
        for item, entry_id in zip(items, ids, strict=True)
        if item.kind == "poster_session"
    ]
    entries = []
    for item, entry_id in zip(items, ids, strict=True):
        if entry_id is None or item.start is None or item.end is None:
            continue
        session = None
        if item.kind == "poster" and len(sessions) == 1:
            session = sessions[0][1]
        try:
            entries.append(
                Entry(
                    id=entry_id,
                    kind=item.kind,
                    title=item.title[:2000],
                    people=tuple(item.people),
                    abstract=item.abstract[:20000],
                    start=item.start,
                    end=item.end,
                    session=session,
                    links=tuple(item.links),
                )
            )
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ProgramError(
                err["msg"].removeprefix("Value error, "),
                source=source,
                line=item.line,
                field=".".join(str(p) for p in err["loc"]),
            ) from None
    return entries
