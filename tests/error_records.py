"""A log handler both Discord test suites use: every ERROR record fails the test."""

from __future__ import annotations

import logging

from bot.simulator import DiscordSimulator


class ErrorRecords(logging.Handler):
    """Collects ERROR records; the test fails at teardown unless it expected (took) them."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self.sim: DiscordSimulator | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if self.sim is not None:
            # Fail a waiting interaction at once instead of after its timeout.
            self.sim.fail_waiters(AssertionError(f"logged an error: {self.format(record)}"))

    def take(self) -> list[logging.LogRecord]:
        """Hand over (and forget) the records a test expected."""
        taken, self.records = self.records, []
        return taken
