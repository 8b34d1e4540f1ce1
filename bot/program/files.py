"""Reading and writing program files (YAML), with errors that name the line and the field."""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.errors import ProgramError
from bot.program.model import (
    KNOWN_KINDS,
    Entry,
    Person,
    Program,
    ProgramConsistencyError,
    control_character_problem,
    kind_distance,
    venue_iso,
)

HEADER = (
    "# workshop-bot program file. Times are instants with their UTC offset (venue time).\n"
    "# Check it with: workshop-bot validate FILE\n"
)


def program_to_data(program: Program) -> dict[str, Any]:
    """The plain data written to a program file: venue-local ISO times, no empty fields."""
    zone = program.workshop.zone
    data: dict[str, Any] = {
        "workshop": _workshop_data(program),
        "entries": [_entry_data(e, zone) for e in program.entries],
    }
    if program.people:
        data["people"] = [_person_data(p) for p in program.people]
    return data


def _workshop_data(program: Program) -> dict[str, Any]:
    ws = program.workshop
    workshop: dict[str, Any] = {
        "name": ws.name,
        "acronym": ws.acronym,
        "venue": ws.venue,
        "timezone": ws.timezone,
        "date": ws.date.isoformat(),
    }
    if ws.end_date is not None:
        workshop["end_date"] = ws.end_date.isoformat()
    if ws.description:
        workshop["description"] = ws.description
    if ws.links:
        workshop["links"] = [link.model_dump() for link in ws.links]
    if ws.organizers:
        workshop["organizers"] = [
            {k: v for k, v in p.model_dump().items() if v is not None} for p in ws.organizers
        ]
    return workshop


def _person_data(person: Person) -> dict[str, Any]:
    return {k: v for k, v in person.model_dump().items() if v is not None}


def _entry_data(entry: Entry, zone: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": entry.id,
        "kind": entry.kind,
        "title": entry.title,
        "start": venue_iso(entry.start, zone),
        "end": venue_iso(entry.end, zone),
    }
    if entry.session:
        data["session"] = entry.session
    if entry.room:
        data["room"] = entry.room
    if entry.people:
        data["people"] = list(entry.people)
    if entry.abstract:
        data["abstract"] = entry.abstract
    if entry.links:
        data["links"] = [link.model_dump() for link in entry.links]
    return data


#: libyaml's emitter when present: the same bytes as PyYAML's own, several times faster.
_SafeDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

_DUMP_OPTIONS: dict[str, Any] = {"allow_unicode": True, "width": 100}


def dump_program(program: Program) -> str:
    """The program file's text; the same program always gives the same bytes."""
    data = program_to_data(program)
    stream = io.StringIO()
    dumper = _SafeDumper(stream, **_DUMP_OPTIONS)
    try:
        _emit_document(data, dumper.emit)
    except _NotPlain:
        body = yaml.dump(
            data, Dumper=_SafeDumper, sort_keys=False, default_flow_style=False, **_DUMP_OPTIONS
        )
    else:
        body = stream.getvalue()
    finally:
        dumper.dispose()
    return HEADER + body


class _NotPlain(Exception):
    """The data holds something other than strings, lists and string-keyed mappings."""


# PyYAML's ``dump`` builds a node for every value, then asks its resolver twice per string
# whether the string could be written plain: 3 s of Python for 10,000 entries, and every node
# held at once. The events its serializer would emit for strings, lists and mappings are made
# here directly, the same events in the same order, so the emitter writes the same bytes.
_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_START = yaml.SequenceStartEvent(None, "tag:yaml.org,2002:seq", True, flow_style=False)
_MAP_START = yaml.MappingStartEvent(None, "tag:yaml.org,2002:map", True, flow_style=False)
_SEQ_END = yaml.SequenceEndEvent()
_MAP_END = yaml.MappingEndEvent()
_RESOLVER = yaml.resolver.Resolver()
#: First characters of a string that may read back as something else (``yes``, ``12``, ``~``).
_IMPLICIT_FIRST = frozenset(k for k in yaml.resolver.Resolver.yaml_implicit_resolvers if k)
_PLAIN_CACHE_SIZE = 4096


def _emit_document(data: Any, emit: Callable[[yaml.Event], None]) -> None:
    emit(yaml.StreamStartEvent())
    emit(yaml.DocumentStartEvent(explicit=None, version=None, tags=None))
    plain: dict[str, bool] = {}

    def scalar(value: str) -> None:
        implicit = plain.get(value)
        if implicit is None:
            if value and value[0] not in _IMPLICIT_FIRST:
                implicit = True
            else:
                implicit = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) == _STR_TAG
            if len(plain) < _PLAIN_CACHE_SIZE:
                plain[value] = implicit
        emit(yaml.ScalarEvent(None, _STR_TAG, (implicit, True), value))

    def node(value: Any) -> None:
        kind = type(value)
        if kind is str:
            scalar(value)
        elif kind is dict:
            emit(_MAP_START)
            for key, item in value.items():
                if type(key) is not str:
                    raise _NotPlain(type(key).__name__)
                scalar(key)
                node(item)
            emit(_MAP_END)
        elif kind is list:
            emit(_SEQ_START)
            for item in value:
                node(item)
            emit(_SEQ_END)
        else:
            raise _NotPlain(kind.__name__)

    node(data)
    emit(yaml.DocumentEndEvent(explicit=None))
    emit(yaml.StreamEndEvent())


def write_program(program: Program, path: Path) -> None:
    """Write atomically: a failed write never leaves half a file behind."""
    text = dump_program(program)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def program_digest(program: Program) -> str:
    """SHA-256 of the program as the file states it (venue-local times, no empty fields).

    The same program always gives the same digest; a change to anything the file holds
    changes it. Canonical JSON rather than the YAML dump: 0.15 s for 10,000 entries, not 16 s.
    The JSON is hashed entry by entry, never held whole (16 MB of text, 60 MB more at peak).
    """
    zone = program.workshop.zone
    digest = hashlib.sha256()

    def add(text: str) -> None:
        digest.update(text.encode("utf-8", "surrogatepass"))

    # The bytes of json.dumps(program_to_data(program), sort_keys=True, ...): "entries"
    # sorts before "people" (only there when the program has it), then "workshop".
    add('{"entries":[')
    for index, entry in enumerate(program.entries):
        add(("," if index else "") + _canonical_json(_entry_data(entry, zone)))
    add("]")
    if program.people:
        add(',"people":' + _canonical_json([_person_data(p) for p in program.people]))
    add(',"workshop":' + _canonical_json(_workshop_data(program)) + "}")
    return digest.hexdigest()


def _canonical_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


# libyaml's parser when present (~5x faster than PyYAML's own on a 10,000-entry program). The
# document is composed once: its nodes give the data (plain strings, lists and mappings built
# here, the rest by PyYAML's safe constructor) and the lines that errors name. Dumping stays
# in pure Python so the same program always gives the same bytes on every machine.
_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"

# Raw control characters, as the file holds them (its own line breaks, CR included, aside).
_RAW_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclass(frozen=True)
class ProgramWarning:
    """Something probably wrong that does not stop the program from loading."""

    message: str
    source: str | None = None
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        return str(ProgramError(self.message, source=self.source, line=self.line, field=self.field))


def parse_program(
    text: str, source: str = "<program>", warnings: list[ProgramWarning] | None = None
) -> Program:
    """Parse and validate a program file's text, or raise ProgramError naming line and field.

    What is suspicious but allowed (an entry on another day than the workshop's) is appended
    to ``warnings`` when a list is given.
    """
    _refuse_raw_control_characters(text, source)
    program = _parse_quickly(text)
    if program is not None:
        if warnings is not None:
            found = date_warnings(program, source=source) + kind_warnings(program, source=source)
            if found:  # rare: composed again, for the lines the warnings name
                root, _ = _compose_and_build(text, source)
                found = date_warnings(program, source=source, root=root)
                found += kind_warnings(program, source=source, root=root)
            warnings.extend(found)
        return program
    # Something is wrong (or unusual): the careful way, whose errors name line and field.
    root, data = _compose_and_build(text, source)
    if root is None:
        raise ProgramError("the file is empty", source=source, line=1)
    if not isinstance(data, dict):
        raise ProgramError(
            "expected a mapping with 'workshop' and 'entries'", source=source, line=1
        )
    program = program_from_data(data, source=source, root=root)
    if warnings is not None:
        warnings.extend(date_warnings(program, source=source, root=root))
        warnings.extend(kind_warnings(program, source=source, root=root))
    return program


def _parse_quickly(text: str) -> Program | None:
    """The program of a well-formed file, read from libyaml's events; None for anything else.

    Composing the document keeps a node and two marks for every value (2.5 s and 150 MB for
    10,000 entries, most of it the resolver asked about every string). A good file needs none
    of that: its data is built here from the parser's events, and only a file that is wrong
    or unusual (an error, a repeated key, an anchor, a tag, a merge key) is read again by
    ``_compose_and_build``, which names the line of what is wrong.
    """
    try:
        data = _data_from_events(text)
    except (yaml.YAMLError, _Unusual, ValueError, TypeError, OverflowError):
        return None
    if not isinstance(data, dict):
        return None
    try:
        return Program.model_validate(data)
    except ValidationError:
        return None


class _Unusual(Exception):
    """Something the quick reading leaves to the careful one."""


_PLAIN_TAGS = (None, "!")


def _data_from_events(text: str) -> Any:
    """What ``_Builder`` would build, for files without anchors, tags or repeated keys."""
    loader = _Loader(text)
    try:
        get_event = loader.get_event
        if not isinstance(get_event(), yaml.StreamStartEvent):
            raise _Unusual
        if not isinstance(get_event(), yaml.DocumentStartEvent):
            raise _Unusual  # empty
        implicit_first = _IMPLICIT_FIRST
        scalar_event, mapping_start, sequence_start = (
            yaml.ScalarEvent,
            yaml.MappingStartEvent,
            yaml.SequenceStartEvent,
        )
        # Open containers: a list, or a mapping with the key waiting for its value.
        stack: list[Any] = []
        keys: list[Any] = []
        no_key = keys  # a marker no key can be
        root: Any = no_key
        while True:
            event = get_event()
            kind = type(event)
            if kind is scalar_event:
                if event.anchor is not None or event.tag not in _PLAIN_TAGS:
                    raise _Unusual
                value: Any = event.value
                if event.implicit[0] and (not value or value[0] in implicit_first):
                    tag = loader.resolve(yaml.ScalarNode, value, event.implicit)
                    if tag == _MERGE:
                        raise _Unusual
                    if tag != _STR:
                        node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark)
                        value = loader.construct_object(node, deep=True)
            elif kind is mapping_start or kind is sequence_start:
                if event.anchor is not None or event.tag not in _PLAIN_TAGS:
                    raise _Unusual
                stack.append({} if kind is mapping_start else [])
                keys.append(no_key)
                continue
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                value = stack.pop()
                keys.pop()
            else:
                raise _Unusual  # an alias
            if not stack:
                root = value
                break
            parent = stack[-1]
            if type(parent) is list:
                parent.append(value)
            elif keys[-1] is no_key:
                if type(value) is dict or type(value) is list or value in parent:
                    raise _Unusual  # a key that is a container, or repeated
                keys[-1] = value
            else:
                parent[keys[-1]] = value
                keys[-1] = no_key
        if not isinstance(get_event(), yaml.DocumentEndEvent):
            raise _Unusual
        if not isinstance(get_event(), yaml.StreamEndEvent):
            raise _Unusual  # several documents
        return root
    finally:
        loader.dispose()


def _yaml_error(exc: Exception, source: str) -> ProgramError:
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc)
    return ProgramError(f"not valid YAML: {problem}", source=source, line=line)


def _compose_and_build(text: str, source: str) -> tuple[yaml.Node | None, Any]:
    loader = _Loader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise _yaml_error(exc, source) from None
        if root is None:
            return None, None
        try:
            return root, _Builder(loader, source).build(root, ())
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            # Explicit tags (!!binary, !!int x…) fail while constructing.
            raise _yaml_error(exc, source) from None
        except RecursionError:
            raise ProgramError("not valid YAML: nested too deeply", source=source) from None
    finally:
        loader.dispose()


class _Builder:
    """Python data of composed YAML nodes, refusing a key repeated in one mapping.

    PyYAML keeps the last of two equal keys silently; a program file that says ``start``
    twice is a mistake to show, not to guess at.
    """

    def __init__(self, loader: Any, source: str) -> None:
        self._loader = loader
        self._source = source
        self._built: dict[int, Any] = {}  # aliases share one object, as PyYAML does

    def build(self, node: yaml.Node, path: tuple[Any, ...]) -> Any:
        if node.tag == _STR and isinstance(node, yaml.ScalarNode):
            return node.value
        built = self._built.get(id(node))
        if built is not None:
            return built
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
            items: list[Any] = []
            self._built[id(node)] = items
            for index, child in enumerate(node.value):
                items.append(self.build(child, (*path, index)))
            return items
        if (
            isinstance(node, yaml.MappingNode)
            and node.tag == _MAP
            and not any(key.tag == _MERGE for key, _ in node.value)
        ):
            mapping: dict[Any, Any] = {}
            self._built[id(node)] = mapping
            lines: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, path)
                line = key_node.start_mark.line + 1
                try:
                    first = lines.setdefault(key, line)
                except TypeError:
                    raise ProgramError(
                        "not valid YAML: a key is a list or mapping", source=self._source, line=line
                    ) from None
                if first != line or key in mapping:
                    raise ProgramError(
                        f"the key {key!r} appears twice (first on line {first}); keep one",
                        source=self._source,
                        line=line,
                        field=_dotted((*path, key)),
                    )
                mapping[key] = self.build(value_node, (*path, key))
            return mapping
        return self._loader.construct_object(node, deep=True)


def _refuse_raw_control_characters(text: str, source: str) -> None:
    found = _RAW_CONTROL.search(text)
    if found is None:
        return
    at = found.start()
    line = text.count("\n", 0, at) + 1
    problem = control_character_problem(found.group()) or "contains a control character"
    problem = problem.split(" at character")[0]
    # Which field holds it: the same text with every such character made visible.
    field = None
    try:
        root = yaml.compose(_RAW_CONTROL.sub("\ufffd", text), Loader=_Loader)
    except yaml.YAMLError:
        root = None
    if root is not None:
        field = _dotted(_path_at(root, at)) or None
    raise ProgramError(f"{problem}: remove it", source=source, line=line, field=field)


def _path_at(root: yaml.Node, index: int) -> tuple[Any, ...]:
    """The path (keys and indexes) to the deepest node whose text spans ``index``."""
    path: list[Any] = []
    node = root
    while True:
        if isinstance(node, yaml.MappingNode):
            pairs = [(k, v) for k, v in node.value if _spans(k, index) or _spans(v, index)]
            if not pairs:
                break
            key, value = pairs[0]
            path.append(key.value if isinstance(key, yaml.ScalarNode) else "?")
            node = value
        elif isinstance(node, yaml.SequenceNode):
            hits = [(i, child) for i, child in enumerate(node.value) if _spans(child, index)]
            if not hits:
                break
            path.append(hits[0][0])
            node = hits[0][1]
        else:
            break
    return tuple(path)


def _spans(node: yaml.Node, index: int) -> bool:
    return bool(
        node.start_mark.index <= index < max(node.end_mark.index, node.start_mark.index + 1)
    )


def date_warnings(
    program: Program, *, source: str, root: yaml.Node | None = None
) -> list[ProgramWarning]:
    """One warning per day, outside the workshop's dates, on which entries start (venue time)."""
    ws = program.workshop
    zone = ws.zone
    days: dict[date, list[int]] = {}
    for index, entry in enumerate(program.entries):
        day = entry.start.astimezone(zone).date()
        if not ws.date <= day <= ws.last_date:
            days.setdefault(day, []).append(index)
    dates = (
        ws.date.isoformat()
        if ws.end_date is None
        else f"{ws.date.isoformat()} to {ws.last_date.isoformat()}"
    )
    warnings = []
    for day, indexes in sorted(days.items()):
        loc = ("entries", indexes[0], "start")
        count = f"{len(indexes)} entries start" if len(indexes) > 1 else "an entry starts"
        warnings.append(
            ProgramWarning(
                f"{count} on {day.isoformat()} (venue time), not on the workshop's date "
                f"{dates}; if the workshop lasts several days, set workshop.end_date",
                source=source,
                line=_line_of(root, loc),
                field=_dotted(loc),
            )
        )
    return warnings


_KINDS_COMPARED = 100


def kind_warnings(
    program: Program, *, source: str, root: yaml.Node | None = None
) -> list[ProgramWarning]:
    """One warning per kind that looks like a misspelling of another (``panle`` of ``panel``).

    Such an entry silently leaves everything set up for the kind it was meant to have: the
    reminders of everyone subscribed to every panel, the panels' announcement channel, their
    Discord events. A kind the bot knows (``KNOWN_KINDS``) is taken as meant; any other is
    compared with the known kinds and with the file's other kinds that have as many entries.
    """
    counts: dict[str, int] = {}
    first: dict[str, int] = {}
    for index, entry in enumerate(program.entries):
        counts[entry.kind] = counts.get(entry.kind, 0) + 1
        first.setdefault(entry.kind, index)
    # A misspelling is rare and what it misspells common: the most used kinds are compared
    # with, so that a file of thousands of distinct kinds cannot take quadratic time.
    common = sorted(counts, key=lambda k: -counts[k])[:_KINDS_COMPARED]
    warnings = []
    for kind, entries in counts.items():
        if kind in KNOWN_KINDS:
            continue
        near = []
        for other in {*common, *KNOWN_KINDS} - {kind}:
            if other not in KNOWN_KINDS and counts[other] < entries:
                continue
            distance = kind_distance(kind, other)
            if distance is not None:
                near.append((distance, -counts.get(other, 0), other))
        if not near:
            continue
        other = min(near)[2]
        used = counts.get(other, 0)
        known_by = ["a kind the bot knows"] if other in KNOWN_KINDS else []
        if used:
            known_by.append(f"{used} entr{'y' if used == 1 else 'ies'} in this file")
        where = " and ".join(known_by)
        loc = ("entries", first[kind], "kind")
        warnings.append(
            ProgramWarning(
                f"kind '{kind}' ({entries} entr{'y' if entries == 1 else 'ies'}) looks like a "
                f"misspelling of '{other}' ({where}): its entries are left out of every "
                f"reminder, announcement channel and Discord event set up for '{other}'",
                source=source,
                line=_line_of(root, loc),
                field=_dotted(loc),
            )
        )
    return warnings


def program_from_data(
    data: dict[str, Any], *, source: str, root: yaml.Node | None = None
) -> Program:
    try:
        return Program.model_validate(data)
    except ValidationError as exc:
        raise _program_error(exc, source, root) from None


def load_program(path: Path, warnings: list[ProgramWarning] | None = None) -> Program:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProgramError("no such file", source=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ProgramError(f"not UTF-8 text (byte {exc.start})", source=str(path)) from None
    return parse_program(text, source=str(path), warnings=warnings)


def _program_error(exc: ValidationError, source: str, root: yaml.Node | None) -> ProgramError:
    err = exc.errors()[0]
    loc: tuple[Any, ...] = tuple(err["loc"])
    ctx_error = (err.get("ctx") or {}).get("error")
    if isinstance(ctx_error, ProgramConsistencyError):
        loc = ctx_error.loc
        message = str(ctx_error)
    else:
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            message = f"'{loc[-1]}' is missing"
        elif err["type"] == "extra_forbidden":
            message = f"unknown field '{loc[-1]}'"
    # Pydantic adds the validator's name to the path of model-level errors; drop those.
    loc = tuple(part for part in loc if not (isinstance(part, str) and part.startswith("function")))
    return ProgramError(message, source=source, line=_line_of(root, loc), field=_dotted(loc))


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest YAML node on the path ``loc``."""
    if root is None:
        return None
    node: yaml.Node = root
    line = node.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if key.value == part:
                    child = value
                    line = key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                child = node.value[part]
                line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line
