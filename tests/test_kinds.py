"""Kinds as people write them (bot/services/kinds.py) and kind typos in program files."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.program.files import ProgramWarning, load_program, parse_program
from bot.program.model import kind_distance, kind_key
from bot.services.kinds import (
    closest_kind,
    lookalikes,
    matching_kinds,
    resolve_kind,
    split_kinds,
)
from tests.conftest import HAET_FILE

HAET_KINDS = [
    "opening",
    "keynote",
    "poster_session",
    "poster",
    "break",
    "presentation",
    "panel",
    "closing",
]


def test_a_kind_is_read_from_its_id_its_label_a_plural_any_case() -> None:
    for typed, kind in [
        ("poster_session", "poster_session"),
        ("Poster session", "poster_session"),
        ("poster sessions", "poster_session"),
        ("Poster-Sessions", "poster_session"),
        ("KEYNOTES", "keynote"),
        ("Panels", "panel"),
        (" break ", "break"),
    ]:
        assert resolve_kind(typed, HAET_KINDS) == kind, typed
    for typed in ["panle", "banquet", "", "   ", "poster session keynote", "🙂"]:
        assert resolve_kind(typed, HAET_KINDS) is None, typed
    assert kind_key("Poster sessions") == kind_key("poster_session") == "postersession"
    assert kind_key("Plenaries") == kind_key("plenary")


def test_lists_split_on_commas_only() -> None:
    assert split_kinds("keynote, poster session") == ["keynote", "poster session"]
    assert split_kinds("Keynotes,Panels,, ") == ["Keynotes", "Panels"]
    assert split_kinds(" , ") == []


def test_near_misses_are_suggested_never_taken() -> None:
    assert closest_kind("panle", HAET_KINDS) == "panel"
    assert closest_kind("kenote", HAET_KINDS) == "keynote"
    assert closest_kind("postr sesion", HAET_KINDS) == "poster_session"
    assert closest_kind("key", HAET_KINDS) == "keynote"  # the only kind starting so
    assert closest_kind("banquet", HAET_KINDS) is None
    assert closest_kind("po", HAET_KINDS) is None
    assert matching_kinds("", HAET_KINDS) == HAET_KINDS
    assert matching_kinds("poster", HAET_KINDS) == ["poster", "poster_session"]
    assert matching_kinds("session", HAET_KINDS) == ["poster_session"]
    assert matching_kinds("Poster sessions", HAET_KINDS) == ["poster_session"]
    assert matching_kinds("kenote", HAET_KINDS) == ["keynote"]
    assert matching_kinds("zzz", HAET_KINDS) == []
    assert kind_distance("panle", "panel") == 1
    assert kind_distance("opening", "closing") is None
    assert kind_distance("poster", "poster_session") is None


def test_lookalikes_after_a_reload() -> None:
    before = {"keynote": 6, "panel": 1, "tutorial": 3}
    found = lookalikes(before, {"keynote": 6, "panle": 1, "tutorials": 3})
    assert [(f.kind, f.entries, f.like) for f in found] == [
        ("panle", 1, "panel"),
        ("tutorials", 3, "tutorial"),
    ]
    # Fixing the typo brings in a kind the bot knows: that is meant.
    assert lookalikes({"panle": 1}, {"panel": 1}) == []


def _typo_file(tmp_path: Path) -> Path:
    text = HAET_FILE.read_text(encoding="utf-8")
    at = text.index("- id: panel\n")
    path = tmp_path / "typo.yaml"
    path.write_text(text[:at] + text[at:].replace("kind: panel", "kind: panle", 1), "utf-8")
    return path


def test_validate_warns_of_a_kind_that_looks_like_a_typo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _typo_file(tmp_path)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr()
    line = path.read_text(encoding="utf-8").splitlines().index("  kind: panle") + 1
    assert out.err == (
        f"warning: {path}:{line}, entries[35].kind: kind 'panle' (1 entry) looks like a "
        "misspelling of 'panel' (a kind the bot knows): its entries are left out of every "
        "reminder, announcement channel and Discord event set up for 'panel'\n"
    )
    assert "valid, 37 entries" in out.out


def test_kind_warnings_compare_with_the_files_own_kinds() -> None:
    warnings: list[ProgramWarning] = []
    load_program(HAET_FILE, warnings)
    assert warnings == []  # the shipped program has no look-alike kinds
    text = HAET_FILE.read_text(encoding="utf-8")
    # A workshop's own kind, used by most entries, and one entry misspelling it.
    text = text.replace("kind: poster\n", "kind: lightning_talk\n")
    at = text.index("kind: lightning_talk\n")
    text = text[:at] + "kind: lightning_tlak\n" + text[at + len("kind: lightning_talk\n") :]
    parse_program(text, "edited.yaml", warnings)
    assert [w.message for w in warnings] == [
        "kind 'lightning_tlak' (1 entry) looks like a misspelling of 'lightning_talk' (23 "
        "entries in this file): its entries are left out of every reminder, announcement "
        "channel and Discord event set up for 'lightning_talk'"
    ]
