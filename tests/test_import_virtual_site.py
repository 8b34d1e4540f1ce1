"""Tests of the virtual-site importer against the HAET 2022 page and broken variants of it."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import ProgramError
from bot.program.enrich import EnrichReport, enrich
from bot.program.files import dump_program, load_program
from bot.program.importers import ImportOptions
from bot.program.importers.report import ImportReport
from bot.program.importers.virtual_site import HAET_OPTIONS, haet_options, parse
from bot.program.importers.workshop_site import parse as parse_site
from bot.program.model import ID_PATTERN, Program

ROOT = Path(__file__).resolve().parents[1]
SEED_PATH = ROOT / "tests" / "fixtures" / "haet2022_virtual_site.txt"
DATA_PATH = ROOT / "data" / "haet2022.yaml"
SOURCE = "haet.txt"
# Byte-exact: read_text() would translate newlines.
SEED = SEED_PATH.read_bytes().decode("utf-8")
SEED_LINES = SEED.split("\n")


def _haet() -> Program:
    return parse(SEED, SOURCE, HAET_OPTIONS)


def _by_title(program: Program, title: str):
    matches = [e for e in program.entries if e.title == title]
    assert len(matches) == 1, title
    return matches[0]


def _utc(hour: int, minute: int = 0) -> datetime:
    return datetime(2022, 7, 23, hour, minute, tzinfo=UTC)


def _without_lines(*numbers: int) -> str:
    """The seed without the given 1-based lines."""
    return "\n".join(line for n, line in enumerate(SEED_LINES, 1) if n not in numbers)


def _with_line(number: int, text: str) -> str:
    lines = list(SEED_LINES)
    lines[number - 1] = text
    return "\n".join(lines)


def _error(text: str, options=HAET_OPTIONS) -> ProgramError:
    with pytest.raises(ProgramError) as caught:
        parse(text, SOURCE, options)
    return caught.value


# --- the shipped program -------------------------------------------------------------------


def test_shipped_file_is_the_import_of_the_seed_enriched_by_the_website() -> None:
    program = _haet()
    site = ROOT / "tests" / "fixtures" / "corpora" / "haet2022-site"
    for page in ("accepter_papers.md", "speakers.md"):
        text = (site / page).read_text(encoding="utf-8")
        source = parse_site(text, page, ImportOptions(date=date(2022, 7, 23), tz="UTC"))
        program, _ = enrich(program, source, EnrichReport(page))
    assert DATA_PATH.read_bytes().decode("utf-8") == dump_program(program)
    assert load_program(DATA_PATH) == program


def test_import_is_deterministic() -> None:
    assert dump_program(_haet()) == dump_program(_haet())
    assert haet_options() == HAET_OPTIONS


def test_entry_kinds_and_count() -> None:
    program = _haet()
    assert len(program.entries) == 37
    assert Counter(e.kind for e in program.entries) == {
        "opening": 1,
        "keynote": 6,
        "poster_session": 2,
        "poster": 24,
        "break": 1,
        "presentation": 1,
        "panel": 1,
        "closing": 1,
    }
    ids = [e.id for e in program.entries]
    assert len(set(ids)) == len(ids)
    assert all(ID_PATTERN.match(i) for i in ids)


def test_workshop_fields() -> None:
    ws = _haet().workshop
    assert ws.name == "Hardware-Aware Efficient Training"
    assert ws.acronym == "HAET 2022"
    assert ws.venue == "ICML 2022, Baltimore, Maryland, USA"
    assert ws.timezone == "America/New_York"
    assert ws.date == date(2022, 7, 23)
    assert ws.links == HAET_OPTIONS.links
    assert ws.description.startswith("To reach top-tier performance, deep learning models")
    assert ws.description.endswith("(v) practical applications of low-energy training.")


def test_opening_time() -> None:
    opening = next(e for e in _haet().entries if e.kind == "opening")
    assert opening.title == "Opening welcome speech"
    assert opening.start == _utc(12, 45)
    assert opening.end == _utc(13)


def test_flashattention_poster_is_in_session_ii() -> None:
    program = _haet()
    session = _by_title(program, "Poster session II: open discussion and coffee break.")
    poster = _by_title(
        program, "FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness"
    )
    assert poster.kind == "poster"
    assert poster.session == session.id
    assert poster.start == _utc(19) == session.start
    assert poster.end == _utc(20, 30) == session.end
    assert poster.people == (
        "Tri Dao",
        "Daniel Y Fu",
        "Stefano Ermon",
        "Atri Rudra",
        "Christopher Re",
    )
    assert poster.abstract.startswith("Transformers are slow and memory-hungry")
    assert not poster.abstract.endswith("|")


def test_session_i_posters() -> None:
    program = _haet()
    session = _by_title(program, "Poster session I: open discussion and coffee break.")
    posters = [e for e in program.entries if e.session == session.id]
    assert len(posters) == 12
    assert all(p.kind == "poster" for p in posters)
    assert all(p.start == _utc(14) and p.end == _utc(15, 30) for p in posters)
    # Sessions come before their posters in program order.
    order = [e.id for e in program.entries]
    assert all(order.index(session.id) < order.index(p.id) for p in posters)


def test_keynote_speaker_split() -> None:
    program = _haet()
    payvand = next(e for e in program.entries if e.people == ("Melika Payvand",))
    assert payvand.kind == "keynote"
    assert payvand.id == "keynote-melika-payvand"
    assert payvand.title == (
        "Brain-inspired hardware and algorithm co-design for low power online training on the edge"
    )
    tang = next(e for e in program.entries if e.people == ("Jian Tang",))
    assert tang.title.startswith("Neural Bellman-Ford Networks: An Efficient")
    keynotes = [e for e in program.entries if e.kind == "keynote"]
    assert all(len(k.people) == 1 and ":" not in k.people[0] for k in keynotes)


def test_poster_titles_are_not_split() -> None:
    program = _haet()
    assert _by_title(program, "TrimBERT: Tailoring BERT for Trade-offs").people[0] == (
        "Sharath Nittur Sridhar"
    )


def test_authors_and_abstracts_exact() -> None:
    program = _haet()
    pruning = _by_title(program, "Investigating the Not-So-Obvious Effects of Structured Pruning")
    assert "Mathieu Léonardon" in pruning.people
    assert len([e for e in program.entries if "Yanzhi Wang" in e.people]) == 2
    # The two posters whose rows end without the usual " 🔗 |".
    low_bit = _by_title(
        program, "Low-Bit DNN Training with Hardware-Efficient Stochastic Rounding Unit Design"
    )
    assert low_bit.abstract.endswith(
        "reduces the SRU resource usage by $9.75\\times$ while achieving a higher accuracy."
    )
    assert low_bit.people[0] == "Sung-En Chang" and low_bit.people[-1] == "Yanzhi Wang"
    random_number = next(e for e in program.entries if e.title.startswith("Get the Random Number"))
    assert random_number.abstract.endswith("can even pass the NIST test suite.")
    assert len(random_number.people) == 13
    assert _by_title(
        program, "Energy-aware Network Operator Search in Deep Neural Networks"
    ).people == ("Shamma Nasrin",)
    for entry in program.entries:
        assert "🔗" not in entry.abstract and not entry.abstract.endswith("|")
        assert all("🔗" not in p and "|" not in p and "·" not in p for p in entry.people)
        assert "🔗" not in entry.title and not entry.title.endswith("|")


def test_entries_without_authors() -> None:
    program = _haet()
    lunch = _by_title(program, "Lunch")
    assert lunch.kind == "break" and lunch.id == "lunch"
    assert lunch.start == _utc(16) and lunch.end == _utc(17, 15)
    for title in ("Panel", "Closing remarks.", "Best paper award presentation"):
        entry = _by_title(program, title)
        assert entry.people == () and entry.abstract == ""


def test_organizers() -> None:
    organizers = _haet().workshop.organizers
    assert len(organizers) == 7
    bengio = next(p for p in organizers if p.name == "Yoshua Bengio")
    assert bengio.affiliation == "Mila - Quebec AI Institute"
    assert organizers[0].name == "Gonçalo Mordido"
    assert organizers[0].affiliation == "Mila & Polytechnique Montreal"


def test_more_from_the_same_authors_is_ignored() -> None:
    titles = {e.title for e in _haet().entries}
    assert "Is a Modular Architecture Enough?" not in titles
    assert not any("»" in t for t in titles)


# --- broken inputs -------------------------------------------------------------------------


def test_cut_off_file() -> None:
    cut = SEED[: SEED.index("under a finite budget")]
    err = _error(cut)
    assert err.source == SOURCE and err.line == 33
    assert f"{SOURCE}:33:" in str(err)
    assert "cut off" in str(err)


def test_cut_off_right_after_a_time_line() -> None:
    err = _error("\n".join(SEED_LINES[:27]))
    assert err.line == 27 and "cut off" in str(err)


def test_wrong_weekday() -> None:
    err = _error(SEED, dataclasses.replace(HAET_OPTIONS, date=date(2022, 7, 24)))
    assert f"{SOURCE}:3:" in str(err)
    assert "Sunday" in str(err)


def test_garbage_time_line() -> None:
    err = _error(_with_line(3, "Sat 25:99 a.m. - 6:00 a.m."))
    assert f"{SOURCE}:3:" in str(err)
    assert "25:99 a.m." in str(err)


def test_garbage_end_time() -> None:
    err = _error(_with_line(11, "Sat 6:00 a.m. - soon"))
    assert f"{SOURCE}:11:" in str(err)


def test_missing_title() -> None:
    err = _error(_without_lines(13))  # the Payvand keynote's title
    assert f"{SOURCE}:11:" in str(err)
    assert "no title" in str(err)


def test_unknown_timezone_option() -> None:
    err = _error(SEED, dataclasses.replace(HAET_OPTIONS, tz="Mars/Olympus_Mons"))
    assert f"{SOURCE}:1:" in str(err)
    assert "Mars/Olympus_Mons" in str(err) and "--tz" in str(err)
    err = _error(SEED, dataclasses.replace(HAET_OPTIONS, venue_tz="../etc/passwd"))
    assert "--venue-tz" in str(err) and err.line == 1


def test_empty_text() -> None:
    for text in ("", "\n\n"):
        assert str(_error(text)) == f"{SOURCE}:1: the file is empty"
    err = _error("Timezone: »\nJust a description.\n")
    assert f"{SOURCE}:1:" in str(err)
    assert "no schedule entries" in str(err)


def test_poster_without_session() -> None:
    # Drop Poster session I: its posters have a start time only.
    err = _error(_without_lines(*range(125, 133)))
    assert f"{SOURCE}:27:" in str(err)
    assert "only a start time" in str(err)


def test_missing_time_line_between_entries() -> None:
    # Without the Keller keynote's time line (19) it runs into Payvand's; its "(" was line 22.
    err = _error(_without_lines(19))
    assert err.line == 21 and "time line" in str(err)


def test_unclosed_label() -> None:
    err = _error(_without_lines(8))
    assert err.line == 6 and "')'" in str(err)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"date": None}, "--date"),
        ({"tz": None}, "--tz"),
        ({"name": None}, "--name"),
        ({"acronym": ""}, "--acronym"),
    ],
)
def test_missing_options(change: dict[str, object], needle: str) -> None:
    err = _error(SEED, dataclasses.replace(HAET_OPTIONS, **change))  # type: ignore[arg-type]
    assert needle in str(err)


# --- robustness ----------------------------------------------------------------------------


def _parse_or_program_error(text: str) -> None:
    try:
        parse(text, SOURCE, HAET_OPTIONS)
    except ProgramError as err:
        assert err.source == SOURCE
        assert err.line is not None and err.line >= 1


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_arbitrary_text_gives_only_program_errors(text: str) -> None:
    _parse_or_program_error(text)


@st.composite
def _seed_mutations(draw: st.DrawFn) -> str:
    lines = list(SEED_LINES)
    for _ in range(draw(st.integers(0, 6))):
        if not lines:
            break
        del lines[draw(st.integers(0, len(lines) - 1))]
    cut_a_line: bool = draw(st.booleans())
    if lines and cut_a_line:
        k = draw(st.integers(0, len(lines) - 1))
        lines[k] = lines[k][: draw(st.integers(0, len(lines[k])))]
    text = "\n".join(lines)
    if draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]
    return text


@settings(max_examples=200, deadline=None)
@given(_seed_mutations())
def test_mutated_seed_gives_only_program_errors(text: str) -> None:
    _parse_or_program_error(text)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(SEED_LINES[:300]),
            st.sampled_from(["Sat 7:00 a.m. -", "Sat 12 p.m. - noon", "(", ")", "|", "🔗 |"]),
            st.text(max_size=30),
        ),
        max_size=60,
    )
)
def test_shuffled_seed_lines_give_only_program_errors(lines: list[str]) -> None:
    _parse_or_program_error("\n".join(lines))


# --- issue 14: bad bytes, a page cut inside its last section, --kind-map ------------------


def test_control_characters_are_removed_and_counted() -> None:
    # A NUL inside a title and an ESC inside an organizer's line, as a bad copy can leave.
    title_line = next(n for n, line in enumerate(SEED_LINES, 1) if "Opening" in line)
    text = _with_line(title_line, SEED_LINES[title_line - 1].replace("Op", "Op\x00", 1))
    text = text.replace("Yoshua Bengio (Mila", "Yoshua\x1b Bengio (Mila", 1)
    report = ImportReport(SOURCE)
    program = parse(text, SOURCE, HAET_OPTIONS, report)
    assert program == _haet()
    ((action, what, count, examples),) = report.items()
    assert (action, count) == ("changed", 2)
    assert examples[0] == (title_line, "NUL")
    assert "control characters" in what


def test_page_cut_inside_the_author_information_is_refused() -> None:
    cut = SEED[: SEED.index("Author Information") + len("Author Information\n")]
    err = _error(cut)
    assert "cut off" in err.message
    assert err.line == cut.rstrip("\n").count("\n") + 1


def test_page_without_its_last_section_is_reported() -> None:
    cut = SEED[: SEED.index("More from the Same Authors")]
    report = ImportReport(SOURCE)
    program = parse(cut, SOURCE, HAET_OPTIONS, report)
    assert len(program.workshop.organizers) == 7
    assert any("organizer list may be incomplete" in what for _, what, _, _ in report.items())


def test_kind_map_relabels_a_page_label() -> None:
    options = dataclasses.replace(HAET_OPTIONS, kind_map=(("Keynote", "invited_talk"),))
    kinds = Counter(e.kind for e in parse(SEED, SOURCE, options).entries)
    assert kinds["invited_talk"] == Counter(e.kind for e in _haet().entries)["keynote"] > 0
    assert kinds["keynote"] == 0
