"""Logging, configured once; a filter keeps the bot token out of every record."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class RedactFilter(logging.Filter):
    """Replaces any occurrence of the given secrets in a record's final message."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        text = message
        for secret in self.secrets:
            text = text.replace(secret, "[token]")
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            exc_text = record.exc_text
            for secret in self.secrets:
                exc_text = exc_text.replace(secret, "[token]")
            record.exc_text = exc_text
        if text != message:
            record.msg, record.args = text, None
        return True


def configure_logging(level: str = "INFO", secrets: list[str] | None = None) -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactFilter(secrets or []))
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # discord.py's own INFO chatter about gateway sessions is useful; its DEBUG is not.
    logging.getLogger("discord").setLevel(max(root.level, logging.INFO))
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    # APScheduler logs every run of the delivery job at INFO.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
