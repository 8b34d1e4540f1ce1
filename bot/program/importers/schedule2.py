"""Importer for the C3VOC "schedule2" JSON format (``$id`` https://c3voc.de/schema/schedule2).

The newer sibling of frab's ``schedule.json`` (tests/fixtures/corpora/schedule2.schema.json):
rooms are listed once under the conference and events, a flat list under ``schedule.events``,
refer to them; each event has ISO ``start`` and ``end`` instants (``duration`` as ISO 8601 is
deprecated but read), ``participants`` with roles, typed ``links`` and ``attachments``, texts
that may be one string or one per language, and a ``state``. Breaks and other "meta events"
have a title and times only. Entry ids are built as in the frab importer (``frab-`` and the
event's ``guid``), so a conference that moves from schedule.json to schedule2 keeps its ids.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from bot.program.importers import ImportOptions
from bot.program.importers.frab import (
    Conference,
    JsonPath,
    PendingEntry,
    _json_type,
    _links,
    _Reader,
    build_program,
    event_title,
    fit_room,
    join_abstract,
    load_json,
    parse_instant,
    read_conference,
)
from bot.program.importers.kinds import KindMapper, parse_kind_map
from bot.program.importers.report import IdKey, ImportReport, clean_value, prepare_text
from bot.program.model import Program

#: Event states that mean it will not take place (or not yet): such events are not imported.
NOT_HAPPENING = frozenset({"DRAFT", "SUBMITTED", "REJECTED", "CANCELED", "WITHDRAWN", "DELETED"})

_ISO_DURATION = re.compile(
    r"^P(?!$)(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)

_USED_FIELDS = frozenset(
    {
        "guid", "code", "start", "end", "duration", "room", "title", "subtitle", "type",
        "abstract", "description", "participants", "links", "attachments", "url", "slug",
        "state", "id", "language", "do_not_record", "recording_license", "feedback_url",
        "origin_url",
    }
)  # fmt: skip


def parse(
    text: str, source: str, options: ImportOptions, report: ImportReport | None = None
) -> Program:
    """Parse a schedule2 JSON file into a validated Program."""
    report = report if report is not None else ImportReport(source)
    text = prepare_text(text, source, report)
    data = load_json(text, source)
    reader = _Reader(text, source, report)
    root = reader.mapping(data, ())
    schedule = reader.mapping(reader.required(root, "schedule", ()), ("schedule",))
    if "events" not in schedule:
        from bot.program.importers import frab

        report.note("file in the frab schedule.json format, read as such")
        return frab.parse(text, source, options, report)
    return from_data(reader, root, options)


def from_data(reader: _Reader, root: dict[str, Any], options: ImportOptions) -> Program:
    """The Program of a decoded schedule2 document (``reader`` holds its text and report)."""
    schedule = reader.mapping(reader.required(root, "schedule", ()), ("schedule",))
    conf_path: JsonPath = ("schedule", "conference")
    conference = reader.mapping(reader.required(schedule, "conference", ("schedule",)), conf_path)
    header = read_conference(reader, conference, conf_path, options)
    rooms = _rooms(reader, conference, conf_path)
    language = _default_language(conference)

    events_path: JsonPath = ("schedule", "events")
    events = reader.sequence(reader.required(schedule, "events", ("schedule",)), events_path)
    kinds = KindMapper(reader.report, parse_kind_map(options.kind_map, reader.source))
    pending: list[PendingEntry] = []
    for index, value in enumerate(events):
        path: JsonPath = (*events_path, index)
        item = _pending(reader, reader.mapping(value, path), path, header, rooms, language, kinds)
        if item is not None:
            pending.append(item)
    kinds.finish()
    persons = schedule.get("persons")
    if isinstance(persons, list):
        bios = sum(1 for p in persons if isinstance(p, dict) and p.get("biography"))
        if bios:
            reader.report.dropped(
                "speaker biographies (a program file has no place for them)", count=bios
            )
    first_day = None if options.date else _first_day(reader, conference, conf_path)
    return build_program(reader, header, pending, first_day, options)


def _rooms(reader: _Reader, conference: dict[str, Any], conf_path: JsonPath) -> dict[str, str]:
    """Room names by guid and by slug, from the conference's room list."""
    names: dict[str, str] = {}
    rooms = conference.get("rooms")
    if not isinstance(rooms, list):
        return names
    for index, room in enumerate(rooms):
        path: JsonPath = (*conf_path, "rooms", index)
        obj = reader.mapping(room, path)
        name = reader.text_field(obj, "name", path).strip()
        for key in ("guid", "slug"):
            value = obj.get(key)
            if isinstance(value, str) and value and name:
                names[value.lower()] = name
    return names


def _default_language(conference: dict[str, Any]) -> str:
    defaults = conference.get("defaults")
    if isinstance(defaults, dict) and isinstance(defaults.get("language"), str):
        return str(defaults["language"])
    languages = conference.get("languages")
    if isinstance(languages, list) and languages and isinstance(languages[0], str):
        return str(languages[0])
    return "en"


def _pending(
    reader: _Reader,
    data: dict[str, Any],
    path: JsonPath,
    header: Conference,
    rooms: dict[str, str],
    default_language: str,
    kinds: KindMapper,
) -> PendingEntry | None:
    title = event_title(reader, data, path)
    state = data.get("state")
    if isinstance(state, str) and state.upper() in NOT_HAPPENING:
        reader.report.dropped(
            f"events in state {state.upper()} (they do not take place)",
            title,
            reader.where((*path, "state")),
        )
        return None
    zone = header.naive_zone
    start = parse_instant(reader, reader.required(data, "start", path), (*path, "start"), zone)
    if "end" in data and data["end"] is not None:
        end = parse_instant(reader, data["end"], (*path, "end"), zone)
        end_field = "end"
    else:
        end = start + _duration(reader, data, path)
        end_field = "duration"
    language = data.get("language") if isinstance(data.get("language"), str) else None
    language = language or default_language
    abstract = _localized(reader, data, "abstract", path, language)
    description = _localized(reader, data, "description", path, language)
    text, abstract_field = join_abstract(reader, abstract, description, path, title)
    room = _room(reader, data, path, rooms)
    guid = data.get("guid")
    if isinstance(guid, str) and guid.strip():
        key, id_path = guid.strip().lower(), (*path, "guid")
    elif isinstance(data.get("code"), str) and data["code"].strip():
        key, id_path = data["code"].strip().lower(), (*path, "code")
    else:
        # Meta events (breaks) may come without a guid: their title and time identify them.
        key, id_path = f"{data.get('type') or 'event'} {title}".lower(), (*path, "title")
    type_text = data.get("type") if isinstance(data.get("type"), str) else ""
    values = {
        "kind": kinds.kind(type_text, reader.where((*path, "type")), title),
        "title": title,
        "people": _participants(reader, data, path),
        "abstract": text,
        "start": start,
        "end": end,
        "room": fit_room(reader, room, path),
        "links": _links(reader, data, path),
    }
    for field_name, value in data.items():
        if field_name not in _USED_FIELDS and value not in (None, "", [], {}, False):
            reader.report.dropped(
                f"values of the event field '{field_name}' (a program entry has no place for it)",
                where=reader.where((*path, field_name)),
            )
    return PendingEntry(
        path,
        IdKey(key, start, f"{title}\n{room or ''}"),
        id_path,
        values,
        {"people": "participants", "abstract": abstract_field, "start": "start", "end": end_field},
    )


def _localized(
    reader: _Reader, data: dict[str, Any], key: str, path: JsonPath, language: str
) -> str:
    """A LocalizableString: a string, or one per language (the event's language is kept)."""
    value = data.get(key)
    if value is None or isinstance(value, str):
        return reader.text_field(data, key, path).strip()
    texts = reader.mapping(value, (*path, key))
    if not texts:
        return ""
    chosen = language if language in texts else ("en" if "en" in texts else next(iter(texts)))
    for other in texts:
        if other != chosen and texts[other]:
            reader.report.dropped(
                f"{key} texts in a second language (the event's own language is kept)",
                f"{other}",
                reader.where((*path, key, other)),
            )
    return reader.text_field(texts, chosen, (*path, key)).strip()


def _room(
    reader: _Reader, data: dict[str, Any], path: JsonPath, rooms: dict[str, str]
) -> str | None:
    ref = data.get("room")
    if ref is None:
        return None
    if isinstance(ref, str):
        return clean_value(ref, reader.report).strip() or None
    obj = reader.mapping(ref, (*path, "room"))
    name = reader.text_field(obj, "name", (*path, "room")).strip()
    if name:
        return name
    for key in ("guid", "slug"):
        value = obj.get(key)
        if isinstance(value, str) and value.lower() in rooms:
            return rooms[value.lower()]
    return None


def _participants(reader: _Reader, data: dict[str, Any], path: JsonPath) -> list[str]:
    values = data.get("participants")
    if values is None:
        return []
    people: list[str] = []
    for index, person in enumerate(reader.sequence(values, (*path, "participants"))):
        person_path: JsonPath = (*path, "participants", index)
        obj = reader.mapping(person, person_path)
        name = " ".join(
            (
                reader.text_field(obj, "public_name", person_path)
                or reader.text_field(obj, "name", person_path)
            ).split()
        )
        if not name:
            reader.report.dropped("participants without a name", where=reader.where(person_path))
        elif name not in people:
            people.append(name)
    return people


def _duration(reader: _Reader, data: dict[str, Any], path: JsonPath) -> timedelta:
    value = data.get("duration")
    if value is None:
        reader.fail("the event has neither 'end' nor 'duration'", path)
    match = _ISO_DURATION.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        reader.fail(
            f"duration {value!r} is not an ISO 8601 duration such as PT1H30M",
            (*path, "duration"),
        )
    days, hours, minutes, seconds = match.groups()
    return timedelta(
        days=int(days or 0),
        hours=int(hours or 0),
        minutes=int(minutes or 0),
        seconds=float(seconds or 0),
    )


def _first_day(reader: _Reader, conference: dict[str, Any], conf_path: JsonPath) -> date | None:
    days = conference.get("days")
    if isinstance(days, list) and days and isinstance(days[0], dict):
        value, path = days[0].get("date"), (*conf_path, "days", 0, "date")
    else:
        value, path = conference.get("start"), (*conf_path, "start")
    if value is None:
        return None
    if not isinstance(value, str):
        reader.fail(f"expected a date such as 2024-12-27, got {_json_type(value)}", path)
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        reader.fail(f"{value!r} is not a date such as 2024-12-27", path)
