"""The workshop-bot CLI as an organizer uses it: import, validate, db upgrade, load."""

from __future__ import annotations

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
    assert out.read_bytes() == HAET_FILE.read_bytes()
    assert "37 entries" in capsys.readouterr().out


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
    assert "revision 0002" in capsys.readouterr().out
    assert main(["load", str(HAET_FILE)]) == 0
    assert "37 added" in capsys.readouterr().out
    assert main(["load", str(HAET_FILE)]) == 0
    assert "0 added, 0 updated (0 moved), 0 cancelled, 37 unchanged" in capsys.readouterr().out
