"""The workshop-bot CLI as an organizer uses it: import, validate, db upgrade, load."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.program.importers.virtual_site import HAET_OPTIONS
from tests.conftest import FIXTURES, HAET_FILE

SEED = FIXTURES / "haet2022_virtual_site.txt"
CORPORA = FIXTURES / "corpora"


def haet_import_args(source: Path, output: Path) -> list[str]:
    opts = HAET_OPTIONS
    args = ["import", "virtual-site", str(source), "-o", str(output)]
    args += ["--date", str(opts.date), "--tz", str(opts.tz), "--venue-tz", str(opts.venue_tz)]
    args += ["--name", str(opts.name), "--acronym", str(opts.acronym), "--venue", str(opts.venue)]
    for link in opts.links:
        args += ["--link", f"{link.title}={link.url}"]
    return args


def test_import_regenerates_the_shipped_haet_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "haet.yaml"
    assert main(haet_import_args(SEED, out)) == 0
    assert "37 entries" in capsys.readouterr().out
    # The shipped file also has what the workshop's website adds (tests/test_enrich.py).
    site = CORPORA / "haet2022-site"
    sources = [f"workshop-site:{site / page}" for page in ("accepter_papers.md", "speakers.md")]
    assert (
        main(["enrich", str(out), "-o", str(out), *(a for s in sources for a in ("--from", s))])
        == 0
    )
    assert out.read_bytes() == HAET_FILE.read_bytes()


@pytest.mark.parametrize(
    ("fmt", "name", "extra"),
    [
        ("frab", "frab-camp2019.schedule.json", []),
        ("frab", "pretalx-rc3.schedule.json", ["--tz", "Europe/Berlin"]),
        ("frab", "pretalx-democon.schedule.json", []),
        ("ics", "pyconuk2015.ics", []),
    ],
)
def test_every_corpus_imports_and_validates(
    tmp_path: Path, fmt: str, name: str, extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "program.yaml"
    assert main(["import", fmt, str(CORPORA / name), "-o", str(out), *extra]) == 0
    assert main(["validate", str(out)]) == 0
    assert "valid" in capsys.readouterr().out


def _broken_inputs(tmp_path: Path) -> list[tuple[list[str], str]]:
    seed = SEED.read_text(encoding="utf-8")
    cut = tmp_path / "cut.txt"
    cut.write_text(seed[: len(seed) // 3], encoding="utf-8")
    frab = (CORPORA / "frab-camp2019.schedule.json").read_text(encoding="utf-8")
    bad_date = tmp_path / "bad-date.json"
    bad_date.write_text(
        frab.replace('"date": "2019-08-21T16:00:00+02:00"', '"date": "21/08/2019 16:00"', 1),
        encoding="utf-8",
    )
    no_title = tmp_path / "no-title.ics"
    ics = (CORPORA / "pyconuk2015.ics").read_bytes().decode("utf-8")
    first_summary = ics.index("SUMMARY:")
    no_title.write_text(
        ics[:first_summary] + ics[ics.index("\n", first_summary) + 1 :], encoding="utf-8"
    )
    dup = tmp_path / "dup.yaml"
    text = HAET_FILE.read_text(encoding="utf-8").replace(
        "- id: keynote-alexander-keller", "- id: keynote-melika-payvand"
    )
    dup.write_text(text, encoding="utf-8")
    return [
        (haet_import_args(cut, tmp_path / "o1.yaml"), "cut.txt:"),
        (["import", "frab", str(bad_date), "-o", str(tmp_path / "o2.yaml")], "bad-date.json:"),
        (
            [
                *haet_import_args(SEED, tmp_path / "o3.yaml")[:5],
                "--date",
                "2022-07-23",
                "--tz",
                "America/Baltimore",
                "--name",
                "x",
                "--acronym",
                "y",
            ],
            "America/Baltimore",
        ),
        (["import", "ics", str(no_title), "-o", str(tmp_path / "o4.yaml")], "SUMMARY"),
        (["validate", str(dup)], "dup.yaml:"),
    ]


def test_broken_inputs_give_one_line_errors_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for args, place in _broken_inputs(tmp_path):
        assert main(args) == 1, args
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert place in err, (place, err)
    assert not list(tmp_path.glob("o*.yaml"))


def test_dup_id_error_names_the_line_of_the_second_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = HAET_FILE.read_text(encoding="utf-8")
    dup = tmp_path / "dup.yaml"
    dup.write_text(
        text.replace("- id: keynote-alexander-keller", "- id: keynote-melika-payvand"),
        encoding="utf-8",
    )
    line = text.splitlines().index("- id: keynote-alexander-keller") + 1
    assert main(["validate", str(dup)]) == 1
    assert (
        f"dup.yaml:{line}, entries[2].id: two entries have the same id" in capsys.readouterr().err
    )


def test_db_upgrade_and_load_are_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    assert main(["db", "upgrade"]) == 0
    assert re.search(r"database at revision \d{4}\n", capsys.readouterr().out)
    assert main(["load", str(HAET_FILE)]) == 0
    assert "37 added" in capsys.readouterr().out
    assert main(["load", str(HAET_FILE)]) == 0
    assert "0 added, 0 updated (0 moved), 0 cancelled, 37 unchanged" in capsys.readouterr().out


# -- what `validate` and `load` refuse, and what they only warn about ----------------------------

HAET_TEXT = HAET_FILE.read_text(encoding="utf-8")
HAET_LINES = HAET_TEXT.splitlines()


def line_of(text: str) -> int:
    """1-based line of the shipped program that is exactly ``text``."""
    return HAET_LINES.index(text) + 1


def edited(tmp_path: Path, old: str, new: str, name: str = "edited.yaml") -> Path:
    assert HAET_TEXT.count(old) == 1, old
    path = tmp_path / name
    path.write_text(HAET_TEXT.replace(old, new), encoding="utf-8")
    return path


def refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


OPENING_TITLE = "  title: Opening welcome speech"
KELLER_PEOPLE = "  - Alexander Keller"


@pytest.mark.parametrize(
    ("old", "new", "field", "character"),
    [
        # Escaped in a double-quoted string: YAML accepts it, PostgreSQL would not.
        (OPENING_TITLE, '  title: "Opening\\0 welcome speech"', "entries[0].title", "U+0000"),
        (OPENING_TITLE, '  title: "Opening\\e[31m welcome"', "entries[0].title", "U+001B"),
        (KELLER_PEOPLE, '  - "Alexander\\x7fKeller"', "entries[2].people[0]", "U+007F"),
        (OPENING_TITLE, '  title: "Opening \\x85 welcome"', "entries[0].title", "U+0085"),
        # Raw in the file: found before YAML's reader refuses it without a line.
        (OPENING_TITLE, "  title: Opening\x00 welcome speech", "entries[0].title", "U+0000"),
        (OPENING_TITLE, "  title: Opening\x1b welcome speech", "entries[0].title", "U+001B"),
        (KELLER_PEOPLE, "  - Alexander\x08 Keller", "entries[2].people[0]", "U+0008"),
    ],
)
def test_a_control_character_is_refused_naming_line_and_field(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    old: str,
    new: str,
    field: str,
    character: str,
) -> None:
    path = edited(tmp_path, old, new)
    err = refused(capsys, "validate", str(path))
    assert f"edited.yaml:{line_of(old)}, {field}" in err, err
    assert f"control character {character}" in err, err
    # `load` reads the file the same way: nothing reaches the database.
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.chdir(tmp_path)
    err = refused(capsys, "load", str(path))
    assert f"edited.yaml:{line_of(old)}, {field}" in err, err
    assert not (tmp_path / "cli.db").exists()


def test_tabs_and_line_breaks_in_text_are_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = edited(
        tmp_path,
        OPENING_TITLE,
        '  title: "Opening\\twelcome"\n  abstract: "Welcome.\\r\\nThen\\rthe keynotes.\\n"',
    )
    assert main(["validate", str(path)]) == 0
    assert "valid, 37 entries" in capsys.readouterr().out
    from bot.program.files import load_program

    opening = load_program(path).entries[0]
    assert opening.title == "Opening\twelcome"
    # In multi-line text a CR LF or a CR (frab and iCalendar text has them) is a line break.
    assert opening.abstract == "Welcome.\nThen\nthe keynotes."
    # Anywhere else a CR is refused like any other control character.
    path = edited(tmp_path, OPENING_TITLE, '  title: "Opening\\r\\nwelcome"')
    err = refused(capsys, "validate", str(path))
    assert f"edited.yaml:{line_of(OPENING_TITLE)}, entries[0].title: contains the control " in err


POSTER_SESSION = "  session: poster-session-i"
FIRST_POSTER_SESSION_LINE = HAET_LINES.index(POSTER_SESSION) + 1


def session_of_poster_session_i(tmp_path: Path, session: str) -> Path:
    """HAET with ``poster-session-i`` itself put in ``session``."""
    return edited(
        tmp_path,
        "- id: poster-session-i\n  kind: poster_session\n",
        f"- id: poster-session-i\n  kind: poster_session\n  session: {session}\n",
    )


def test_an_entry_that_is_its_own_session_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(
        capsys, "validate", str(session_of_poster_session_i(tmp_path, "poster-session-i"))
    )
    line = line_of("- id: poster-session-i") + 2
    assert (
        f"edited.yaml:{line}, entries[3].session: entry 'poster-session-i' is its own session"
        in err
    )


def test_a_cycle_of_sessions_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = session_of_poster_session_i(tmp_path, "poster-session-ii")
    text = path.read_text(encoding="utf-8").replace(
        "- id: poster-session-ii\n  kind: poster_session\n",
        "- id: poster-session-ii\n  kind: poster_session\n  session: poster-session-i\n",
    )
    path.write_text(text, encoding="utf-8")
    err = refused(capsys, "validate", str(path))
    line = line_of("- id: poster-session-i") + 2
    assert (
        f"edited.yaml:{line}, entries[3].session: sessions form a cycle: "
        "poster-session-i -> poster-session-ii -> poster-session-i"
    ) in err


def test_a_session_inside_a_session_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Its posters would vanish from /schedule day, which lists one level of children.
    path = session_of_poster_session_i(tmp_path, "poster-session-ii")
    err = refused(capsys, "validate", str(path))
    assert (
        f"edited.yaml:{FIRST_POSTER_SESSION_LINE + 1}, entries[4].session: session "
        "'poster-session-i' is itself in session 'poster-session-ii': sessions do not nest"
    ) in err


def test_a_session_that_is_not_a_session_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A poster put "in" a keynote would never be announced, nor shown under it.
    path = edited(
        tmp_path,
        f"  end: '2022-07-23T11:30:00-04:00'\n{POSTER_SESSION}\n  people:\n  - Shreyas",
        "  end: '2022-07-23T11:30:00-04:00'\n  session: keynote-alexander-keller\n"
        "  people:\n  - Shreyas",
    )
    err = refused(capsys, "validate", str(path))
    assert (
        f"edited.yaml:{FIRST_POSTER_SESSION_LINE}, entries[4].session: session "
        "'keynote-alexander-keller' is a keynote, not a session"
    ) in err


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        (OPENING_TITLE, OPENING_TITLE + "\n  title: Opening", "entries[0].title"),
        (
            "  timezone: America/New_York",
            "  timezone: America/New_York\n  timezone: UTC",
            "workshop.timezone",
        ),
        # In flow style, both on one line.
        (
            KELLER_PEOPLE,
            KELLER_PEOPLE + "\n  links: [{title: a, url: 'https://a.org', title: b}]",
            "entries[2].links[0].title",
        ),
    ],
)
def test_a_key_given_twice_is_refused_naming_the_second(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, field: str
) -> None:
    # PyYAML alone keeps the last silently: a second `title` would replace the first.
    err = refused(capsys, "validate", str(edited(tmp_path, old, new)))
    key = field.rsplit(".", 1)[-1]
    first = line_of(old) + (1 if "links" in new else 0)
    assert (
        f"edited.yaml:{line_of(old) + 1}, {field}: the key '{key}' appears twice "
        f"(first on line {first})"
    ) in err, err


def test_a_top_level_key_given_twice_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text(HAET_TEXT + "workshop: {}\n", encoding="utf-8")
    err = refused(capsys, "validate", str(path))
    line = len(HAET_LINES) + 1
    assert f"twice.yaml:{line}, workshop: the key 'workshop' appears twice (first on line 3)" in err


def test_an_entry_on_another_day_is_a_warning_not_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = edited(
        tmp_path,
        "  start: '2022-07-23T08:45:00-04:00'\n  end: '2022-07-23T09:00:00-04:00'",
        "  start: '2022-07-24T08:45:00-04:00'\n  end: '2022-07-24T09:00:00-04:00'",
    )
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "valid, 37 entries" in out
    line = line_of("  start: '2022-07-23T08:45:00-04:00'")
    assert err == (
        f"warning: {path}:{line}, entries[0].start: an entry starts on 2022-07-24 (venue "
        "time), not on the workshop's date 2022-07-23; if the workshop lasts several days, "
        "set workshop.end_date\n"
    )
    # A workshop of several days says so, and its later days are no surprise.
    days = tmp_path / "days.yaml"
    days.write_text(
        path.read_text(encoding="utf-8").replace(
            "  date: '2022-07-23'\n", "  date: '2022-07-23'\n  end_date: '2022-07-24'\n"
        ),
        encoding="utf-8",
    )
    assert main(["validate", str(days)]) == 0
    assert capsys.readouterr().err == ""


def test_an_end_date_before_the_date_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = edited(
        tmp_path, "  date: '2022-07-23'\n", "  date: '2022-07-23'\n  end_date: '2022-07-22'\n"
    )
    err = refused(capsys, "validate", str(path))
    line = line_of("  date: '2022-07-23'") + 1
    assert (
        f"edited.yaml:{line}, workshop.end_date: end_date 2022-07-22 is before date 2022-07-23"
    ) in err


# -- the rehearsal speed ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "playground"])
@pytest.mark.parametrize("speed", ["inf", "1e308", "0", "-1", "nan", "-inf", "fast", "10001"])
def test_a_speed_that_cannot_be_rehearsed_is_a_usage_error(
    command: str, speed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--simulate-start", "2022-07-23T08:40-04:00", f"--speed={speed}"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"workshop-bot {command}: error: argument --speed: '{speed}' is not"), (
        err
    )


@pytest.mark.parametrize(("speed", "value"), [("60", 60.0), ("0.5", 0.5), ("10000", 10_000.0)])
def test_a_rehearsal_speed_is_read_as_a_number(speed: str, value: float) -> None:
    from bot.cli import build_parser

    assert build_parser().parse_args(["playground", "--speed", speed]).speed == value
