"""Importer for frab and pretalx ``schedule.json`` exports (the c3voc schedule format).

Each event's ``date`` (a full ISO date-time with its UTC offset) is trusted for the start;
the local ``start`` string and the day lists are not, because pretalx days run from 04:00
to 03:59 and list a talk at 01:00 under the previous day. Entry ids are ``frab-`` and what
identifies the event: its ``guid``, else its ``id`` (merged exports reuse numeric ids for
different events), plus the start when one event is listed at several times; never the order
of the file, so a re-import of an updated schedule keeps the ids the bot has already stored.
The subtitle follows the title, the description follows the abstract, links may be bare URL
strings; what is not kept is counted in the import report.

The published JSON schema (tests/fixtures/corpora/frab-schedule.schema.json) rejects real
exports (camp2019's acronym and slugs, rC3's pretalx ``answers``), so the structure is
checked here instead, naming the JSON path and line of whatever is wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import InitVar, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NoReturn
from urllib.parse import urljoin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from bot.errors import ProgramError
from bot.program.importers import ImportOptions
from bot.program.importers.kinds import KindMapper, parse_kind_map, session_kind
from bot.program.importers.report import (
    IdKey,
    ImportReport,
    Where,
    assign_ids,
    clean_value,
    last_day,
    prepare_text,
)
from bot.program.model import (
    Entry,
    Program,
    ProgramConsistencyError,
    Workshop,
    slugify,
    sort_entries,
)

#: Keys and indexes from the document root to a value.
JsonPath = tuple[str | int, ...]

_DATETIME_SHAPE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$"
)
_DURATION_SHAPE = re.compile(r"^(\d{1,3}):([0-5]\d)(?::([0-5]\d))?$")
_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_WEB_URL = re.compile(r"https?://\S+")
# JSON escapes of C0 controls, DEL, C1 controls and surrogates.
_CONTROL_ESCAPE = re.compile(r"\\(?:u00[01]|u007f|u00[89]|ud[89a-f])", re.IGNORECASE)


def kind_from_type(value: str | None, default: str = "talk") -> str:
    """The entry kind for a free-text session type ("Talk 30 min + 10min Q&A" -> ``talk``).

    A type that names no kind of session (a slot length, a booking note) gives ``other``;
    importers use :class:`KindMapper`, which also reports it and applies ``--kind-map``.
    """
    if value is None or not value.strip():
        return default
    return session_kind(value) or "other"


def zone_is_known(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: names such as "America" are directories of the tz database.
        return False
    return True


def check_option_zone(name: str | None, option: str, source: str) -> str | None:
    """``name`` if it is a known IANA zone, else a ProgramError naming the command option."""
    if name is not None and not zone_is_known(name):
        raise ProgramError(
            f"unknown timezone {name!r} given with {option} (use an IANA name such as "
            "Europe/Berlin)",
            source=source,
        )
    return name


def first_validation_error(exc: ValidationError) -> tuple[str | None, str]:
    """The model field and message of a pydantic error, without pydantic's decorations."""
    err = exc.errors()[0]
    loc = [part for part in err["loc"] if not str(part).startswith("function")]
    ctx_error = (err.get("ctx") or {}).get("error")
    if isinstance(ctx_error, ProgramConsistencyError):
        return ctx_error.field_name, str(ctx_error)
    message = str(err["msg"]).removeprefix("Value error, ")
    field = str(loc[0]) if loc else None
    return field, message


def format_path(path: JsonPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _SIMPLE_KEY.match(part):
            out += ("." if out else "") + part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


def _line_of_path(raw: bytes, path: JsonPath, ends: dict[int, int] | None = None) -> int | None:
    """1-based line of the deepest value on ``path`` in JSON ``raw`` (UTF-8, known valid).

    ``ends`` (from :func:`container_ends`) lets a lookup step over an object or a list at
    once; without it they are found first, which suits the one lookup of an error.
    """
    try:
        if ends is None:
            ends = container_ends(raw)
        pos = _SPACE.match(raw, 0).end()  # type: ignore[union-attr]
        for part in path:
            found = _child_position(raw, pos, part, ends)
            if found is None:
                break
            pos = found
        return raw.count(b"\n", 0, pos) + 1
    except (ValueError, IndexError, KeyError, RecursionError):
        # Only a hint for the message: a failure to locate must not hide the real error.
        return None


# The text is searched as UTF-8 bytes: '"', '\\' and the brackets never occur inside a
# multi-byte character. Everything up to the next bracket outside a string, then that
# bracket: one match per bracket (possessive, so no backtracking).
_SPACE = re.compile(rb"[ \t\n\r]*")
_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"')
_TO_BRACKET = re.compile(rb'(?:"[^"\\]*+(?:\\.[^"\\]*+)*+"|[^"\[\]{}]++)*+([\[\]{}])')
_SCALAR_END = re.compile(rb"[^,\]}\s]*")


def container_ends(raw: bytes) -> dict[int, int]:
    """Where each object and list of JSON ``raw`` (known valid) ends, by where it starts.

    One pass over a 20 MB export takes a fraction of a second; locating a path with it steps
    over each sibling at once instead of decoding it (36 report examples took 30 s that way).
    """
    ends: dict[int, int] = {}
    opened: list[int] = []
    for match in _TO_BRACKET.finditer(raw):
        at = match.start(1)
        if match.group(1) in (b"[", b"{"):
            opened.append(at)
        else:
            ends[opened.pop()] = at
    return ends


def _skip_value(raw: bytes, pos: int, ends: dict[int, int]) -> int:
    """Where the JSON value at ``pos`` ends."""
    first = raw[pos : pos + 1]
    if first in (b"[", b"{"):
        return ends[pos] + 1
    pattern = _STRING if first == b'"' else _SCALAR_END
    return pattern.match(raw, pos).end()  # type: ignore[union-attr]


def _child_position(raw: bytes, pos: int, part: str | int, ends: dict[int, int]) -> int | None:
    """Where the value of key or index ``part`` of the container at ``pos`` starts."""
    opener = raw[pos : pos + 1]
    if opener not in (b"{", b"[") or (opener == b"{") != isinstance(part, str):
        return None
    closer = b"}" if opener == b"{" else b"]"
    found = None
    index = 0
    pos = _SPACE.match(raw, pos + 1).end()  # type: ignore[union-attr]
    if raw[pos : pos + 1] == closer:
        return None
    while True:
        if opener == b"{":
            end = _skip_value(raw, pos, ends)
            key = json.loads(raw[pos:end])
            pos = _SPACE.match(raw, end).end() + 1  # type: ignore[union-attr]
            pos = _SPACE.match(raw, pos).end()  # type: ignore[union-attr]
            # Duplicate keys: json keeps the last one, so the last match wins here too.
            if key == part:
                found = pos
        else:
            if index == part:
                return pos
            index += 1
        pos = _skip_value(raw, pos, ends)
        pos = _SPACE.match(raw, pos).end()  # type: ignore[union-attr]
        if raw[pos : pos + 1] != b",":
            return found
        pos = _SPACE.match(raw, pos + 1).end()  # type: ignore[union-attr]


def _utf8(text: str, chunk: int = 1 << 20) -> bytes:
    """``text`` as UTF-8, a million characters at a time: ``str.encode`` first reserves four
    bytes a character (80 MB for a 20 MB export with one emoji in it)."""
    return b"".join(
        text[at : at + chunk].encode("utf-8", "surrogatepass") for at in range(0, len(text), chunk)
    )


@dataclass
class _Reader:
    """Typed access to the decoded JSON; every complaint names the path and its line."""

    text: InitVar[str]
    source: str
    report: ImportReport = field(default_factory=ImportReport)
    # Whether any string may hold a control character (a JSON escape such as "\u0000"; raw
    # ones are gone already) or a carriage return: checked once for the whole text, so that
    # clean files skip the per-string checks.
    controls: bool = field(init=False)
    returns: bool = field(init=False)

    # The text as UTF-8, for the lines of paths: a quarter of the str's memory when the text
    # holds one emoji (80 MB for a 20 MB export).
    raw: bytes = field(init=False)
    _ends: dict[int, int] | None = field(init=False, default=None)

    def __post_init__(self, text: str) -> None:
        self.controls = _CONTROL_ESCAPE.search(text) is not None
        self.returns = "\r" in text or "\\r" in text
        self.raw = _utf8(text)

    def _line_of(self, path: JsonPath) -> int | None:
        # Built at the first lookup, shared by the rest (a report shows dozens of examples).
        if self._ends is None:
            try:
                self._ends = container_ends(self.raw)
            except (IndexError, RecursionError):
                return None
        return _line_of_path(self.raw, path, self._ends)

    def fail(self, message: str, path: JsonPath) -> NoReturn:
        raise ProgramError(
            message,
            source=self.source,
            line=self._line_of(path),
            field=format_path(path) or None,
        )

    def where(self, path: JsonPath) -> Where:
        """The line of ``path``, found only if the report shows it."""
        return lambda: self._line_of(path)

    def mapping(self, value: Any, path: JsonPath) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(f"expected an object, got {_json_type(value)}", path)
        return value

    def sequence(self, value: Any, path: JsonPath) -> list[Any]:
        if not isinstance(value, list):
            self.fail(f"expected a list, got {_json_type(value)}", path)
        return value

    def required(self, obj: dict[str, Any], key: str, path: JsonPath) -> Any:
        if key not in obj or obj[key] is None:
            self.fail(f"'{key}' is missing", (*path, key))
        return obj[key]

    def text_field(self, obj: dict[str, Any], key: str, path: JsonPath) -> str:
        """A string field without control characters, or "" when absent or null."""
        value = obj.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.fail(f"expected a string, got {_json_type(value)}", (*path, key))
        if self.controls:
            return clean_value(value, self.report, self.where((*path, key)))
        if self.returns and "\r" in value:
            return clean_value(value, self.report)
        return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


@dataclass(frozen=True)
class _Event:
    path: JsonPath
    data: dict[str, Any]
    room_key: str


@dataclass
class PendingEntry:
    """An entry's values before its id is known (ids depend on every event of the file)."""

    path: JsonPath
    key: IdKey
    id_path: JsonPath
    values: dict[str, Any]
    source_fields: dict[str, str]


#: Event fields the program has a place for, or that only identify or locate an event.
_USED_FIELDS = frozenset(
    {
        "id", "guid", "code", "date", "start", "end", "duration", "room", "title", "subtitle",
        "type", "abstract", "description", "persons", "participants", "links", "attachments",
        "url", "slug", "state",
        # Recording and language metadata is for the video team, not for attendees.
        "language", "do_not_record", "recording_license", "feedback_url", "origin_url",
    }
)  # fmt: skip


def parse(
    text: str, source: str, options: ImportOptions, report: ImportReport | None = None
) -> Program:
    """Parse a frab or pretalx ``schedule.json`` into a validated Program."""
    report = report if report is not None else ImportReport(source)
    text = prepare_text(text, source, report)
    data = load_json(text, source)
    reader = _Reader(text, source, report)
    del text  # the reader keeps its bytes; a caller that handed the text over frees it here
    root = reader.mapping(data, ())
    schedule = reader.mapping(reader.required(root, "schedule", ()), ("schedule",))
    if "events" in schedule:
        from bot.program.importers import schedule2

        report.note("file in the newer schedule2 format, read as schedule2")
        return schedule2.from_data(reader, root, options)
    conf_path: JsonPath = ("schedule", "conference")
    conference = reader.mapping(reader.required(schedule, "conference", ("schedule",)), conf_path)
    header = read_conference(reader, conference, conf_path, options)

    days_path: JsonPath = (*conf_path, "days")
    days = reader.sequence(reader.required(conference, "days", conf_path), days_path)
    kinds = KindMapper(report, parse_kind_map(options.kind_map, source))
    pending = [
        _pending(reader, event, header.naive_zone, kinds)
        for event in _events(reader, days, days_path)
    ]
    kinds.finish()
    first_day = None if options.date else _first_day(reader, days, days_path, conference, conf_path)
    return build_program(reader, header, pending, first_day, options)


@dataclass(frozen=True)
class Conference:
    """What a schedule's ``conference`` object says, checked."""

    name: str
    acronym: str
    zone_name: str | None
    naive_zone: str | None
    path: JsonPath


def read_conference(
    reader: _Reader, conference: dict[str, Any], conf_path: JsonPath, options: ImportOptions
) -> Conference:
    name = options.name or reader.text_field(conference, "title", conf_path).strip()
    if not name:
        reader.fail(
            "'title' is missing (or give the workshop's name with --name)", (*conf_path, "title")
        )
    acronym = (
        options.acronym
        or reader.text_field(conference, "acronym", conf_path).strip()
        or slugify(name, 40)
    )
    check_option_zone(options.tz, "--tz", reader.source)
    check_option_zone(options.venue_tz, "--venue-tz", reader.source)
    zone_name = reader.text_field(conference, "time_zone_name", conf_path).strip() or None
    if zone_name is not None and not zone_is_known(zone_name):
        reader.fail(
            f"unknown timezone {zone_name!r} (use an IANA name, or give one with --tz)",
            (*conf_path, "time_zone_name"),
        )
    # Times without an offset are in the zone the source displays them in.
    naive_zone = options.tz or zone_name or options.venue_tz
    return Conference(name, acronym, zone_name, naive_zone, conf_path)


def build_program(
    reader: _Reader,
    header: Conference,
    pending: list[PendingEntry],
    first_day: date | None,
    options: ImportOptions,
    prefix: str = "frab-",
) -> Program:
    """Ids for the pending entries, the workshop, and the validated Program."""
    report = reader.report
    conf_path = header.path
    ids = assign_ids(prefix, [p.key for p in pending])
    entries: list[Entry] = []
    for item, entry_id in zip(pending, ids, strict=True):
        if entry_id is None:
            report.dropped(
                "copies of an event listed twice (same id, start and title)",
                str(item.values["title"]),
                reader.where(item.id_path),
            )
            continue
        entries.append(_validate_entry(reader, item, entry_id))
    if not entries:
        reader.fail(
            "the schedule has no events; an empty program would cancel every entry",
            (*conf_path, "days"),
        )
    report.kept = len(entries)

    zone = options.venue_tz or header.zone_name or options.tz
    if zone is None:
        zone = _zone_of_offsets(entries)
        if zone is not None and zone != "UTC":
            report.changed(
                f"venue zone taken as {zone}: the schedule names no zone and all its times "
                "have that offset (give the real zone with --venue-tz, e.g. Europe/Berlin)"
            )
        if zone is None:
            reader.fail(
                "the schedule names no time zone and its times are not UTC; give the "
                "venue's zone with --tz (e.g. --tz Europe/Berlin)",
                (*conf_path, "time_zone_name"),
            )
    workshop_date = options.date or first_day
    if workshop_date is None:
        workshop_date = min(e.start for e in entries).astimezone(ZoneInfo(zone)).date()
    try:
        workshop = Workshop(
            name=header.name,
            acronym=header.acronym,
            venue=options.venue or "",
            timezone=zone,
            date=workshop_date,
            end_date=last_day([e.start for e in entries], ZoneInfo(zone), workshop_date),
            links=options.links,
        )
    except ValidationError as exc:
        field_name, message = first_validation_error(exc)
        source_field = {"name": "title", "acronym": "acronym", "timezone": "time_zone_name"}
        reader.fail(message, (*conf_path, source_field.get(field_name or "", field_name or "")))
    try:
        return Program(workshop=workshop, entries=tuple(sort_entries(entries)))
    except ValidationError as exc:
        field_name, message = first_validation_error(exc)
        raise ProgramError(message, source=reader.source, field=field_name) from None


def _zone_of_offsets(entries: list[Entry]) -> str | None:
    """UTC, or the fixed-offset IANA zone (Etc/GMT-1 is +01:00) all the times share."""
    offsets = {e.start.utcoffset() for e in entries} | {e.end.utcoffset() for e in entries}
    if len(offsets) != 1:
        return None
    offset = offsets.pop()
    if offset is None or offset % timedelta(hours=1):
        return None
    hours = int(offset / timedelta(hours=1))
    if hours == 0:
        return "UTC"
    # POSIX signs: Etc/GMT-1 is one hour ahead of UTC.
    return f"Etc/GMT{-hours:+d}" if -14 <= -hours <= 12 else None


def load_json(text: str, source: str) -> Any:
    """The decoded document, or one line saying why not (a cut-off file says so)."""
    try:
        # strict=False: real exports put raw tabs and newlines inside strings.
        return json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            last = text.rstrip().count("\n") + 1
            raise ProgramError(
                f"the file is cut off at line {last}: its JSON ends before it is complete "
                "(download it again)",
                source=source,
                line=last,
            ) from None
        raise ProgramError(
            f"not valid JSON: {exc.msg} (column {exc.colno})", source=source, line=exc.lineno
        ) from None
    except ValueError as exc:
        # Numbers past Python's digit limit are a ValueError without a position.
        raise ProgramError(f"not valid JSON: {exc}", source=source) from None
    except RecursionError:
        raise ProgramError("not valid JSON: nested too deeply", source=source) from None


def _events(reader: _Reader, days: list[Any], days_path: JsonPath) -> Iterator[_Event]:
    for day_index, day_value in enumerate(days):
        day_path: JsonPath = (*days_path, day_index)
        day = reader.mapping(day_value, day_path)
        rooms_path: JsonPath = (*day_path, "rooms")
        rooms = reader.mapping(reader.required(day, "rooms", day_path), rooms_path)
        for room_key, room_events in rooms.items():
            room_path: JsonPath = (*rooms_path, room_key)
            for index, event in enumerate(reader.sequence(room_events, room_path)):
                path: JsonPath = (*room_path, index)
                yield _Event(path, reader.mapping(event, path), room_key)


def event_key(reader: _Reader, data: dict[str, Any], path: JsonPath) -> tuple[str, JsonPath]:
    """What identifies an event: its ``guid``, else its ``id`` (merged exports reuse ids)."""
    guid = data.get("guid")
    if isinstance(guid, str) and guid.strip():
        return guid.strip().lower(), (*path, "guid")
    raw_id = data.get("id")
    if raw_id is None or raw_id == "":
        reader.fail("the event has neither 'guid' nor 'id'", path)
    if isinstance(raw_id, bool) or not isinstance(raw_id, int | str):
        reader.fail(f"expected a number or string id, got {_json_type(raw_id)}", (*path, "id"))
    return str(raw_id).strip(), (*path, "id")


def _pending(
    reader: _Reader, event: _Event, naive_zone: str | None, kinds: KindMapper
) -> PendingEntry:
    path, data = event.path, event.data
    title = event_title(reader, data, path)
    start = _start(reader, data, path, naive_zone)
    duration = _duration(reader, data, path)
    try:
        end = start + duration
    except OverflowError:
        reader.fail("the event ends after the year 9999", (*path, "duration"))
    room = reader.text_field(data, "room", path).strip() or event.room_key.strip() or None
    key, id_path = event_key(reader, data, path)
    type_text = reader.text_field(data, "type", path)
    abstract, abstract_field = event_abstract(reader, data, path, title)
    values = {
        "kind": kinds.kind(type_text, reader.where((*path, "type")), title),
        "title": title,
        "people": _people(reader, data, path),
        "abstract": abstract,
        "start": start,
        "end": end,
        "room": fit_room(reader, room, path),
        "links": _links(reader, data, path),
    }
    report_unused(reader, data, path)
    return PendingEntry(
        path,
        IdKey(key, start, f"{title}\n{room or ''}"),
        id_path,
        values,
        {
            "people": "persons",
            "abstract": abstract_field,
            "start": "date",
            "end": "duration",
            "kind": "type",
        },
    )


def event_title(reader: _Reader, data: dict[str, Any], path: JsonPath) -> str:
    """The title, with the subtitle after it when there is one (it often tells sessions apart)."""
    title = " ".join(reader.text_field(data, "title", path).split())
    if not title:
        reader.fail("'title' is missing", (*path, "title"))
    subtitle = " ".join(reader.text_field(data, "subtitle", path).split())
    if subtitle and subtitle.casefold() not in title.casefold():
        joined = f"{title} {subtitle}" if title.endswith((":", "-", "–", "—")) else None
        title = joined or f"{title}: {subtitle}"
        reader.report.changed(
            "titles with their subtitle appended", title, reader.where((*path, "subtitle"))
        )
    if len(title) > MAX_TITLE:
        reader.report.changed(
            f"titles cut to {MAX_TITLE:,} characters", title, reader.where((*path, "title"))
        )
        title = title[: MAX_TITLE - 1].rstrip() + "…"
    return title


MAX_TITLE = 2000
MAX_ABSTRACT = 20000
MAX_ROOM = 200


def event_abstract(
    reader: _Reader, data: dict[str, Any], path: JsonPath, title: str
) -> tuple[str, str]:
    """The abstract and then the description, each kept unless the other already holds it."""
    abstract = reader.text_field(data, "abstract", path).strip()
    description = reader.text_field(data, "description", path).strip()
    return join_abstract(reader, abstract, description, path, title)


def join_abstract(
    reader: _Reader, abstract: str, description: str, path: JsonPath, title: str
) -> tuple[str, str]:
    if not abstract or description.startswith(abstract):
        text, source_field = description, "description"
        if abstract and not description:
            text, source_field = abstract, "abstract"
    elif not description or description in abstract:
        text, source_field = abstract, "abstract"
    else:
        text, source_field = f"{abstract}\n\n{description}", "description"
    if len(text) > MAX_ABSTRACT:
        reader.report.changed(
            f"abstracts (with description) cut to {MAX_ABSTRACT:,} characters",
            title,
            reader.where((*path, source_field)),
        )
        text = text[: MAX_ABSTRACT - 1].rstrip() + "…"
    return text, source_field


def fit_room(reader: _Reader, room: str | None, path: JsonPath) -> str | None:
    if room is None or len(room) <= MAX_ROOM:
        return room
    reader.report.changed(
        f"room names cut to {MAX_ROOM} characters", room, reader.where((*path, "room"))
    )
    return room[: MAX_ROOM - 1].rstrip() + "…"


def report_unused(reader: _Reader, data: dict[str, Any], path: JsonPath) -> None:
    """A line per event field with content that the program file has no place for."""
    for key in data.keys() - _USED_FIELDS:
        if data[key] or data[key] == 0:
            reader.report.dropped(
                f"values of the event field '{key}' (a program entry has no place for it)",
                where=reader.where((*path, key)),
            )


def _validate_entry(reader: _Reader, item: PendingEntry, entry_id: str) -> Entry:
    try:
        return Entry.model_validate({"id": entry_id, **item.values})
    except ValidationError as exc:
        # No field means the model's only whole-entry check failed: end before start.
        field_name, message = first_validation_error(exc)
        if field_name == "id":
            reader.fail(message, item.id_path)
        source_field = item.source_fields.get(field_name or "end", field_name)
        reader.fail(message, (*item.path, source_field) if source_field else item.path)


def parse_instant(
    reader: _Reader, value: Any, field_path: JsonPath, naive_zone: str | None
) -> datetime:
    """An ISO 8601 date-time (with its offset, or in ``naive_zone``), to whole seconds."""
    example = "such as 2020-12-14T09:00:00+01:00"
    if not isinstance(value, str) or not _DATETIME_SHAPE.match(value.strip()):
        reader.fail(
            f"{field_path[-1]} {value!r} is not an ISO 8601 date-time {example}", field_path
        )
    try:
        start = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        reader.fail(f"{field_path[-1]} {value!r} is not a valid date-time ({exc})", field_path)
    if start.tzinfo is None:
        if naive_zone is None:
            reader.fail(
                f"{field_path[-1]} {value!r} has no UTC offset and the schedule names no "
                "time zone; give it with --tz",
                field_path,
            )
        start = start.replace(tzinfo=ZoneInfo(naive_zone))
    # Program files keep whole seconds; dropping the rest keeps re-imports byte-identical.
    start = start.replace(microsecond=0)
    try:
        start.astimezone(UTC)
    except OverflowError:
        reader.fail(f"{field_path[-1]} {value!r} is out of range", field_path)
    return start


def _start(
    reader: _Reader, data: dict[str, Any], path: JsonPath, naive_zone: str | None
) -> datetime:
    value = reader.required(data, "date", path)
    return parse_instant(reader, value, (*path, "date"), naive_zone)


def _duration(reader: _Reader, data: dict[str, Any], path: JsonPath) -> timedelta:
    value = reader.required(data, "duration", path)
    match = _DURATION_SHAPE.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        reader.fail(f"duration {value!r} is not HH:MM or HH:MM:SS", (*path, "duration"))
    hours, minutes, seconds = match.groups()
    return timedelta(hours=int(hours), minutes=int(minutes), seconds=int(seconds or 0))


def _people(reader: _Reader, data: dict[str, Any], path: JsonPath) -> list[str]:
    persons = data.get("persons")
    if persons is None:
        return []
    people: list[str] = []
    for index, person in enumerate(reader.sequence(persons, (*path, "persons"))):
        person_path: JsonPath = (*path, "persons", index)
        if isinstance(person, str):
            # Some exporters list bare names.
            name = clean_value(person, reader.report).strip()
        else:
            obj = reader.mapping(person, person_path)
            name = (
                reader.text_field(obj, "public_name", person_path).strip()
                or reader.text_field(obj, "name", person_path).strip()
            )
        if name and name not in people:
            people.append(" ".join(name.split()))
        elif not name:
            # A person without a public name is not someone the bot can announce.
            reader.report.dropped("persons without a public name", where=reader.where(person_path))
    return people


def _links(reader: _Reader, data: dict[str, Any], path: JsonPath) -> list[dict[str, str]]:
    candidates: list[tuple[str, str, JsonPath]] = []
    event_url = reader.text_field(data, "url", path).strip()
    if event_url:
        candidates.append(("Event page", event_url, (*path, "url")))
    for key in ("links", "attachments"):
        values = data.get(key)
        if values is None:
            continue
        for index, link in enumerate(reader.sequence(values, (*path, key))):
            link_path: JsonPath = (*path, key, index)
            if isinstance(link, str):
                # frab's wiki exports list links as bare URLs.
                url = clean_value(link, reader.report).strip()
                candidates.append((url, url, link_path))
                continue
            obj = reader.mapping(link, link_path)
            url = reader.text_field(obj, "url", link_path).strip()
            title = reader.text_field(obj, "title", link_path).strip()
            if not title and isinstance(obj.get("type"), str):
                title = _REFERENCE_TITLES.get(obj["type"], obj["type"].capitalize())
            if url.startswith("/") and event_url:
                # Attachments are often given relative to the schedule's own site.
                url = urljoin(event_url, url)
            candidates.append((title or url, url, link_path))
    return make_links(candidates, reader)


#: Titles for schedule2's typed links that come without one.
_REFERENCE_TITLES = {
    "SLIDES": "Slides",
    "PAPER": "Paper",
    "WEB": "Website",
    "BLOG": "Blog",
    "ARTICLE": "Article",
    "BOOK": "Book",
    "MEDIA": "Media",
    "RELATED": "Related",
    "FEEDBACK": "Feedback",
    "ORIGIN": "Schedule page",
    "ACTIVITYPUB": "Fediverse",
}


def make_links(
    candidates: Sequence[tuple[str, str] | tuple[str, str, JsonPath]],
    reader: _Reader | None = None,
) -> list[dict[str, str]]:
    """Links from (title, url[, path]) triples, skipping repeats and non-web URLs.

    A schedule's extra links are decoration: one that is relative or ``mailto:`` is dropped
    (and reported) rather than failing the whole import.
    """
    # Plain data: the entry's own validation checks them, in one pass with the entry.
    links: list[dict[str, str]] = []
    seen: set[str] = set()
    for candidate in candidates:
        title, url = candidate[0], candidate[1]
        if url in seen:
            continue
        if _WEB_URL.fullmatch(url) is None or len(url) > 2000:
            if reader is not None and url:
                where = reader.where(candidate[2]) if len(candidate) > 2 else None
                reader.report.dropped("links that are not web addresses", url, where)
            continue
        seen.add(url)
        links.append({"title": " ".join(title.split())[:200].strip() or url[:200], "url": url})
    return links


def _first_day(
    reader: _Reader,
    days: list[Any],
    days_path: JsonPath,
    conference: dict[str, Any],
    conf_path: JsonPath,
) -> date | None:
    if days:
        path: JsonPath = (*days_path, 0, "date")
        value = reader.mapping(days[0], (*days_path, 0)).get("date")
    else:
        path = (*conf_path, "start")
        value = conference.get("start")
    if value is None:
        return None  # then the first event's day
    if not isinstance(value, str):
        reader.fail(f"expected a date such as 2020-12-14, got {_json_type(value)}", path)
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        reader.fail(f"{value!r} is not a date such as 2020-12-14", path)
