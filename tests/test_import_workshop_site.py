"""The workshop-website markdown importer on the HAET site and on other ways such pages are written."""

from __future__ import annotations

from datetime import date

import pytest

from bot.errors import ProgramError
from bot.program.importers import ImportOptions
from bot.program.importers.report import ImportReport
from bot.program.importers.workshop_site import parse
from tests.conftest import FIXTURES

SITE = FIXTURES / "corpora" / "haet2022-site"
OPTIONS = ImportOptions(date=date(2022, 7, 23), tz="America/New_York")


def _page(name: str):
    return parse((SITE / name).read_text(encoding="utf-8"), name, OPTIONS)


def test_haet_papers_page() -> None:
    program = _page("accepter_papers.md")
    assert len(program.entries) == 24
    by_title = {e.title: e for e in program.entries}
    gen = by_title[
        "Get the Random Number on the fly: A Low-Precision DNN Training Framework using "
        "Stochastic Rounding without the Random Number Generator"
    ]
    assert len(gen.people) == 14
    winning = by_title["Finding Structured Winning Tickets with Early Pruning"]
    assert "(Frankle & Carbin, 2019;" in winning.abstract  # entities decoded
    assert (
        "Léonardon"
        in by_title["Investigating the Not-So-Obvious Effects of Structured Pruning"].people[2]
    )


def test_haet_speakers_page() -> None:
    program = _page("speakers.md")
    assert [e.people[0] for e in program.entries if e.kind == "keynote"]
    people = {p.name: p for p in program.people}
    assert people["Fabien Cardinaux"].affiliation == "Sony"  # "[Sony]()": an empty link
    assert people["Jian Tang"].bio.startswith("Jian Tang is currently an assistant professor")
    assert len(program.entries) == 6


def test_haet_schedule_page() -> None:
    program = _page("schedule.md")
    rows = [(e.start.strftime("%H:%M"), e.kind, e.title, e.people) for e in program.entries]
    assert rows[1] == (
        "09:00",
        "keynote",
        "Brain-inspired hardware and algorithm co-design for low power online training on the edge",
        ("Melika Payvand",),
    )
    assert ("10:00", "poster_session") == rows[3][:2]
    assert rows[-1][:3] == ("17:15", "closing", "Closing remarks.")
    assert str(program.entries[0].start.utcoffset()) == "-1 day, 20:00:00"


def test_a_page_with_nothing_to_take_is_refused() -> None:
    with pytest.raises(ProgramError, match="no papers, speakers or schedule found"):
        _page("index.md")


OTHER_PAPERS = """\
---
layout: page
title: Papers
---
## Oral papers

1. **Sparse Things: A Study** Ada Lovelace, Alan Turing and Grace Hopper
   Abstract: We study sparse things.
   [[paper]](https://example.org/sparse.pdf) | [slides](/slides/sparse.pdf)

- **Dense Things**
  *Émile Borel*
  [Paper](https://example.org/dense.pdf) · [Video](https://youtu.be/x)

**Note:** camera-ready deadline is June 1.
"""


def test_papers_written_another_way() -> None:
    report = ImportReport("papers.md")
    program = parse(OTHER_PAPERS, "papers.md", OPTIONS, report)
    by_title = {e.title: e for e in program.entries}
    sparse = by_title["Sparse Things: A Study"]
    assert sparse.people == ("Ada Lovelace", "Alan Turing", "Grace Hopper")
    assert sparse.abstract == "We study sparse things."
    assert [(link.title, link.url) for link in sparse.links] == [
        ("paper", "https://example.org/sparse.pdf")
    ]
    dense = by_title["Dense Things"]
    assert dense.people == ("Émile Borel",)
    assert [link.title for link in dense.links] == ["Paper", "Video"]
    assert len(program.entries) == 2  # "**Note:**" is no paper
    assert program.workshop.name == "Papers"
    rendered = "\n".join(report.render())
    assert "dropped: 1 × links that are not web addresses (relative or empty); line 9" in rendered


OTHER_SPEAKERS = """\
# Invited speakers

## Ada Lovelace (University of London)

**Talk:** Engines of Thought

### Abstract
What an engine can compute.

### Bio
Ada wrote the first program.

## Venue
The workshop takes place in room 3.
"""


def test_speakers_written_another_way() -> None:
    program = parse(OTHER_SPEAKERS, "speakers.md", OPTIONS)
    assert [(e.kind, e.title, e.people, e.abstract) for e in program.entries] == [
        ("keynote", "Engines of Thought", ("Ada Lovelace",), "What an engine can compute.")
    ]
    assert [(p.name, p.affiliation, p.bio) for p in program.people] == [
        ("Ada Lovelace", "University of London", "Ada wrote the first program.")
    ]


def test_schedule_with_am_pm_and_one_poster_session() -> None:
    page = (
        "The workshop is on March 3rd, 2024.\n\n"
        "| Time | Event |\n|---|---|\n"
        "| 9:00 am - 9:30 am | Opening |\n"
        "| 11:00 am – 12:30 pm | Poster session |\n"
        "| 12:30pm-1:30pm | Lunch |\n\n"
        "**A Poster**\n<br />Jane Doe<br />\n[PDF](https://example.org/p.pdf)\n"
    )
    program = parse(page, "s.md", ImportOptions(tz="Europe/Paris"))
    assert program.workshop.date == date(2024, 3, 3)
    times = {e.title: (e.start.strftime("%H:%M"), e.end.strftime("%H:%M")) for e in program.entries}
    assert times == {
        "Opening": ("09:00", "09:30"),
        "Poster session": ("11:00", "12:30"),
        "Lunch": ("12:30", "13:30"),
        "A Poster": ("11:00", "12:30"),
    }
    poster = next(e for e in program.entries if e.title == "A Poster")
    assert poster.session is not None


def test_a_page_without_a_date_asks_for_one() -> None:
    with pytest.raises(ProgramError, match="give --date"):
        parse("**A Poster**\n<br />Jane Doe<br />\n", "p.md", ImportOptions())
