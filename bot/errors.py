"""The project's own exceptions: every failure a user or organizer can cause has one."""

from __future__ import annotations


class WorkshopBotError(Exception):
    """Base class of every error this project raises on purpose."""


class UserFacingError(WorkshopBotError):
    """An expected failure whose message is shown to the user as is (short, no traceback)."""


class ProgramError(WorkshopBotError):
    """A program source or file is wrong. The message names the place (line and/or field).

    ``source`` is the file name (or ``<stdin>``), ``line`` is 1-based where known, and
    ``field`` is a dotted path such as ``entries[3].title``.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.field = field
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.source:
            where.append(self.source if self.line is None else f"{self.source}:{self.line}")
        elif self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(self.field)
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class TimeParseError(UserFacingError):
    """A time the user typed could not be understood."""
