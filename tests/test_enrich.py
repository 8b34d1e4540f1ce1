"""`workshop-bot enrich`: what a workshop's website adds to the program of record (issue 14)."""

from __future__ import annotations

import contextlib
import re
import shlex
from pathlib import Path

import pytest

from bot.cli import main
from bot.program.files import load_program
from tests.conftest import FIXTURES, HAET_FILE, ROOT

SITE = FIXTURES / "corpora" / "haet2022-site"
README = ROOT / "README.md"


def readme_haet_commands() -> list[list[str]]:
    """The README's commands that regenerate the shipped HAET program, as argument lists."""
    text = README.read_text(encoding="utf-8")
    block = text[text.index("# This and the enrich command below regenerate") :]
    block = block[: block.index("```")]
    joined = re.sub(r"\\\n\s*", " ", block)
    commands = []
    for line in joined.splitlines():
        if line.startswith("workshop-bot ") and "haet2022" in line:
            commands.append(shlex.split(line)[1:])
    return commands


def run_readme_commands(out: Path) -> None:
    for args in readme_haet_commands():
        args = [str(out) if a == "data/haet2022.yaml" else a for a in args]
        args = [str(ROOT / a) if a.startswith("tests/") else a for a in args]
        args = [
            f"workshop-site:{ROOT / a.split(':', 1)[1]}" if a.startswith("workshop-site:") else a
            for a in args
        ]
        assert main(args) == 0, args


def test_readme_commands_regenerate_the_shipped_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commands = readme_haet_commands()
    assert [c[0] for c in commands] == ["import", "enrich"]
    out = tmp_path / "haet.yaml"
    run_readme_commands(out)
    assert out.read_bytes() == HAET_FILE.read_bytes()


def _shipped() -> dict[str, object]:
    program = load_program(HAET_FILE)
    return {"program": program, "by_title": {e.title: e for e in program.entries}}


def test_papers_have_the_websites_links() -> None:
    by_title = _shipped()["by_title"]
    assert isinstance(by_title, dict)
    lotteries = by_title["Not All Lotteries Are Made Equal"]
    assert [(link.title, link.url) for link in lotteries.links] == [
        ("PDF", "https://www.dropbox.com/s/fe0f5pfqrq6z3o3/camera_ready.pdf?dl=0"),
        ("Poster", "https://www.dropbox.com/s/zwm371y78l5dbwc/poster.pdf?dl=0"),
        ("Presentation", "https://youtu.be/11y9YWItLe8"),
    ]
    # The ICML page's spelling and people stay: the site says "Sai Mitheran J".
    assert lotteries.people == ("Surya Kant Sahu", "Sai Mitheran", "Somya Suhans Mahapatra")
    # The site writes "RevBiFPN The…"; the program keeps its title, and gets the links.
    revbifpn = by_title["RevBiFPN: The Fully Reversible Bidirectional Feature Pyramid Network"]
    assert revbifpn.links[0].url == "https://www.dropbox.com/s/wrp8n9f8j2okrfv/RevBiFPN.pdf?dl=0"
    # Only a PDF on the site: only a PDF here; no links on the site: none here.
    studying = by_title["Studying the impact of magnitude pruning on contrastive learning methods"]
    assert [link.title for link in studying.links] == ["PDF"]
    assert (
        by_title[
            "FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness"
        ].links
        == ()
    )
    with_links = [e for e in by_title.values() if e.links]
    assert len(with_links) == 20
    assert sum(len(e.links) for e in with_links) == 57


def test_keynotes_have_the_websites_abstracts_and_speakers_details() -> None:
    shipped = _shipped()
    program = shipped["program"]
    by_title = shipped["by_title"]
    assert isinstance(by_title, dict)
    keynote = by_title["Memory-Centric Machine Learning"]
    assert keynote.abstract.startswith(
        "When performing machine learning tasks, central and graphics processing units consume"
    )
    assert all(e.abstract for e in by_title.values() if e.kind == "keynote")
    people = {p.name: p for p in program.people}  # type: ignore[attr-defined]
    assert people["Melika Payvand"].affiliation == "University of Zurich and ETH Zurich"
    assert people["Alexander Keller"].affiliation == "NVIDIA"
    assert people["Damien Querlioz"].bio.startswith("Damien Querlioz is a CNRS Researcher")
    assert sorted(people) == sorted(e.people[0] for e in by_title.values() if e.kind == "keynote")


def test_times_titles_and_people_are_the_program_of_records(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    commands = readme_haet_commands()
    args = [str(seed) if a == "data/haet2022.yaml" else a for a in commands[0]]
    args = [str(ROOT / a) if a.startswith("tests/") else a for a in args]
    assert main(args) == 0
    before = load_program(seed)
    after = load_program(HAET_FILE)
    assert before.workshop == after.workshop
    for old, new in zip(before.entries, after.entries, strict=True):
        assert (old.id, old.kind, old.title, old.people, old.start, old.end, old.session) == (
            new.id,
            new.kind,
            new.title,
            new.people,
            new.start,
            new.end,
            new.session,
        )


def test_the_report_says_what_matched_was_added_and_did_not_match(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_readme_commands(tmp_path / "haet.yaml")
    out = capsys.readouterr().out
    report = out[out.index("haet2022-site/accepter_papers.md: matched") :]
    assert "matched 24 of its 24 entries" in report
    assert "added: 57 × links" in report
    assert "line 3 'Sai Mitheran / Sai Mitheran J'" in report
    assert "line 127 'Qing Jin on Get the Random Number" in report  # 14 authors vs 13
    assert "line 87 'RevBiFPN: The Fully Reversible" in report
    assert "speakers.md: matched 6 of its 6 entries" in report
    assert "added: 6 × abstracts where the program had none" in report
    assert "line 12 'Melika Payvand: University of Zurich and ETH Zurich'" in report
    assert "haet.yaml: 30 of 37 entries matched a source" in report
    assert "unmatched: 7 × entries no source has; line 39 'Opening welcome speech'" in report


def test_a_source_entry_the_program_lacks_is_reported_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "papers.md"
    page.write_text(
        (SITE / "accepter_papers.md").read_text(encoding="utf-8")
        + "\n**A Paper Nobody Accepted**\n<br />Jane Doe; John Roe<br />\n"
        "[PDF](https://example.org/nobody.pdf)\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.yaml"
    assert main(["enrich", str(HAET_FILE), "--from", f"workshop-site:{page}", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "matched 24 of its 25 entries" in printed
    assert "unmatched: 1 × source entries the program does not have; line 201 'A Paper" in printed
    assert "example.org" not in out.read_text(encoding="utf-8")


def test_a_close_title_matches_and_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "papers.md"
    page.write_text(
        "**Cut Inner Layer: A Structured Pruning Strategy for Efficient U-Net GAN**\n"
        "<br />Bo-Kyeong Kim; Shinkook Choi; Hancheol Park<br />\n"
        "[Code](https://example.org/cut)\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.yaml"
    args = ["enrich", str(HAET_FILE), "--from", f"workshop-site:{page}", "-o", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "entries matched by a close title (check them); line 1" in printed
    cut = next(e for e in load_program(out).entries if e.title.startswith("Cut Inner Layers"))
    assert cut.links[-1].url == "https://example.org/cut"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "nope:x.md"], "is not FORMAT:PATH"),
        (["--from", "workshop-site:{tmp}/missing.md"], "missing.md: no such file"),
        (["--from", "workshop-site:{tmp}/empty.md"], "empty.md:1: the file is empty"),
        (["--from", "workshop-site:{tmp}/plain.md"], "plain.md:1: no papers, speakers"),
        (["--from", "frab:{tmp}/plain.md"], "plain.md"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty.md").write_text("\n", encoding="utf-8")
    (tmp_path / "plain.md").write_text("# A page\n\nJust words.\n", encoding="utf-8")
    out = tmp_path / "out.yaml"
    argv = ["enrich", str(HAET_FILE), "-o", str(out), *(a.format(tmp=tmp_path) for a in args)]
    with pytest.raises(SystemExit) if "FORMAT" in message else contextlib.nullcontext():
        assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 or "usage" in err
    assert message in err
    assert "Traceback" not in err
    assert not out.exists()


def test_a_bad_program_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    program = tmp_path / "program.yaml"
    program.write_text("workshop: [\n", encoding="utf-8")
    out = tmp_path / "out.yaml"
    argv = ["enrich", str(program), "-o", str(out), "--from", f"workshop-site:{SITE}/speakers.md"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {program}:") and len(err.splitlines()) == 1
    assert not out.exists()
