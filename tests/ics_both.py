"""The iCalendar importer read both ways, the fast one and the careful one (``fast=False``,
icalendar reads every needed line), with a check that both give the same outcome.

The ics tests import ``parse`` from here, so each of their calendars also proves that the
fast reading gives the same program (the same program file), the same report and the same
error (message, line and field) as the careful one.
"""

from __future__ import annotations

from typing import Any

from bot.errors import ProgramError
from bot.program.files import dump_program
from bot.program.importers import ImportOptions, ics
from bot.program.importers.report import ImportReport
from bot.program.model import Program


def outcome(
    text: str, source: str, options: ImportOptions, report: ImportReport, *, fast: bool
) -> tuple[Any, ...]:
    """What one reading gives: the program and its file, or the error; and the report."""
    try:
        program = ics.parse(text, source, options, report, fast=fast)
    except ProgramError as exc:
        result: tuple[Any, ...] = ("error", str(exc), exc.line, exc.field)
    else:
        result = ("program", program, dump_program(program))
    return (*result, report.items(), report.render())


def parse(
    text: str, source: str, options: ImportOptions, report: ImportReport | None = None
) -> Program:
    """``ics.parse``, having checked that the careful reading gives the same."""
    careful = outcome(text, source, options, ImportReport(source), fast=False)
    report = report if report is not None else ImportReport(source)
    fast = outcome(text, source, options, report, fast=True)
    assert fast == careful
    if fast[0] == "error":
        # The same error again, raised as the tests expect it.
        ics.parse(text, source, options, ImportReport(source))
        raise AssertionError("the error was not raised again")  # pragma: no cover
    program: Program = fast[1]
    return program
