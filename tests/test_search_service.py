"""Search and autocomplete on the HAET 2022 program, hostile queries, and a 10,000-entry program."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.program.files import load_program
from bot.services.program import Organizer, ProgramSnapshot, Talk, Workshop, snapshot_from_program
from bot.services.search import SearchHit, SearchIndex, SearchService, fold, normalize

HAET = Path(__file__).resolve().parent.parent / "data" / "haet2022.yaml"
FLASH = "poster-flashattention-fast-and-memory-efficient-exact"
TRIMBERT = "poster-trimbert-tailoring-bert-for-trade-offs"
LEONARDON_PAPER = "poster-investigating-the-not-so-obvious-effects-of"
YANZHI_WANG_PAPERS = [
    "poster-low-bit-dnn-training-with-hardware-efficient",
    "poster-get-the-random-number-on-the-fly-a-low-precision",
]

HOSTILE = [
    '"',
    "*",
    "NEAR(",
    "-",
    "%",
    "'",
    "",
    "   \t\n ",
    "x" * 6000,
    "flash " * 1000,
    "🙂🎉🚀",
    "\u200b\u200c\u200d\ufeff",
    "Ben\u200bgio",
    "שלום עולם",
    "\u202eoigneB\u202c",
    "مرحبا",
    "'; DROP TABLE entries; --",
    "title:flash AND abstract:memory",
    "a" * 70,
    "\x00\x01",
    "\\",
    "[",
    "(?i)",
    ".*",
    "\ufdfa",
    "ß" * 50,
]


@cache
def haet() -> ProgramSnapshot:
    return snapshot_from_program(load_program(HAET))


@cache
def index() -> SearchIndex:
    return SearchIndex.build(haet())


def published_names() -> set[str]:
    snap = haet()
    names = {name for talk in snap.talks for name in talk.people}
    return names | {o.name for o in snap.workshop.organizers}


def test_fold_and_normalize() -> None:
    assert fold("Mathieu Léonardon") == "mathieu leonardon"
    assert fold("Gonçalo") == "goncalo"
    assert fold("Łukasz Søren STRASSE Straße") == "lukasz soren strasse strasse"
    assert normalize("  FlashAttention:  Fast and Memory-Efficient\u200b ") == (
        "flashattention fast and memory efficient"
    )
    assert normalize("'; DROP TABLE entries; --") == "drop table entries"


def test_flash_attention_with_a_typo_ranks_first() -> None:
    for query in ["flash atention", "flash attention", "FLASH ATTENTION", "flashattention"]:
        hits = index().search(query)
        assert hits[0].talk.id == FLASH, query
        assert hits[0].field == "title"
    hits = index().search("flash atention")
    assert len(hits) == 1 or hits[0].score > hits[1].score


def test_search_ranks_titles_then_people_then_abstracts() -> None:
    hits = index().search("pruning", limit=25)
    fields = [h.field for h in hits]
    assert fields[0] == "title"
    assert fields == sorted(fields, key=["title", "people", "abstract"].index)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    abstract_hit = next(h for h in hits if h.field == "abstract")
    assert "pruning" in abstract_hit.snippet.lower()
    bert = index().search("bert", limit=25)
    assert bert[0].talk.id == TRIMBERT
    assert [h.field for h in bert][:2] == ["title", "people"]  # TrimBERT, then David Bertrand


def test_search_finds_people_and_inflections() -> None:
    hits = index().search("yanzhi wang")
    assert [h.talk.id for h in hits] == YANZHI_WANG_PAPERS
    assert all(h.field == "people" and h.people == ("Yanzhi Wang",) for h in hits)
    # "lottery" is in the title as "Lotteries".
    assert index().search("lottery")[0].talk.id == "poster-not-all-lotteries-are-made-equal"


def test_search_kinds_filter() -> None:
    hits = index().search("neural", limit=25, kinds={"keynote"})
    assert {h.talk.kind for h in hits} == {"keynote"}
    # "Neural" in the title first; then keynotes whose abstract (from the website) has it.
    assert {h.talk.id for h in hits[:2]} == {"keynote-tien-ju-yang", "keynote-jian-tang"}
    assert [h.field for h in hits[2:]] == ["abstract"] * (len(hits) - 2)


def test_autocomplete_title_offers_the_title_starting_so_first() -> None:
    choices = index().complete_title("trim")
    assert choices[0] == (TRIMBERT, "TrimBERT: Tailoring BERT for Trade-offs")
    assert index().complete_title("flash aten")[0][0] == FLASH
    assert index().complete_title("Memory-Centric")[0][0] == "keynote-damien-querlioz"


def test_autocomplete_title_of_upcoming_talks_fills_up_with_later_ones() -> None:
    # At 12:30 EDT everything up to Poster session II has started: "efficient" still offers
    # the matching talks that are to come, not an answer emptied of the ones that are over.
    noon = datetime.fromisoformat("2022-07-23T12:30:00-04:00")
    everything = index().complete_title("efficient")
    upcoming = index().complete_title("efficient", starts_after=noon)
    by_id = haet().by_id
    assert upcoming and all(by_id[i].start > noon for i, _ in upcoming)
    assert [c for c in everything if by_id[c[0]].start > noon] == upcoming
    assert len(everything) > len(upcoming)
    assert "poster-efficient-training-of-deep-equilibrium-models" in dict(upcoming)


def test_autocomplete_title_limits_and_kinds() -> None:
    everything = index().complete_title("")
    assert len(everything) == 25
    assert everything[0] == ("opening", "Opening welcome speech")
    keynotes = index().complete_title("", kinds={"keynote"})
    assert len(keynotes) == 6
    assert all(haet().by_id[i].kind == "keynote" for i, _ in keynotes)
    neural = index().complete_title("neural", kinds={"keynote"})
    assert {i for i, _ in neural} == {"keynote-tien-ju-yang", "keynote-jian-tang"}
    titles = {t.id: t.title for t in haet().talks}
    for prefix in ["t", "tr", "e", "effic", "poster", "zzz"]:
        choices = index().complete_title(prefix)
        assert len(choices) <= 25
        assert all(titles[i] == title for i, title in choices)


def test_author_accents_both_ways() -> None:
    for query in ["leonardon", "Léonardon", "LEONARDON", "Mathieu Leonardon", "léonardon mathieu"]:
        people = index().people(query)
        assert people[0].name == "Mathieu Léonardon", query
        assert people[0].entry_ids == (LEONARDON_PAPER,)
        assert [t.id for t in index().author_entries(query)] == [LEONARDON_PAPER]
    # The other way round: an accent in the query, none in the program.
    assert index().people("Yánzhi Wáng")[0].name == "Yanzhi Wang"
    assert index().people("goncalo")[0].name == "Gonçalo Mordido"
    assert index().people("francois leduc primeau")[0].name == "François Leduc-Primeau"
    assert index().people("leducprimeau")[0].name == "François Leduc-Primeau"


def test_yanzhi_wang_has_exactly_his_two_papers() -> None:
    assert [t.id for t in index().author_entries("yanzhi wang")] == YANZHI_WANG_PAPERS
    best = index().people("yanzhi wang")[0]
    assert best.name == "Yanzhi Wang"
    assert list(best.entry_ids) == YANZHI_WANG_PAPERS
    assert not best.is_organizer


def test_bengio_organizes_without_papers() -> None:
    for query in ["bengio", "Bengio", "Yoshua Bengio", "Bengo", "yoshua bengo", "Ben\u200bgio"]:
        best = index().people(query)[0]
        assert best.name == "Yoshua Bengio", query
        assert best.is_organizer
        assert best.affiliation == "Mila - Quebec AI Institute"
        assert best.entry_ids == ()
    assert index().author_entries("bengio") == []
    match = index().person("yoshua bengio")
    assert match is not None and match.is_organizer and match.score == 100.0


def test_organizer_who_also_authors() -> None:
    gripon = index().person("Vincent Gripon")
    assert gripon is not None
    assert gripon.is_organizer and gripon.affiliation == "IMT Atlantique"
    assert gripon.entry_ids == (LEONARDON_PAPER,)


def test_every_person_gets_exactly_their_entries() -> None:
    snap = haet()
    for name in sorted(published_names()):
        expected = [t.id for t in snap.talks if name in t.people]
        assert [t.id for t in index().author_entries(name)] == expected, name
        assert index().people(name)[0].name == name


def test_typos_in_names() -> None:
    assert index().people("Payvnd")[0].name == "Melika Payvand"
    assert index().people("querlioz damian")[0].name == "Damien Querlioz"
    assert index().people("yanzhi wnag")[0].name == "Yanzhi Wang"


def test_nonsense_finds_nobody() -> None:
    for query in ["xqzvy", "qqqqqqq", "zzzz zzzz", "yanzhi smith", "🙂"]:
        assert index().people(query) == [], query
        assert index().person(query) is None, query
        assert index().author_entries(query) == []
    assert len(index().search("xqzvy")) == 0
    assert len(index().search("qqqqqqq wwwwwww")) == 0


def test_autocomplete_person_exact_spelling_and_limit() -> None:
    names = published_names()
    for prefix in ["", "a", "j", "ya", "yanzhi w", "leon", "léon", "ghouthi", "z", "bengi", "x"]:
        choices = index().complete_person(prefix)
        assert len(choices) <= 25
        assert len(set(choices)) == len(choices)
        assert set(choices) <= names, prefix
    assert index().complete_person("leon") == ["Mathieu Léonardon"]
    assert index().complete_person("ghouthi") == ["Ghouthi BOUKLI HACENE"]
    assert index().complete_person("yanzhi w")[0] == "Yanzhi Wang"
    assert index().complete_person("wang")[0] == "Yanzhi Wang"
    assert index().complete_person("bengi")[0] == "Yoshua Bengio"
    assert index().complete_person("")[:2] == ["Melika Payvand", "Alexander Keller"]
    assert len(index().complete_person("")) == 25


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_return_normally(query: str) -> None:
    ix = index()
    assert all(isinstance(hit, SearchHit) for hit in ix.search(query))
    assert isinstance(ix.people(query), list)
    assert len(ix.complete_person(query)) <= 25
    assert len(ix.complete_title(query)) <= 25
    assert len(ix.complete_title(query, kinds={"poster"})) <= 25
    assert isinstance(ix.author_entries(query), list)
    ix.person(query)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_never_raises(query: str) -> None:
    ix = index()
    ix.search(query)
    ix.people(query)
    assert len(ix.complete_person(query)) <= 25
    assert len(ix.complete_title(query)) <= 25


def test_service_caches_by_snapshot_identity() -> None:
    snap = haet()
    current = [snap]
    svc = SearchService(lambda: current[0])
    first = svc.index()
    assert svc.index() is first
    assert svc.search("flash atention")[0].talk.id == FLASH
    renamed = dataclasses.replace(
        snap.by_id[FLASH], title="Blitzattention: Fast and Memory-Efficient Exact Attention"
    )
    talks = tuple(renamed if t.id == FLASH else t for t in snap.talks)
    current[0] = dataclasses.replace(snap, talks=talks, by_id={t.id: t for t in talks})
    assert svc.index() is not first
    assert svc.complete_title("blitz")[0] == (FLASH, renamed.title)
    assert svc.people("bengio")[0].is_organizer
    assert [t.id for t in svc.author_entries("yanzhi wang")] == YANZHI_WANG_PAPERS
    assert svc.complete_person("payv") == ["Melika Payvand"]
    assert svc.person("Tri Dao") is not None


def test_cancelled_entries_are_not_found() -> None:
    snap = haet()
    talks = tuple(t for t in snap.talks if t.id != FLASH)
    ix = SearchIndex.build(dataclasses.replace(snap, talks=talks))
    assert all(h.talk.id != FLASH for h in ix.search("flash attention"))
    assert ix.people("Tri Dao") == []


# -- a big program --------------------------------------------------------------------------

_FIRST_NAMES = (
    "José Zoë Björn Élodie Søren Łukasz François Ana Chloé Jürgen Małgorzata İlker Nguyễn Åsa "
    "Dário Renée Ömer Núria Çağla Jiří Mathieu Yanzhi Hélène Tomáš Siân Zoltán Ifeoma Priya "
    "Hiroshi Lukas Maria Wei Aïcha Gaëlle Ségolène Kai Lars Noémie Raúl Inés"
).split()
_SYLLABLES = (
    "ka lé mo ný ri šo ta ü vi zé dra gö hå ir jö ña pé quo ro sæ tú ul wy xé yo ço ða ło ė ő "
    "ber nand ski vić son ström eau ard ez ini"
).split()
_WORDS = (
    "efficient training neural network networks deep learning sparse sparsity pruning "
    "quantization low precision hardware aware memory energy gradient compression distillation "
    "transformer attention convolutional graph optimization stochastic rounding accelerator edge "
    "device federated inference benchmark scalable parallel distributed mixed bit width tensor "
    "decomposition lottery ticket hypothesis structured unstructured regularization adaptive "
    "dynamic fast exact approximate robust on for with of the and a to in via towards beyond "
    "using without large small language vision models model data dataset learning-rate "
    "fine-tuning pre-training self-supervised contrastive"
).split()


def synthetic_program(
    entries: int = 10_000, authors: int = 40_000, seed: int = 0
) -> ProgramSnapshot:
    """A deterministic program of ``entries`` posters in sessions of 250, 4 authors each.

    Author names carry accents and are distinct even once folded; titles run up to 1,000
    characters and mix common words with made-up model names ("LéNet42").
    """
    rng = random.Random(seed)
    names: dict[str, str] = {}
    while len(names) < authors:
        surname = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))
        name = f"{rng.choice(_FIRST_NAMES)} {surname.capitalize()}"
        names.setdefault(normalize(name), name)
    people = list(names.values())
    rng.shuffle(people)
    per_entry = authors // entries
    start = datetime(2030, 6, 3, 7, tzinfo=UTC)
    talks: list[Talk] = []
    session: Talk | None = None
    for i in range(entries):
        if session is None or i % 250 == 0:
            begins = start + timedelta(hours=2 * (i // 250))
            session = Talk(
                id=f"session-{i // 250}",
                kind="poster_session",
                title=f"Poster session {i // 250 + 1}",
                people=(),
                abstract="",
                start=begins,
                end=begins + timedelta(minutes=90),
                session_id=None,
                room=None,
                links=(),
                cancelled=False,
            )
            talks.append(session)
        words: list[str] = []
        length, wanted = 0, rng.randint(30, 1000)
        while length < wanted:
            if rng.random() < 0.08:
                suffix = rng.choice(["Net", "BERT", "Former", "GAN"])
                word = f"{rng.choice(_SYLLABLES).capitalize()}{suffix}{rng.randint(1, 99)}"
            else:
                word = rng.choice(_WORDS)
            words.append(word)
            length += len(word) + 1
        abstract = " ".join(rng.choices(_WORDS, k=rng.randint(80, 200)))
        talks.append(
            Talk(
                id=f"poster-{i}",
                kind="poster",
                title=" ".join(words)[:1000].capitalize(),
                people=tuple(people[i * per_entry : (i + 1) * per_entry]),
                abstract=abstract.capitalize() + ".",
                start=session.start,
                end=session.end,
                session_id=session.id,
                room=None,
                links=(),
                cancelled=False,
            )
        )
    workshop = Workshop(
        name="Synthetic workshop",
        acronym="SYN 2030",
        venue="Nowhere",
        zone=ZoneInfo("Europe/Paris"),
        day=date(2030, 6, 3),
        description="",
        links=(),
        organizers=(Organizer("Hélène Ørsted", "Université Nowhere"),),
    )
    return ProgramSnapshot(workshop=workshop, talks=tuple(talks), by_id={t.id: t for t in talks})


def test_ten_thousand_entries_smoke() -> None:
    snap = synthetic_program()
    posters = [t for t in snap.talks if t.kind == "poster"]
    assert len(posters) == 10_000
    authors = {name for t in posters for name in t.people}
    assert len(authors) == 40_000
    assert len({normalize(a) for a in authors}) == 40_000
    assert max(len(t.title) for t in posters) <= 1000

    ix = SearchIndex.build(snap)
    poster = posters[1234]
    author = poster.people[2]
    assert poster.id in ix.people(fold(author))[0].entry_ids
    assert [t.id for t in ix.author_entries(author)] == [poster.id]
    assert author in ix.complete_person(author[:-1])
    assert len(ix.complete_person(author[:3])) == 25
    first_words = " ".join(poster.title.split()[:6])
    assert poster.id in {i for i, _ in ix.complete_title(first_words)}
    assert len(ix.search(first_words, limit=10)) == 10
    assert ix.people("Hélène Orsted")[0].is_organizer
    for query in ["pruning lotery", "Bengo", "", "x" * 6000, "🙂", "'; DROP TABLE entries; --"]:
        ix.search(query)
        ix.people(query)
        assert len(ix.complete_person(query)) <= 25
        assert len(ix.complete_title(query)) <= 25


def test_people_meant_is_everyone_a_name_may_equally_mean() -> None:
    def meant(name: str) -> list[str]:
        return [p.name for p in index().people_meant(name)]

    assert meant("Zhang") == ["Yichi Zhang", "Zheng Zhang", "Zhiru Zhang"]
    assert meant("zhnag") == ["Yichi Zhang", "Zheng Zhang", "Zhiru Zhang"]  # one typo, alike
    # Spellings of one name are meant alike from six letters; shorter ones are other names.
    assert meant("Mathieu") == ["Mathieu Léonardon", "Matthieu Arzel"]
    assert meant("matthieu") == ["Mathieu Léonardon", "Matthieu Arzel"]
    assert meant("wang") == ["Yanzhi Wang"]
    # A whole name, or a name nobody else comes as close to, is one person.
    assert meant("Zhiru Zhang") == ["Zhiru Zhang"]
    assert meant("Mathieu Arzel") == ["Matthieu Arzel"]
    assert meant("leonardon") == ["Mathieu Léonardon"]
    assert meant("payvnd") == ["Melika Payvand"]
    assert meant("xqzvy") == []
    assert len(index().people_meant("a", 5)) <= 5


def test_complete_entry_names_the_speakers_it_matched() -> None:
    [querlioz] = index().complete_entry("querlioz")
    assert querlioz.talk.id == "keynote-damien-querlioz"
    assert querlioz.label == "Damien Querlioz — Memory-Centric Machine Learning"
    assert index().complete_entry("quérlioz")[0].talk.id == "keynote-damien-querlioz"
    assert index().complete_entry("tang")[0].talk.id == "keynote-jian-tang"
    bert = [c.talk.title for c in index().complete_entry("bert")]
    assert bert[0] == "TrimBERT: Tailoring BERT for Trade-offs"
    assert any(title.startswith("GroupBERT") for title in bert)
    # A title match is labelled with the title alone.
    assert [c.label for c in index().complete_entry("trim")] == [
        "TrimBERT: Tailoring BERT for Trade-offs"
    ]
    assert index().complete_entry("querlioz", kinds={"poster"}) == []
