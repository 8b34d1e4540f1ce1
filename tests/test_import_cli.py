"""`workshop-bot import` on bad bytes and real exports: one clear line, nothing written (issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.program.files import load_program
from tests.conftest import FIXTURES

CORPORA = FIXTURES / "corpora"
CAMP = CORPORA / "frab-camp2019.schedule.json"
SEED = FIXTURES / "haet2022_virtual_site.txt"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_output_into_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "no" / "such" / "program.yaml"
    code, _, err = run(["import", "frab", str(CAMP), "-o", str(out)], capsys)
    assert code == 1
    assert one_line_error(err) == (
        f"error: {out}: the folder {out.parent} does not exist (create it first)"
    )
    assert not (tmp_path / "no").exists()


def test_output_is_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["import", "frab", str(CAMP), "-o", str(tmp_path)], capsys)
    assert code == 1
    assert "is a folder" in one_line_error(err)


@pytest.mark.parametrize("fmt", ["frab", "schedule2", "ics", "virtual-site"])
def test_empty_file(tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "empty"
    source.write_bytes(b"\n")
    out = tmp_path / "program.yaml"
    code, _, err = run(["import", fmt, str(source), "-o", str(out)], capsys)
    assert code == 1
    assert one_line_error(err) == f"error: {source}:1: the file is empty"
    assert not out.exists()


def test_cut_off_frab_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "cut.json"
    source.write_bytes(CAMP.read_bytes()[:50_000])
    out = tmp_path / "program.yaml"
    code, _, err = run(["import", "frab", str(source), "-o", str(out)], capsys)
    assert code == 1
    assert "the file is cut off at line" in one_line_error(err)
    assert not out.exists()


def test_bom_and_nul_bytes_are_cleaned_and_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = CAMP.read_bytes().replace(b'"Opening Ceremony"', b'"Opening\\u0000 Ceremony"', 1)
    source = tmp_path / "bom.json"
    source.write_bytes(b"\xef\xbb\xbf" + data)
    out = tmp_path / "program.yaml"
    code, stdout, _ = run(["import", "frab", str(source), "-o", str(out)], capsys)
    assert code == 0
    text = out.read_text(encoding="utf-8")
    assert "\x00" not in text and "\\0" not in text
    assert "title: Opening Ceremony" in text
    assert "changed: 1 × byte-order mark at the start of the file removed; line 1" in stdout
    assert "changed: 1 × control characters (such as NUL) removed" in stdout


def test_not_utf8_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "latin1.json"
    source.write_bytes(b'{\n"schedule":\n"caf\xe9"}')
    code, _, err = run(["import", "frab", str(source), "-o", str(tmp_path / "p.yaml")], capsys)
    assert code == 1
    assert one_line_error(err) == f"error: {source}:3: not UTF-8 text (byte 18)"


def test_report_follows_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "program.yaml"
    source = CORPORA / "frab-36c3-wiki.schedule.json"
    code, stdout, _ = run(["import", "frab", str(source), "-o", str(out)], capsys)
    assert code == 0
    lines = stdout.splitlines()
    assert lines[0] == f"wrote {out}: 631 entries of 36th Chaos Communication Congress - Wiki"
    assert lines[1] == "kept 631 entries"
    assert any(
        line.startswith("  changed: 158 × titles with their subtitle appended; line ")
        for line in lines
    )
    assert any(
        line.startswith("  dropped: 631 × values of the event field 'track'") for line in lines
    )


def test_kind_map_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "program.yaml"
    source = CORPORA / "frab-36c3-everything.schedule.json"
    args = ["import", "frab", str(source), "-o", str(out), "--venue-tz", "Europe/Berlin"]
    args += ["--kind-map", "Doppelter Slot=talk", "--kind-map", "Klangteppich=concert"]
    code, stdout, _ = run(args, capsys)
    assert code == 0
    program = load_program(out)
    by_id = program.by_id()
    assert by_id["frab-edf22d8e-d223-5f63-b796-e6fded2b112d"].kind == "talk"
    assert "'Doppelter Slot'" not in stdout and "'Klangteppich'" not in stdout
    assert "'Normale Länge'" in stdout


def test_kind_map_needs_type_and_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["import", "frab", str(CAMP), "-o", str(tmp_path / "p.yaml"), "--kind-map", "talk"])
    assert "is not TYPE=KIND" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("fmt", "name", "entries"),
    [
        ("schedule2", "hub-38c3.schedule2.json", 2),
        ("frab", "frab-36c3-everything.schedule.json", 1351),
        ("ics", "pyconus2025-all_events.ics", 224),
    ],
)
def test_new_corpora_import_and_validate(
    tmp_path: Path, fmt: str, name: str, entries: int, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "program.yaml"
    code, stdout, _ = run(["import", fmt, str(CORPORA / name), "-o", str(out)], capsys)
    assert code == 0
    assert f": {entries} entries of " in stdout
    assert len(load_program(out).entries) == entries


def test_virtual_site_cut_inside_its_last_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = SEED.read_text(encoding="utf-8")
    source = tmp_path / "cut.txt"
    # Cut right after the "Author Information" heading: no organizers, no "More from…".
    source.write_text(seed[: seed.index("Author Information") + 19], encoding="utf-8")
    out = tmp_path / "program.yaml"
    args = ["import", "virtual-site", str(source), "-o", str(out), "--date", "2022-07-23"]
    args += ["--tz", "America/Los_Angeles", "--name", "HAET", "--acronym", "HAET 2022"]
    code, _, err = run(args, capsys)
    assert code == 1
    assert "cut off" in one_line_error(err)
    assert not out.exists()


@pytest.mark.parametrize(
    ("fmt", "name", "first", "last"),
    [
        ("frab", "frab-36c3-everything.schedule.json", "2019-12-27", "2019-12-31"),
        ("frab", "pretalx-rc3.schedule.json", "2020-12-27", "2020-12-30"),
        ("ics", "pyconus2025-all_events.ics", "2025-05-14", "2025-05-19"),
        ("ics", "pyconuk2015.ics", "2015-09-18", "2015-09-21"),
    ],
)
def test_several_days_give_the_workshop_its_end_date(
    tmp_path: Path, fmt: str, name: str, first: str, last: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "program.yaml"
    assert main(["import", fmt, str(CORPORA / name), "-o", str(out)]) == 0
    workshop = load_program(out).workshop
    assert (workshop.date.isoformat(), workshop.last_date.isoformat()) == (first, last)
    capsys.readouterr()
    # So validating the imported file warns of no entry off the workshop's dates.
    assert main(["validate", str(out)]) == 0
    assert "warning" not in capsys.readouterr().err
