"""`workshop-bot claim-codes`: one-time codes for authors, written to a CSV for e-mailing.

The codes go to the file only (never to the log or the terminal); the database keeps their
hashes. The CSV's rows: person, code, and the titles of the person's entries (to write the
e-mail with).
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from bot.errors import UserFacingError, WorkshopBotError

log = logging.getLogger(__name__)


async def write_claim_codes(output: Path, people: Sequence[str] | None = None) -> int:
    from bot.clock import SystemClock
    from bot.db import migrate
    from bot.db.session import create_engine, create_sessionmaker
    from bot.services.people import PeopleService
    from bot.services.program import ProgramService
    from bot.settings import Settings

    settings = Settings()
    engine = create_engine(settings.database_url)
    try:
        async with migrate.startup_lock(engine):
            await migrate.upgrade(engine)
        sessions = create_sessionmaker(engine)
        program = ProgramService(sessions)
        await program.refresh()
        if not program.loaded:
            raise WorkshopBotError("no program in the database: run `workshop-bot load` first")
        service = PeopleService(sessions, SystemClock(), program)
        if people:
            try:
                for name in people:
                    service.resolve(name)
            except UserFacingError as exc:
                raise WorkshopBotError(str(exc)) from None
        # The file first (owner-only), so that a path that cannot be written costs no codes.
        output.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as out:
            issued = await service.make_codes(people)
            writer = csv.writer(out)
            writer.writerow(["person", "code", "entries"])
            for item in issued:
                writer.writerow([item.person, item.code, " | ".join(t.title for t in item.talks)])
    finally:
        await engine.dispose()
    print(
        f"wrote {len(issued)} claim codes to {output} (earlier unused codes of theirs no longer work)"
    )
    return 0
