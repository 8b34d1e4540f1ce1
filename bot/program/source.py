"""Where the program comes from: a file, or a URL the bot follows (no Discord here).

The program setting (``PROGRAM_FILE``) names a program file, or a schedule in a format the
importers read (frab or pretalx JSON, schedule2, iCalendar), as a path or an http(s) URL.
A URL is fetched at start and every ``PROGRAM_REFRESH_SECONDS``, with a conditional GET
(ETag, Last-Modified), and a change is applied as ``/program reload`` applies one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.errors import ProgramError
from bot.program.files import ProgramWarning, parse_program
from bot.program.model import Program

log = logging.getLogger(__name__)

#: Formats a source may be in; "auto" tells them apart by their content.
SOURCE_FORMATS = ("auto", "program", "frab", "pretalx", "schedule2", "ics")
#: A fetched schedule bigger than this is refused (a 10,000-entry frab export is ~40 MB).
MAX_BYTES = 200 * 1024 * 1024
#: How long one fetch may take, connecting and reading included.
FETCH_TIMEOUT_S = 60.0


def is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def shown(location: str) -> str:
    """A source's location as it may be shown: a URL without its query (tokens live there)
    and without a user:password part."""
    if not is_url(location):
        return location
    from yarl import URL

    url = URL(location)
    return str(url.with_query(None).with_fragment(None).with_user(None).with_password(None))


def detect_format(text: str) -> str:
    """The format of a schedule's text: ``ics``, ``frab`` (frab, pretalx and schedule2 JSON:
    the frab importer tells schedule2 apart) or ``program`` (the bot's own YAML)."""
    head = text.lstrip("\ufeff \t\r\n")[:200]
    if head.upper().startswith("BEGIN:VCALENDAR"):
        return "ics"
    if head.startswith(("{", "[")):
        return "frab"
    return "program"


def read_program(
    text: str, source: str, fmt: str = "auto", warnings: list[ProgramWarning] | None = None
) -> Program:
    """A program from a source's text, in ``fmt`` (or detected); a ProgramError names the line
    and field. In a worker thread for a big one: parsing is seconds of CPU."""
    if not text.strip():
        raise ProgramError("the file is empty", source=source, line=1)
    if fmt == "auto":
        fmt = detect_format(text)
    if fmt == "program":
        return parse_program(text, source=source, warnings=warnings)
    from bot.program.importers import ImportOptions, get_importer
    from bot.program.importers.report import ImportReport

    report = ImportReport(source)
    program = get_importer(fmt)(text, source, ImportOptions(), report)
    # What the importer kept, changed and dropped: for the log (an organizer reads it in full
    # with `workshop-bot import`), not a warning about the program.
    for line in report.render():
        if line.strip():
            log.info("%s", line)
    return program


def read_file(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ProgramError("no such file", source=str(path)) from None
    except OSError as exc:
        raise ProgramError(f"cannot read: {exc.strerror or exc}", source=str(path)) from None
    return decode(data, str(path))


def decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ProgramError(f"not UTF-8 text (byte {exc.start})", source=source, line=line) from None


@dataclass
class Fetched:
    """One fetch: ``text`` is None when the server said nothing changed (304)."""

    text: str | None
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class Fetcher:
    """Conditional GETs of one URL: it sends back the ETag and Last-Modified it was given."""

    url: str
    timeout: float = FETCH_TIMEOUT_S
    etag: str | None = None
    last_modified: str | None = None
    requests: int = 0

    async def fetch(self) -> Fetched:
        """The body if it changed since the last fetch; a ProgramError says why not."""
        import aiohttp

        headers = {"User-Agent": "workshop-bot (program follower)"}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        where = shown(self.url)
        self.requests += 1
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.get(self.url, headers=headers) as response,
            ):
                if response.status == 304:
                    return Fetched(None, self.etag, self.last_modified)
                if response.status != 200:
                    raise ProgramError(
                        f"the server answered HTTP {response.status} {response.reason or ''}".rstrip(),
                        source=where,
                    )
                if (response.content_length or 0) > MAX_BYTES:
                    raise ProgramError("bigger than 200 MB: refused", source=where)
                data = await response.content.read(MAX_BYTES + 1)
                if len(data) > MAX_BYTES:
                    raise ProgramError("bigger than 200 MB: refused", source=where)
                etag = response.headers.get("ETag")
                modified = response.headers.get("Last-Modified")
        except ProgramError:
            raise
        except TimeoutError:
            raise ProgramError(f"no answer within {self.timeout:.0f} s", source=where) from None
        except aiohttp.ClientError as exc:
            raise ProgramError(f"cannot fetch: {exc}", source=where) from None
        text = decode(data, where)
        # Remembered only once the body is read whole: a cut-off answer is fetched again.
        self.etag, self.last_modified = etag, modified
        return Fetched(text, etag, modified)

    def forget(self) -> None:
        """The next fetch asks for the whole body (its last one was not applied)."""
        self.etag = self.last_modified = None


def reason_key(reason: str, last_good: str | None) -> str:
    """A short key for one problem with one last good program: told once, not every fetch."""
    digest = hashlib.sha256(json.dumps([reason, last_good]).encode()).hexdigest()
    return digest[:16]


@dataclass
class SourceState:
    """What /status says about the source (this process's view)."""

    location: str
    is_url: bool
    refresh_seconds: float
    checked_at: datetime | None = None  # the last fetch or read, whatever came of it
    changed_at: datetime | None = None  # the last time a change was applied
    problem: str | None = None  # why the last check kept the last good program
    problem_since: datetime | None = None
