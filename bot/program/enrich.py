"""Enriching a program with what a second source adds: links, abstracts, people's details.

The program stays the program of record: its titles, people, times, kinds and ids are never
changed. Entries are matched by title, with accents, punctuation and case ignored, and then by
a close title (a letter or a word apart) when both sides have exactly one such candidate. The
source adds the links the entry lacks, an abstract where the program has none (or a longer
one for a keynote, or where the program's is the source's cut short), and the affiliation and
biography of the people the program names. Every addition, every difference left alone and
everything that did not match, on either side, is reported with its line.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from bot.program.importers.report import ImportReport, Where
from bot.program.importers.workshop_site import UNTIMED
from bot.program.model import Entry, Person, Program

#: How alike two titles' keys must be (rapidfuzz ratio, 0-100) to be the same entry.
CLOSE_TITLE = 90
#: How alike two names must be to be one person spelled two ways ("Sai Mitheran J").
CLOSE_NAME = 85

#: Kinds whose abstract the source may replace by a longer one: a keynote's abstract on a
#: conference page is often a teaser; the speaker's own text is on the workshop's site.
LONGER_ABSTRACT_KINDS = frozenset({"keynote", "talk", "presentation", "invited_talk"})


def title_key(text: str) -> str:
    """A title however it is written: accents folded, punctuation and case ignored."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(re.findall(r"[a-z0-9]+", folded.lower()))


name_key = title_key


@dataclass
class EnrichReport(ImportReport):
    """What one source matched, added, left alone and did not match."""

    matched: int = 0
    source_entries: int = 0
    #: What the source's importer says about times: the program's times are always kept.
    ignored: frozenset[str] = frozenset({UNTIMED})

    def note(self, what: str, example: str = "", where: Where = None, count: int = 1) -> None:
        if what not in self.ignored:
            super().note(what, example, where, count)

    def headline(self) -> str:
        return f"from {self.source}: matched {self.matched} of its {self.source_entries} entries"

    def added(self, what: str, example: str = "", where: Where = None, count: int = 1) -> None:
        self._add("added", what, example, where, count)

    def unmatched(self, what: str, example: str = "", where: Where = None) -> None:
        self._add("unmatched", what, example, where, 1)


@dataclass
class Lines:
    """Finds the line of an entry in a program file or a source, for the report."""

    text: str = ""
    _cache: dict[str, int | None] = field(default_factory=dict)

    def of(self, needle: str) -> Where:
        def find() -> int | None:
            if needle not in self._cache:
                at = self.text.find(needle) if needle else -1
                self._cache[needle] = None if at < 0 else self.text.count("\n", 0, at) + 1
            return self._cache[needle]

        return find if self.text else None

    def of_heading(self, name: str) -> Where:
        """The line of a ``## name`` heading when the text has one, else of the name."""
        return self.of(f"# {name}\n") if f"# {name}\n" in self.text else self.of(name)


def enrich(
    program: Program,
    source: Program,
    report: EnrichReport,
    source_lines: Lines | None = None,
) -> tuple[Program, set[str]]:
    """``program`` with what ``source`` adds, and the ids of the program's entries it matched."""
    in_source = source_lines or Lines()
    pairs = match_entries(program.entries, source.entries, report, in_source)
    report.source_entries = len(source.entries)
    report.matched = len(pairs)
    by_id = {entry.id: entry for entry in program.entries}
    aliases: dict[str, str] = {}  # a source name's key -> the program's spelling
    changed: dict[str, Entry] = {}
    for program_id, theirs in pairs.items():
        ours = by_id[program_id]
        where = in_source.of(theirs.title)
        changed[program_id] = _enrich_entry(ours, theirs, report, where)
        aliases.update(_people_aliases(ours, theirs, report, where))
    matched_sources = {id(theirs) for theirs in pairs.values()}
    for theirs in source.entries:
        if id(theirs) not in matched_sources:
            report.unmatched(
                "source entries the program does not have", theirs.title, in_source.of(theirs.title)
            )
    entries = tuple(changed.get(entry.id, entry) for entry in program.entries)
    organizers, people = _enrich_people(program, entries, source, aliases, report, in_source)
    workshop = program.workshop.model_copy(update={"organizers": organizers})
    enriched = Program.model_validate({"workshop": workshop, "entries": entries, "people": people})
    return enriched, set(pairs)


def match_entries(
    ours: tuple[Entry, ...], theirs: tuple[Entry, ...], report: EnrichReport, lines: Lines
) -> dict[str, Entry]:
    """The source entry of each program entry (by id) that has one: same title, else close."""
    pairs: dict[str, Entry] = {}
    free: dict[str, list[Entry]] = {}
    for entry in ours:
        free.setdefault(title_key(entry.title), []).append(entry)
    left: list[Entry] = []
    for entry in theirs:
        candidates = free.get(title_key(entry.title))
        if candidates:
            # Two program entries with one title (a talk given twice): the same kind first.
            best = next((c for c in candidates if c.kind == entry.kind), candidates[0])
            candidates.remove(best)
            pairs[best.id] = entry
        else:
            left.append(entry)
    rest = {c.id: title_key(c.title) for group in free.values() for c in group}
    by_id = {entry.id: entry for entry in ours}
    if not left or not rest:
        return pairs
    keys = [title_key(entry.title) for entry in left]
    for index, entry in enumerate(left):
        close = process.extractOne(keys[index], rest, scorer=fuzz.ratio, score_cutoff=CLOSE_TITLE)
        if close is None:
            continue
        program_id = close[2]
        # Both ways: the program entry's closest source title is this one too.
        back = process.extractOne(rest[program_id], keys, scorer=fuzz.ratio)
        if back is None or back[2] != index:
            continue
        del rest[program_id]
        pairs[program_id] = entry
        report.note(
            "entries matched by a close title (check them)",
            f"{by_id[program_id].title} ~ {entry.title}",
            lines.of(entry.title),
        )
    return pairs


def _enrich_entry(ours: Entry, theirs: Entry, report: EnrichReport, where: Where) -> Entry:
    update: dict[str, object] = {}
    if ours.title != theirs.title:
        report.note(
            "titles written differently in the source (the program's kept)",
            f"{ours.title} / {theirs.title}",
            where,
        )
    urls = {link.url for link in ours.links}
    new = [link for link in theirs.links if link.url not in urls]
    if new:
        update["links"] = (*ours.links, *new)
        report.added(
            "links",
            f"{ours.title[:30]}: {', '.join(link.title for link in new)}",
            where,
            count=len(new),
        )
    if theirs.abstract and not ours.abstract:
        update["abstract"] = theirs.abstract
        report.added("abstracts where the program had none", ours.title, where)
    elif len(theirs.abstract) > len(ours.abstract) and (
        ours.kind in LONGER_ABSTRACT_KINDS or _cut_short(ours.abstract, theirs.abstract)
    ):
        update["abstract"] = theirs.abstract
        report.added("abstracts replaced by the source's longer one", ours.title, where)
    return ours.model_copy(update=update) if update else ours


def _cut_short(ours: str, theirs: str) -> bool:
    """Whether ``ours`` is ``theirs`` cut short (perhaps with an ellipsis)."""
    start = " ".join(ours.rstrip(" .…").split())
    return bool(start) and " ".join(theirs.split()).startswith(start)


def _people_aliases(
    ours: Entry, theirs: Entry, report: EnrichReport, where: Where
) -> dict[str, str]:
    """Source names of a matched entry's people -> the program's spelling; differences noted."""
    aliases: dict[str, str] = {}
    mine = {name_key(name): name for name in ours.people}
    for name in theirs.people:
        key = name_key(name)
        if key in mine:
            aliases[key] = mine[key]
            continue
        # Choices map the program's spelling to its key: the key is compared, the name returned.
        choices = {spelling: k for k, spelling in mine.items()}
        close = process.extractOne(key, choices, scorer=fuzz.ratio, score_cutoff=CLOSE_NAME)
        spelling = close[2] if close is not None else _with_a_middle_name(key, mine)
        if spelling is not None:
            aliases[key] = spelling
            report.note(
                "people spelled differently in the source (the program's kept)",
                f"{spelling} / {name}",
                where,
            )
        else:
            report.note(
                "people the source names on an entry and the program does not (not added)",
                f"{name} on {ours.title[:40]}",
                where,
            )
    return aliases


def _with_a_middle_name(key: str, mine: dict[str, str]) -> str | None:
    """The program's name that is this one with a name or initial more or less ("Taehyeon
    Kim" and "Taehyeon Aaron Kim"): same first and last word, one's words within the other's."""
    words = key.split()
    for other, spelling in mine.items():
        theirs = other.split()
        if (
            min(len(words), len(theirs)) >= 2
            and words[0] == theirs[0]
            and words[-1] == theirs[-1]
            and (set(words) <= set(theirs) or set(theirs) <= set(words))
        ):
            return spelling
    return None


def _enrich_people(
    program: Program,
    entries: tuple[Entry, ...],
    source: Program,
    aliases: dict[str, str],
    report: EnrichReport,
    lines: Lines,
) -> tuple[tuple[Person, ...], tuple[Person, ...]]:
    """The organizers and the people section with the source's affiliations and biographies."""
    known = {name_key(p.name): p for p in (*source.workshop.organizers, *source.people)}
    # The program's spelling of a name -> the source's ("Sai Mitheran" -> "sai mitheran j").
    theirs_of = {name_key(name): key for key, name in aliases.items()}
    ours = {name_key(p.name): p for p in program.people}
    named = {name_key(n): n for entry in entries for n in entry.people}
    used: set[str] = set()

    def details(person: Person, key: str) -> Person:
        theirs = known.get(key) or known.get(theirs_of.get(key, ""))
        if theirs is None:
            return person
        used.add(name_key(theirs.name))
        update: dict[str, str] = {}
        where = lines.of_heading(theirs.name)
        if theirs.affiliation and not person.affiliation:
            update["affiliation"] = theirs.affiliation
            report.added("affiliations", f"{person.name}: {theirs.affiliation}", where)
        if theirs.bio and not person.bio:
            update["bio"] = theirs.bio
            report.added("biographies", person.name, where)
        return person.model_copy(update=update) if update else person

    organizers = tuple(details(p, name_key(p.name)) for p in program.workshop.organizers)
    people = [details(p, key) for key, p in ours.items()]
    for key, name in named.items():
        if key not in ours:
            person = details(Person(name=name), key)
            if person.affiliation or person.bio:
                people.append(person)
    for key, person in known.items():
        if key not in used:
            report.unmatched(
                "people in the source the program does not name",
                person.name,
                lines.of_heading(person.name),
            )
    return organizers, tuple(people)


@dataclass
class ProgramSideReport(EnrichReport):
    """The program's entries that no source matched."""

    def headline(self) -> str:
        return f"{self.source}: {self.matched} of {self.source_entries} entries matched a source"


def unmatched_program_entries(
    program: Program, matched: set[str], source: str, program_text: str = ""
) -> ProgramSideReport:
    """Report the program's entries no source matched (each with its line in the file)."""
    lines = Lines(program_text)
    report = ProgramSideReport(source, matched=len(matched), source_entries=len(program.entries))
    for entry in program.entries:
        if entry.id not in matched:
            report.unmatched("entries no source has", entry.title, lines.of(f"id: {entry.id}\n"))
    return report
