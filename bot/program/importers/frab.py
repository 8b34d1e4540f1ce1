"""Importer for frab and pretalx ``schedule.json`` exports (the c3voc schedule format).

Each event's ``date`` (a full ISO date-time with its UTC offset) is trusted for the start;
the local ``start`` string and the day lists are not, because pretalx days run from 04:00
to 03:59 and list a talk at 01:00 under the previous day. Entry ids are ``frab-<event id>``
so that a re-import of an updated schedule keeps the ids the bot has already stored.

The published JSON schema (tests/fixtures/corpora/frab-schedule.schema.json) rejects real
exports (camp2019's acronym and slugs, rC3's pretalx ``answers``), so the structure is
checked here instead, naming the JSON path and line of whatever is wrong.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from bot.errors import ProgramError
from bot.program.importers import ImportOptions
from bot.program.model import (
    KNOWN_KINDS,
    Entry,
    Link,
    Program,
    ProgramConsistencyError,
    Workshop,
    slugify,
    sort_entries,
)

#: Keys and indexes from the document root to a value.
JsonPath = tuple[str | int, ...]

#: Words used for session types in the wild, mapped onto the model's kinds.
KIND_ALIASES: dict[str, str] = {
    "lecture": "talk",
    "talk": "talk",
    "keynote": "keynote",
    "workshop": "workshop",
    "panel": "panel",
    "podium": "panel",
    "break": "break",
    "pause": "break",
    "opening": "opening",
    "closing": "closing",
    "poster": "poster",
}

_DATETIME_SHAPE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$"
)
_DURATION_SHAPE = re.compile(r"^(\d{1,3}):([0-5]\d)(?::([0-5]\d))?$")
_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def kind_from_type(value: str | None, default: str = "talk") -> str:
    """The entry kind for a free-text session type ("Talk 30 min + 10min Q&A" -> ``talk``)."""
    if value is None or not value.strip():
        return default
    # Split CamelCase so that pretalx's "LightningTalk" reads like "Lightning Talk".
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", value)
    folded = unicodedata.normalize("NFKD", spaced).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", folded.lower())
    # pretalx submission types often carry the slot length ("Workshop 60 Min"): the kind is
    # what comes before it.
    for index, word in enumerate(words):
        if word[0].isdigit() and index > 0:
            words = words[:index]
            break
    slug = "_".join(words)
    if slug in KIND_ALIASES:
        return KIND_ALIASES[slug]
    if slug in KNOWN_KINDS:
        return slug
    if not slug or not slug[0].isalpha():
        return "other"
    return slug[:40].rstrip("_")


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


def _line_of_path(text: str, path: JsonPath) -> int | None:
    """1-based line of the deepest value on ``path`` in JSON ``text`` (already known valid)."""
    decoder = json.JSONDecoder()
    try:
        pos = _JSON_SPACE.match(text, 0).end()  # type: ignore[union-attr]
        for part in path:
            found = _child_position(text, pos, part, decoder)
            if found is None:
                break
            pos = found
        return text.count("\n", 0, pos) + 1
    except (ValueError, IndexError, RecursionError):
        # Only a hint for the message: a failure to locate must not hide the real error.
        return None


def _child_position(text: str, pos: int, part: str | int, decoder: json.JSONDecoder) -> int | None:
    """Where the value of key or index ``part`` of the container at ``pos`` starts."""
    opener = text[pos]
    if (opener == "{") != isinstance(part, str) or opener not in "{[":
        return None
    closer = "}" if opener == "{" else "]"
    found = None
    index = 0
    pos = _JSON_SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
    if text[pos] == closer:
        return None
    while True:
        if opener == "{":
            key, pos = json.decoder.scanstring(text, pos + 1)  # type: ignore[attr-defined]
            pos = _JSON_SPACE.match(text, pos).end() + 1  # type: ignore[union-attr]
            pos = _JSON_SPACE.match(text, pos).end()  # type: ignore[union-attr]
            # Duplicate keys: json keeps the last one, so the last match wins here too.
            if key == part:
                found = pos
        else:
            if index == part:
                return pos
            index += 1
        _, pos = decoder.raw_decode(text, pos)
        pos = _JSON_SPACE.match(text, pos).end()  # type: ignore[union-attr]
        if text[pos] != ",":
            return found
        pos = _JSON_SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]


@dataclass
class _Reader:
    """Typed access to the decoded JSON; every complaint names the path and its line."""

    text: str
    source: str

    def fail(self, message: str, path: JsonPath) -> NoReturn:
        raise ProgramError(
            message,
            source=self.source,
            line=_line_of_path(self.text, path),
            field=format_path(path) or None,
        )

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
        """A string field, or "" when absent or null."""
        value = obj.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.fail(f"expected a string, got {_json_type(value)}", (*path, key))
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


def parse(text: str, source: str, options: ImportOptions) -> Program:
    """Parse a frab or pretalx ``schedule.json`` into a validated Program."""
    data = _load_json(text, source)
    reader = _Reader(text, source)
    root = reader.mapping(data, ())
    schedule = reader.mapping(reader.required(root, "schedule", ()), ("schedule",))
    conf_path: JsonPath = ("schedule", "conference")
    conference = reader.mapping(reader.required(schedule, "conference", ("schedule",)), conf_path)

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

    check_option_zone(options.tz, "--tz", source)
    check_option_zone(options.venue_tz, "--venue-tz", source)
    zone_name = reader.text_field(conference, "time_zone_name", conf_path).strip() or None
    if zone_name is not None and not zone_is_known(zone_name):
        reader.fail(
            f"unknown timezone {zone_name!r} (use an IANA name, or give one with --tz)",
            (*conf_path, "time_zone_name"),
        )
    # Times without an offset are in the zone the source displays them in.
    naive_zone = options.tz or zone_name or options.venue_tz

    days_path: JsonPath = (*conf_path, "days")
    days = reader.sequence(reader.required(conference, "days", conf_path), days_path)
    events = list(_events(reader, days, days_path))

    entries: list[Entry] = []
    seen: dict[str, JsonPath] = {}
    for event in events:
        entry_id, id_path = _entry_id(reader, event)
        if entry_id in seen:
            other = _line_of_path(text, seen[entry_id])
            also = f" (also at line {other})" if other is not None else ""
            reader.fail(f"two events have the same id {entry_id!r}{also}", id_path)
        seen[entry_id] = id_path
        entries.append(_entry(reader, event, entry_id, naive_zone))

    zone = options.venue_tz or zone_name or options.tz
    if zone is None:
        if all(e.start.utcoffset() == timedelta(0) for e in entries):
            zone = "UTC"
        else:
            reader.fail(
                "the schedule names no time zone and its times are not UTC; give the "
                "venue's zone with --tz (e.g. --tz Europe/Berlin)",
                (*conf_path, "time_zone_name"),
            )

    workshop_date = options.date or _first_day(reader, days, days_path, conference, conf_path)
    try:
        workshop = Workshop(
            name=name,
            acronym=acronym,
            venue=options.venue or "",
            timezone=zone,
            date=workshop_date,
            links=options.links,
        )
    except ValidationError as exc:
        field, message = first_validation_error(exc)
        source_field = {"name": "title", "acronym": "acronym", "timezone": "time_zone_name"}
        reader.fail(message, (*conf_path, source_field.get(field or "", field or "")))
    try:
        return Program(workshop=workshop, entries=tuple(sort_entries(entries)))
    except ValidationError as exc:
        field, message = first_validation_error(exc)
        raise ProgramError(message, source=source, field=field) from None


def _load_json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
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


def _entry_id(reader: _Reader, event: _Event) -> tuple[str, JsonPath]:
    raw_id = event.data.get("id")
    if raw_id is not None:
        if isinstance(raw_id, bool) or not isinstance(raw_id, int | str) or raw_id == "":
            reader.fail(
                f"expected a number or string id, got {_json_type(raw_id)}", (*event.path, "id")
            )
        if isinstance(raw_id, int):
            return f"frab-{raw_id}", (*event.path, "id")
        return f"frab-{slugify(raw_id, 90)}", (*event.path, "id")
    guid = reader.text_field(event.data, "guid", event.path).strip()
    if not guid:
        reader.fail("the event has neither 'id' nor 'guid'", event.path)
    return f"frab-{slugify(guid, 90)}", (*event.path, "guid")


def _entry(reader: _Reader, event: _Event, entry_id: str, naive_zone: str | None) -> Entry:
    path, data = event.path, event.data
    title = reader.text_field(data, "title", path).strip()
    if not title:
        reader.fail("'title' is missing", (*path, "title"))
    abstract = reader.text_field(data, "abstract", path).strip()
    description = reader.text_field(data, "description", path).strip()
    start = _start(reader, data, path, naive_zone)
    duration = _duration(reader, data, path)
    try:
        end = start + duration
    except OverflowError:
        reader.fail("the event ends after the year 9999", (*path, "duration"))
    room = reader.text_field(data, "room", path).strip() or event.room_key.strip() or None
    values = {
        "id": entry_id,
        "kind": kind_from_type(reader.text_field(data, "type", path)),
        "title": title,
        "people": _people(reader, data, path),
        "abstract": abstract or description,
        "start": start,
        "end": end,
        "room": room,
        "links": _links(reader, data, path),
    }
    try:
        return Entry.model_validate(values)
    except ValidationError as exc:
        # No field means the model's only whole-entry check failed: end before start.
        field, message = first_validation_error(exc)
        source_field = {
            "people": "persons",
            "abstract": "abstract" if abstract else "description",
            "start": "date",
            "end": "duration",
            "kind": "type",
        }.get(field or "end", field)
        reader.fail(message, (*path, source_field) if source_field else path)


def _start(
    reader: _Reader, data: dict[str, Any], path: JsonPath, naive_zone: str | None
) -> datetime:
    field_path: JsonPath = (*path, "date")
    value = reader.required(data, "date", path)
    example = "such as 2020-12-14T09:00:00+01:00"
    if not isinstance(value, str) or not _DATETIME_SHAPE.match(value.strip()):
        reader.fail(f"date {value!r} is not an ISO 8601 date-time {example}", field_path)
    try:
        start = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        reader.fail(f"date {value!r} is not a valid date-time ({exc})", field_path)
    if start.tzinfo is None:
        if naive_zone is None:
            reader.fail(
                f"date {value!r} has no UTC offset and the schedule names no time zone; "
                "give it with --tz",
                field_path,
            )
        start = start.replace(tzinfo=ZoneInfo(naive_zone))
    # Program files keep whole seconds; dropping the rest keeps re-imports byte-identical.
    start = start.replace(microsecond=0)
    try:
        start.astimezone(UTC)
    except OverflowError:
        reader.fail(f"date {value!r} is out of range", field_path)
    return start


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
        obj = reader.mapping(person, person_path)
        name = (
            reader.text_field(obj, "public_name", person_path).strip()
            or reader.text_field(obj, "name", person_path).strip()
        )
        # A person without a public name is not someone the bot can announce.
        if name:
            people.append(name)
    return people


def _links(reader: _Reader, data: dict[str, Any], path: JsonPath) -> list[Link]:
    candidates: list[tuple[str, str]] = []
    url = reader.text_field(data, "url", path).strip()
    if url:
        candidates.append(("Event page", url))
    links = data.get("links")
    if links is not None:
        for index, link in enumerate(reader.sequence(links, (*path, "links"))):
            link_path: JsonPath = (*path, "links", index)
            obj = reader.mapping(link, link_path)
            link_url = reader.text_field(obj, "url", link_path).strip()
            title = reader.text_field(obj, "title", link_path).strip()
            candidates.append((title or link_url, link_url))
    return make_links(candidates)


def make_links(candidates: Sequence[tuple[str, str]]) -> list[Link]:
    """Links from (title, url) pairs, skipping repeats and non-web URLs.

    A schedule's extra links are decoration: one that is relative or ``mailto:`` is dropped
    rather than failing the whole import.
    """
    links: list[Link] = []
    seen: set[str] = set()
    for title, url in candidates:
        if url in seen or not re.fullmatch(r"https?://\S+", url) or len(url) > 2000:
            continue
        seen.add(url)
        links.append(Link(title=title[:200].strip() or url[:200], url=url))
    return links


def _first_day(
    reader: _Reader,
    days: list[Any],
    days_path: JsonPath,
    conference: dict[str, Any],
    conf_path: JsonPath,
) -> date:
    if days:
        path: JsonPath = (*days_path, 0, "date")
        value = reader.mapping(days[0], (*days_path, 0)).get("date")
    else:
        path = (*conf_path, "start")
        value = conference.get("start")
    if not isinstance(value, str):
        reader.fail("the schedule's first day has no date; give it with --date", path)
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        reader.fail(f"{value!r} is not a date such as 2020-12-14", path)
