"""The program's digest: what start-up and `/program reload` compute for every program file."""

from __future__ import annotations

import re
import time
from datetime import timedelta

from bench.programs import synthetic_program
from bot.program.files import dump_program, load_program, parse_program, program_digest
from tests.conftest import HAET_FILE


def test_the_digest_is_the_programs_not_its_spelling() -> None:
    haet = load_program(HAET_FILE)
    digest = program_digest(haet)
    assert re.fullmatch("[0-9a-f]{64}", digest)
    assert program_digest(parse_program(dump_program(haet))) == digest
    # The same instants with another UTC offset are the same program.
    text = HAET_FILE.read_text(encoding="utf-8")
    utc = text.replace("'2022-07-23T08:45:00-04:00'", "'2022-07-23T12:45:00+00:00'")
    assert utc != text and program_digest(parse_program(utc)) == digest

    first = haet.entries[0]
    later = first.model_copy(update={"start": first.start + timedelta(minutes=1)})
    retitled = first.model_copy(update={"title": first.title + "!"})
    for changed in (later, retitled):
        other = haet.model_copy(update={"entries": (changed, *haet.entries[1:])})
        assert program_digest(other) != digest


def test_a_10000_entry_program_is_digested_in_well_under_a_second() -> None:
    # The YAML dump it replaced took 16 s, on the event loop, at start-up and every reload.
    program = synthetic_program(10_000)
    spent = []
    for _ in range(3):
        began = time.perf_counter()
        program_digest(program)
        spent.append(time.perf_counter() - began)
    assert min(spent) < 1.0, spent
