"""The `workshop-bot` command: import, validate, db, load, run, playground, sync, invite-url."""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from bot.errors import ProgramError, WorkshopBotError


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2022-07-23") from None


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO time like 2022-07-23T08:40-04:00"
        ) from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a UTC offset, e.g. -04:00")
    return moment


#: The fastest rehearsal: a 12-hour day in about 4 seconds. Faster, timers and the engine's
#: sleeps lose all meaning (and 1e308 overflows the clock).
MAX_SPEED = 10_000


def _speed(text: str) -> float:
    try:
        speed = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number like 60") from None
    if not math.isfinite(speed) or not 0 < speed <= MAX_SPEED:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a speed: use a number above 0 and at most {MAX_SPEED:,} "
            "(60 rehearses an hour in a minute)"
        )
    return speed


def _link(text: str) -> tuple[str, str]:
    title, sep, url = text.partition("=")
    if not sep or not title or not url:
        raise argparse.ArgumentTypeError(f"{text!r} is not TITLE=URL")
    return title, url


def _kind_pair(text: str) -> tuple[str, str]:
    source_type, sep, kind = text.rpartition("=")
    if not sep or not source_type.strip() or not kind.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not TYPE=KIND, e.g. 'Doppelter Slot=talk'")
    return source_type.strip(), kind.strip()


def _add_clock_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--simulate-start",
        type=_instant,
        metavar="ISO",
        help="rehearse: start the clock at this instant, e.g. 2022-07-23T08:40-04:00",
    )
    p.add_argument(
        "--speed",
        type=_speed,
        metavar="N",
        help=f"rehearse N times faster than real time (0 < N <= {MAX_SPEED:,})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workshop-bot", description="A Discord bot that runs a workshop's server on the day."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("import", help="turn a published schedule into a program file")
    p.add_argument("format", choices=["virtual-site", "frab", "schedule2", "ics", "workshop-site"])
    p.add_argument("source", type=Path, help="the schedule file (use - for standard input)")
    p.add_argument("-o", "--output", type=Path, required=True, help="program file to write")
    p.add_argument("--date", type=_date, help="the workshop day, YYYY-MM-DD")
    p.add_argument("--tz", help="IANA zone of the times as the source displays them")
    p.add_argument("--venue-tz", help="IANA zone of the venue (default: --tz)")
    p.add_argument("--name", help="workshop name")
    p.add_argument("--acronym", help="workshop acronym, e.g. 'HAET 2022'")
    p.add_argument("--venue", help="where it takes place")
    p.add_argument("--link", type=_link, action="append", default=[], metavar="TITLE=URL")
    p.add_argument(
        "--kind-map",
        type=_kind_pair,
        action="append",
        default=[],
        metavar="TYPE=KIND",
        help="give events of this source type (e.g. 'Doppelter Slot') this kind (e.g. talk)",
    )

    _add_enrich_parser(sub)

    p = sub.add_parser("validate", help="check a program file")
    p.add_argument("file", type=Path)

    p = sub.add_parser("db", help="database maintenance")
    p.add_argument("action", choices=["upgrade", "current"])

    p = sub.add_parser("load", help="load a program file into the database (idempotent)")
    p.add_argument("file", type=Path, nargs="?", help="default: PROGRAM_FILE")

    p = sub.add_parser("run", help="run the bot (without DISCORD_TOKEN: the local playground)")
    _add_clock_options(p)

    p = sub.add_parser("playground", help="the bot against a local Discord, in your terminal")
    _add_clock_options(p)

    p = sub.add_parser("claim-codes", help="one-time codes for authors to /claim their names")
    p.add_argument("--people", nargs="+", metavar="NAME", help="default: everyone not linked")
    p.add_argument("-o", "--output", type=Path, required=True, help="the CSV to write")

    sub.add_parser("sync", help="sync slash commands globally (run once after an upgrade)")
    sub.add_parser("invite-url", help="print the link that adds the bot to a server")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ProgramError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except WorkshopBotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "import":
        return _import(args)
    if args.command == "validate":
        return _validate(args)
    if args.command == "enrich":
        return _enrich(args)
    if args.command == "db":
        return asyncio.run(_db(args))
    if args.command == "load":
        return asyncio.run(_load(args))
    if args.command == "claim-codes":
        return asyncio.run(_claim_codes(args))
    from bot import app

    if args.command == "run":
        return app.run(simulate_start=args.simulate_start, speed=args.speed)
    if args.command == "playground":
        return app.playground(simulate_start=args.simulate_start, speed=args.speed)
    if args.command == "sync":
        return app.sync_global()
    if args.command == "invite-url":
        return app.print_invite_url()
    raise AssertionError(args.command)


def _import(args: argparse.Namespace) -> int:
    from bot.program.files import write_program
    from bot.program.importers import ImportOptions, get_importer
    from bot.program.importers.report import ImportReport
    from bot.program.model import Link

    source = "<stdin>" if str(args.source) == "-" else str(args.source)
    output: Path = args.output
    # Checked before reading: a long import must not end in "cannot write there".
    if output.is_dir():
        raise ProgramError("is a folder; give the program file to write", source=str(output))
    if not output.parent.is_dir():
        raise ProgramError(
            f"the folder {output.parent} does not exist (create it first)", source=str(output)
        )
    text = _read_source(args.source, source)
    options = ImportOptions(
        date=args.date,
        tz=args.tz,
        name=args.name,
        acronym=args.acronym,
        venue=args.venue,
        venue_tz=args.venue_tz,
        links=tuple(Link(title=t, url=u) for t, u in args.link),
        kind_map=tuple(args.kind_map),
    )
    report = ImportReport(source)
    importer = get_importer(args.format)
    # Handed over, not kept here: the importer can drop the text once it has what it needs
    # (a 20 MB export with one emoji in it is an 80 MB str).
    handed = [text]
    del text
    program = importer(handed.pop(), source, options, report)
    # Only a complete, valid program reaches the disk.
    try:
        write_program(program, output)
    except OSError as exc:
        raise ProgramError(f"cannot write: {exc.strerror or exc}", source=str(output)) from None
    print(f"wrote {output}: {len(program.entries)} entries of {program.workshop.name}")
    for line in report.render():
        print(line)
    return 0


def _read_source(path: Path, source: str) -> str:
    """The source file's text; one line for a file that is missing, empty or not UTF-8."""
    try:
        data = sys.stdin.buffer.read() if source == "<stdin>" else path.read_bytes()
    except FileNotFoundError:
        raise ProgramError("no such file", source=source) from None
    except IsADirectoryError:
        raise ProgramError("is a folder, not a schedule file", source=source) from None
    except OSError as exc:
        raise ProgramError(f"cannot read: {exc.strerror or exc}", source=source) from None
    if not data.strip():
        raise ProgramError("the file is empty", source=source, line=1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ProgramError(f"not UTF-8 text (byte {exc.start})", source=source, line=line) from None


_ENRICH_FORMATS = ("virtual-site", "frab", "schedule2", "ics", "workshop-site")


def _source_spec(text: str) -> tuple[str, Path]:
    fmt, sep, path = text.partition(":")
    if not sep or not path or fmt not in _ENRICH_FORMATS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not FORMAT:PATH with FORMAT one of {', '.join(_ENRICH_FORMATS)}"
        )
    return fmt, Path(path)


def _add_enrich_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "enrich",
        help="add what a second source has (links, abstracts, people's details) to a program",
        description="Match the program's entries by title with each source's and add what the "
        "program lacks; titles, people and times stay the program's.",
    )
    p.add_argument("program", type=Path, help="the program file (the program of record)")
    p.add_argument(
        "--from",
        dest="sources",
        type=_source_spec,
        action="append",
        required=True,
        metavar="FORMAT:PATH",
        help="a source, e.g. workshop-site:site/accepter_papers.md (repeat for several)",
    )
    p.add_argument("-o", "--output", type=Path, required=True, help="program file to write")
    p.add_argument(
        "--date", type=_date, help="the day the sources' times are on (default: the program's)"
    )
    p.add_argument("--tz", help="IANA zone of the sources' times (default: the program's)")


def _enrich(args: argparse.Namespace) -> int:
    from bot.program.enrich import EnrichReport, Lines, enrich, unmatched_program_entries
    from bot.program.files import load_program, write_program
    from bot.program.importers import ImportOptions, get_importer

    output: Path = args.output
    if output.is_dir():
        raise ProgramError("is a folder; give the program file to write", source=str(output))
    if not output.parent.is_dir():
        raise ProgramError(
            f"the folder {output.parent} does not exist (create it first)", source=str(output)
        )
    program = load_program(args.program)
    program_text = args.program.read_text(encoding="utf-8")
    options = ImportOptions(
        date=args.date or program.workshop.date,
        tz=args.tz or program.workshop.timezone,
        name=program.workshop.name,
        acronym=program.workshop.acronym,
    )
    enriched, matched, reports = program, set(), []
    for fmt, path in args.sources:
        text = _read_source(path, str(path))
        report = EnrichReport(str(path))
        source = get_importer(fmt)(text, str(path), options, report)
        enriched, found = enrich(enriched, source, report, Lines(text))
        matched |= found
        reports.append(report)
    reports.append(unmatched_program_entries(program, matched, str(args.program), program_text))
    try:
        write_program(enriched, output)
    except OSError as exc:
        raise ProgramError(f"cannot write: {exc.strerror or exc}", source=str(output)) from None
    print(f"wrote {output}: {len(enriched.entries)} entries of {enriched.workshop.name}")
    for report in reports:
        for line in report.render():
            print(line)
    return 0


def _validate(args: argparse.Namespace) -> int:
    from collections import Counter

    from bot.program.files import ProgramWarning, load_program

    warnings: list[ProgramWarning] = []
    program = load_program(args.file, warnings=warnings)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    kinds = Counter(e.kind for e in program.entries)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    print(f"{args.file}: valid, {len(program.entries)} entries ({summary})")
    return 0


async def _db(args: argparse.Namespace) -> int:
    from bot.db import migrate
    from bot.db.session import create_engine
    from bot.settings import Settings

    settings = Settings()
    engine = create_engine(settings.database_url)
    try:
        if args.action == "upgrade":
            await migrate.upgrade(engine)
        print(f"database at revision {await migrate.current_revision(engine)}")
    finally:
        await engine.dispose()
    return 0


async def _load(args: argparse.Namespace) -> int:
    from bot.clock import SystemClock
    from bot.db import migrate
    from bot.db.session import create_engine, create_sessionmaker
    from bot.program.files import load_program
    from bot.program.loader import load_program as load_into_db
    from bot.settings import Settings

    settings = Settings()
    program = load_program(args.file or settings.program_path)
    engine = create_engine(settings.database_url)
    try:
        # The same lock as a bot starting on this database: one load or start-up at a time.
        async with migrate.startup_lock(engine):
            await migrate.upgrade(engine)
            report = await load_into_db(create_sessionmaker(engine), program, SystemClock().now())
    finally:
        await engine.dispose()
    print(f"loaded {program.workshop.name}: {report.summary()}")
    return 0


async def _claim_codes(args: argparse.Namespace) -> int:
    from bot.people_codes import write_claim_codes

    return await write_claim_codes(args.output, args.people)
