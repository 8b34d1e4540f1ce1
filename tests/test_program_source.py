"""The program source: what a file or URL holds, told apart by its content."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ProgramError
from bot.program.source import detect_format, read_program, shown
from bot.settings import Settings
from tests.conftest import HAET_FILE

CORPORA = Path(__file__).resolve().parent / "fixtures" / "corpora"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pretalx-democon.schedule.json", "frab"),
        ("hub-38c3.schedule2.json", "frab"),  # the frab importer reads schedule2 as schedule2
        ("pretalx-democon.ics", "ics"),
        ("pyconuk2015.ics", "ics"),
    ],
)
def test_a_real_export_is_told_apart_by_its_content(name: str, expected: str) -> None:
    assert detect_format((CORPORA / name).read_text(encoding="utf-8")) == expected


def test_the_bots_own_program_file_is_a_program() -> None:
    text = HAET_FILE.read_text(encoding="utf-8")
    assert detect_format(text) == "program"
    assert detect_format("\ufeff" + text) == "program"
    program = read_program(text, "haet.yaml")
    assert program.workshop.acronym == "HAET 2022" and len(program.entries) == 37


def test_a_pretalx_export_reads_as_the_importer_reads_it() -> None:
    text = (CORPORA / "pretalx-democon.schedule.json").read_text(encoding="utf-8")
    program = read_program(text, "https://pretalx.example.org/democon/schedule.json")
    assert program.workshop.name != "pretalx"
    # The same text gives the same ids: a followed source keeps its reminders attached.
    again = read_program(text, "elsewhere")
    assert [e.id for e in program.entries] == [e.id for e in again.entries]


def test_an_empty_source_is_one_clear_line() -> None:
    with pytest.raises(ProgramError, match="the file is empty"):
        read_program("  \n", "https://example.org/s.json")


def test_a_url_is_shown_without_its_query_or_password() -> None:
    assert (
        shown("https://user:pw@pretalx.example.org/c/schedule.json?key=s3cret#x")
        == "https://pretalx.example.org/c/schedule.json"
    )
    assert shown("data/haet2022.yaml") == "data/haet2022.yaml"


def test_the_setting_takes_a_path_or_a_url() -> None:
    url = Settings(_env_file=None, program_file="https://example.org/s.ics")  # type: ignore[call-arg]
    assert url.program_is_url
    path = Settings(_env_file=None, program_file=HAET_FILE)  # type: ignore[call-arg]
    assert not path.program_is_url and path.program_path == HAET_FILE
    with pytest.raises(ValueError):
        Settings(_env_file=None, program_format="xml")  # type: ignore[call-arg, arg-type]
