"""Bad input below the Discord edge: the program file, times and the text-fitting helpers.

The three importers (``test_import_*.py``), time parsing (``test_timeparse.py``) and search
(``test_search_service.py``) have their own property-based tests; this file adds the program
file itself (what ``workshop-bot validate`` and ``load`` read, and what every importer writes)
and the helpers every answer passes user text through. What commands answer to hostile
arguments is in ``tests/e2e/test_hostile_arguments.py``.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import discord
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import ProgramError, TimeParseError
from bot.program.files import dump_program, parse_program, program_from_data
from bot.program.model import Program
from bot.services.timeparse import parse_when
from bot.ui.cards import choice_name, md, quoted
from bot.ui.text import CHOICE_NAME_MAX, defuse_mentions, trim
from tests.conftest import HAET_FILE
from tests.mutations import mutate, paths

HAET_TEXT = HAET_FILE.read_text(encoding="utf-8")
HAET_DATA: dict[str, Any] = yaml.safe_load(HAET_TEXT)


# -- the program file -----------------------------------------------------------------------------


def parsed_or_program_error(text: str) -> Program | None:
    """A program, or None after a ProgramError that names where (any other exception fails)."""
    try:
        program = parse_program(text, "fuzz.yaml")
    except ProgramError as exc:
        assert exc.message and exc.source == "fuzz.yaml"
        assert exc.line is None or exc.line >= 1
        return None
    # Whatever validates also survives a round trip through the file format.
    assert parse_program(dump_program(program), "again.yaml") == program
    return program


def test_the_shipped_program_parses() -> None:
    assert parsed_or_program_error(HAET_TEXT) is not None


@pytest.mark.parametrize(
    "text",
    [
        "=",
        "!!python/object:os.system {}",
        "!!binary 'not base64'",
        "a: !!int x",
        "!!timestamp 2022-99-99",
        "? [1, 2]\n: x",
    ],
)
def test_explicit_yaml_tags_are_program_errors(text: str) -> None:
    with pytest.raises(ProgramError, match="not valid YAML"):
        parse_program(text, "tags.yaml")


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_random_text_gives_only_program_errors(text: str) -> None:
    parsed_or_program_error(text)


@st.composite
def mutated_haet(draw: st.DrawFn) -> str:
    text = HAET_TEXT
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["truncate", "delete", "insert", "swap"]))
        if action == "truncate":
            text = text[:at]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 80)) :]
        elif action == "insert":
            text = text[:at] + draw(st.text(max_size=20)) + text[at:]
        elif text:
            lines = text.splitlines(keepends=True)
            i, j = (draw(st.integers(0, len(lines) - 1)) for _ in range(2))
            lines[i], lines[j] = lines[j], lines[i]
            text = "".join(lines)
    return text


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_haet())
def test_mutated_program_text_gives_a_program_or_a_program_error(text: str) -> None:
    parsed_or_program_error(text)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (("workshop", "organizers", 1, "affiliation"), "workshop.organizers[1].affiliation"),
        (("workshop", "links", 0, "url"), "workshop.links[0].url"),
        (("entries", 5, "people", 2), "entries[5].people[2]"),
        (("entries", 1, "abstract"), "entries[1].abstract"),
    ],
)
@pytest.mark.parametrize("character", ["\x00", "\x1b", "\x7f", "\x9b"])
def test_a_control_character_anywhere_names_its_field(
    path: tuple[Any, ...], field: str, character: str
) -> None:
    # As an importer hands the data over, without YAML: the model itself refuses.
    doc = json.loads(json.dumps(HAET_DATA, default=str))
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = (
        f"{parent.get(path[-1], '') if isinstance(parent, dict) else parent[path[-1]]}{character}!"
    )
    with pytest.raises(ProgramError) as refused:
        program_from_data(doc, source="import")
    assert refused.value.field == field
    assert f"U+{ord(character):04X}" in refused.value.message


VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=30)
    | st.sampled_from(
        ["2022-07-23T09:00:00-04:00", "2022-07-23T09:00:00", "25:99", "Mars/Olympus", "", "🙂"]
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


_HAET_PATHS = paths(HAET_DATA)[1:]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_program_structure_gives_a_program_or_an_error_naming_the_field(
    data: st.DataObject,
) -> None:
    doc = json.loads(json.dumps(HAET_DATA, default=str))
    mutate(data, doc, _HAET_PATHS, VALUES)
    try:
        program = program_from_data(doc, source="fuzz.yaml")
    except ProgramError as exc:
        assert exc.message and exc.source == "fuzz.yaml"
        assert exc.field is None or exc.field.startswith(("workshop", "entries", "people"))
        return
    assert parse_program(dump_program(program), "again.yaml") == program


# -- times typed by organizers ---------------------------------------------------------------------

NY = ZoneInfo("America/New_York")
NOW = datetime(2022, 7, 23, 9, 5, tzinfo=NY).astimezone(UTC)

LONG_TIMES = [
    "9" * 6000,
    "in " + "1 hour " * 850,
    "tomorrow " * 660,
    "2022-07-23T" + "1" * 5989,
    "🙂" * 6000,
    "\u200b" * 6000,
    "\u202e" + "11:00" * 1199,
]


@pytest.mark.parametrize("text", LONG_TIMES, ids=lambda t: f"{t[:12]!r}x{len(t)}")
def test_a_6000_character_time_is_refused_quickly(text: str) -> None:
    started = time.perf_counter()
    with pytest.raises(TimeParseError) as caught:
        parse_when(text, now=NOW, zone=NY)
    assert time.perf_counter() - started < 0.5
    assert len(str(caught.value)) < 500  # the echo of what was typed is short


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=90, max_size=6000))
def test_long_text_gives_an_instant_or_a_time_parse_error(text: str) -> None:
    try:
        got = parse_when(text, now=NOW, zone=NY)
    except TimeParseError as exc:
        assert len(str(exc)) < 500
        return
    assert got.tzinfo is UTC and got >= NOW


# -- the helpers every answer passes user text through ---------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=7000), st.integers(1, 6000))
def test_trim_fits_any_text_into_any_limit(text: str, limit: int) -> None:
    cut = trim(text, limit)
    assert len(cut) <= limit
    if len(text) <= limit:
        assert cut == text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=7000))
def test_a_choice_name_is_always_1_to_100_characters(text: str) -> None:
    name = choice_name(text)
    assert 1 <= len(name) <= CHOICE_NAME_MAX
    assert "\n" not in name


MENTIONISH = st.lists(
    st.sampled_from(["@", "everyone", "here", "<", ">", "&", "!", "#", "1", "2", " ", "\u200b"]),
    max_size=30,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=7000), MENTIONISH), st.integers(1, 300))
def test_an_echo_is_one_short_line_that_cannot_ping(text: str, limit: int) -> None:
    echo = quoted(text, limit)
    # Cut to the limit, then markdown-escaped (at most one backslash a character), in quotes.
    assert len(echo) <= 2 * limit + 2 or echo == "that"
    assert "\n" not in echo
    assert not any(unicodedata.category(c) == "Cc" for c in echo)
    for inert in ("@everyone", "@here"):
        assert inert not in echo
    assert not re.search(r"<(@[!&]?|#)\d+>", echo)


@settings(max_examples=300, deadline=None)
@given(MENTIONISH.map(lambda t: t.replace("\u200b", "")))
def test_defused_mentions_stay_readable(text: str) -> None:
    defused = defuse_mentions(text)
    assert defused.replace("\u200b", "") == text


MARKDOWNISH = st.lists(
    st.sampled_from(["*", "_", "~", "|", "`", ">", ">>> ", "[a](b)", "#", "-", " ", "\n", "\\"])
    | st.sampled_from(["https://x.org/a_b", "<https://y.org/*>", "word", "On-device", "é"]),
    max_size=20,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=300), MARKDOWNISH))
def test_titles_are_escaped_exactly_as_discord_py_escapes_them(text: str) -> None:
    # md() skips discord.py's slower expression when nothing in the text could be markdown.
    assert md(text) == discord.utils.escape_markdown(text)


def test_a_zone_that_is_a_folder_of_zones_is_a_program_error() -> None:
    """`America` is a folder in the zone database, not a zone: one clear error, no traceback."""
    text = HAET_FILE.read_text(encoding="utf-8").replace(
        "timezone: America/New_York", "timezone: America", 1
    )
    with pytest.raises(ProgramError) as caught:
        parse_program(text, "haet.yaml")
    assert caught.value.field == "workshop.timezone"
