"""Forgiving search over titles, abstracts and people, despite case, accents and typos.

Everything a query needs is precomputed once per snapshot (``SearchIndex.build``): folded
text, a sorted token vocabulary per use with its postings (token -> entries or people), and
fuzzy-lookup buckets by token length and end letters. A query then touches only the
vocabulary (prefixes by bisection, infixes by ``str.find`` on the joined vocabulary, typos by
rapidfuzz on the few buckets within reach) and the postings of the tokens it matched, never
the full text. A common token's postings are a bitmask (bit i = entry i), and a query's words
are combined a level of equal scores at a time (``_best_levels``), never entry by entry, so a
query of common words on a 10,000-entry program stays under a millisecond.
"""

from __future__ import annotations

import math
import re
import sys
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from itertools import accumulate, chain
from typing import Literal, TypeAlias, overload

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.services.program import ProgramSnapshot, Talk

Field = Literal["title", "people", "abstract"]

#: How much a match counts by where it is: titles first, then people, then abstracts.
FIELD_WEIGHTS: dict[Field, float] = {"title": 1.0, "people": 0.85, "abstract": 0.55}

#: Discord shows at most 25 autocomplete choices.
COMPLETE_LIMIT = 25

#: Below these (0-100) a hit is noise: a person must match every query word (or two of three),
#: an entry nearly a third of the query's weight.
MIN_PERSON_SCORE = 55.0
MIN_SEARCH_SCORE = 30.0

# Query bounds: a 6,000-character option must cost no more than a sentence.
_MAX_QUERY_CHARS = 200
_MAX_QUERY_TOKENS = 6
_MAX_TOKEN_CHARS = 64

# Expansion bounds per query word, so that "a" or "pre" cannot drag in half the vocabulary.
_PREFIX_SCAN = 2000
_PREFIX_KEEP = 24
_INFIX_KEEP = 12
_FUZZY_KEEP = 8
_POSTINGS_BUDGET = 16_000  # postings merged per query word, best matches first
_MAX_GLUED = 3  # adjacent word pairs also tried glued together

# Similarity (0-1) of a vocabulary token to a query word, by how it matched.
_EXACT = 1.0
_PREFIX_BASE, _PREFIX_SPAN = 0.8, 0.15  # grows as the word covers more of the token
_INFIX_BASE, _INFIX_SPAN = 0.6, 0.15
_FUZZY_SIM = {1: 0.75, 2: 0.65}  # by edit distance
_STEM_SIM = 0.7
_VARIANT_FROM = 6  # shorter names one edit apart are other names ("Wang", "Yang", "Tang")
# Autocomplete finds a title word or a name inside a longer one ("bert" in "GroupBERT").
_COMPLETE_INFIX_FROM = 3

# Letters that are not a base letter plus accents, so NFKD leaves them alone.
_EXTRA_LETTERS = {
    ord(a): b
    for a, b in {"ł": "l", "đ": "d", "ð": "d", "ø": "o", "æ": "ae", "œ": "oe", "þ": "th"}.items()
}
_COMMON_MARKS = re.compile("[\u0300-\u036f]+")
_ASCII_SPACES = str.maketrans({c: " " for c in map(chr, range(128)) if not c.isalnum()})
_NON_WORD = re.compile(r"[\W_]+")
_WORD = re.compile(r"[^\W_]+")
# Punctuation inside a word ("Fine-Tuning", "IO-Awareness", "Jae-sun"): such a word is also
# indexed glued together, so "finetuning" and "jaesun" find it.
_INNER_PUNCTUATION = re.compile(r"[^\W_](?:[^\w\s]|_)+[^\W_]")


@cache
def _rare_folds() -> dict[int, str | None]:
    """Every combining mark and invisible format character (zero-width, bidi) -> nothing."""
    # Planes 2-13 hold only ideographs or nothing yet; skipping them makes this 5x faster.
    codes = chain(range(0x20000), range(0xE0000, sys.maxunicode + 1))
    table: dict[int, str | None] = {
        code: None for code in codes if unicodedata.category(chr(code)) in ("Mn", "Me", "Cf")
    }
    table.update(_EXTRA_LETTERS)
    return table


def fold(text: str) -> str:
    """``text`` without case or accents: ``"Mathieu Léonardon"`` -> ``"mathieu leonardon"``."""
    if text.isascii():
        return text.lower()
    # Latin accents are nearly all in one block: a regex strips them fast, and the full table
    # (slower, built on first need) only sees what is left.
    folded = _COMMON_MARKS.sub("", unicodedata.normalize("NFKD", text.casefold()))
    if not folded.isascii():
        folded = folded.translate(_EXTRA_LETTERS)
        if not folded.isascii():
            folded = folded.translate(_rare_folds())
    return folded.casefold()


def _spaced(folded: str) -> str:
    spaced = folded.translate(_ASCII_SPACES)
    return spaced if spaced.isascii() else _NON_WORD.sub(" ", spaced)


def normalize(text: str) -> str:
    """Folded, punctuation turned into spaces, spaces collapsed: the form everything matches on."""
    return " ".join(_spaced(fold(text)).split())


def _fold_many(texts: list[str]) -> list[str]:
    """``fold`` of each text, in one pass: far fewer calls for 40,000 short names."""
    folded = fold("\n".join(texts)).split("\n")
    return folded if len(folded) == len(texts) else [fold(t) for t in texts]


def _analyze(text: str, folded: str | None = None) -> tuple[str, set[str]]:
    """``text`` normalized, and its tokens (with punctuated words also glued together)."""
    if folded is None:
        folded = fold(text)
    words = _spaced(folded).split()
    tokens = set(words)
    if _INNER_PUNCTUATION.search(folded):
        for word in folded.split():
            if not word.isalnum():
                parts = _spaced(word).split()
                if len(parts) > 1:
                    tokens.add("".join(parts))
    return " ".join(words), tokens


def _query_tokens(query: str) -> list[str]:
    words = normalize(query[: _MAX_QUERY_CHARS * 4])[:_MAX_QUERY_CHARS].split()
    return list(dict.fromkeys(w[:_MAX_TOKEN_CHARS] for w in words))[:_MAX_QUERY_TOKENS]


def _allowed_typos(word: str) -> int:
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2


# A token's entries (or people): their numbers ascending or, for a token of more than 1/64 of
# them, a bitmask (bit i = item i), smaller then and combined with others at C speed.
_Posting: TypeAlias = tuple[int, ...] | int
_Postings: TypeAlias = dict[str, _Posting]


def _post(postings: dict[str, list[int]], tokens: Iterable[str], item: int) -> None:
    for token in tokens:
        try:
            postings[token].append(item)
        except KeyError:
            postings[token] = [item]


def _frozen(postings: dict[str, list[int]], items: int) -> _Postings:
    """Postings of ``items`` numbered items as tuples, or bitmasks for common tokens."""
    # Tuples of ints and ints drop out of the garbage collector's sight after its first
    # look; lists would be walked again on every full collection of the bot's process.
    dense = max(items // 64, 1)
    nbytes = (items + 7) // 8
    return {
        token: _mask_of(found, nbytes) if len(found) > dense else tuple(found)
        for token, found in postings.items()
    }


_BITS = tuple(1 << b for b in range(8))


def _mask_of(items: Sequence[int], nbytes: int) -> int:
    """The bitmask of ``items`` (entry numbers below ``8 * nbytes``)."""
    if len(items) < 8:
        mask = 0
        for item in items:
            mask |= 1 << item
        return mask
    bits = bytearray(nbytes)
    for item in items:
        bits[item >> 3] |= _BITS[item & 7]
    return int.from_bytes(bits, "little")


def _count(posting: _Posting) -> int:
    return posting.bit_count() if isinstance(posting, int) else len(posting)


def _holds(posting: _Posting, item: int) -> bool:
    if isinstance(posting, int):
        return bool(posting >> item & 1)
    at = bisect_left(posting, item)
    return at < len(posting) and posting[at] == item


def _lowest(mask: int, count: int) -> list[int]:
    """The ``count`` lowest set bits' positions of ``mask`` (fewer if it has fewer), ascending."""
    found: list[int] = []
    while mask and len(found) < count:
        low = mask & -mask
        found.append(low.bit_length() - 1)
        mask ^= low
    return found


class _Vocabulary:
    """Distinct tokens, sorted, for exact, prefix, infix and fuzzy lookup."""

    __slots__ = ("_heads", "_joined", "_starts", "tokens")

    def __init__(self, tokens: Iterable[str]) -> None:
        self.tokens: list[str] = sorted(set(tokens))
        # One string holding every token, so an infix lookup is a C-speed str.find.
        self._joined = "\n".join(self.tokens)
        self._starts = [0, *accumulate(len(t) + 1 for t in self.tokens)][: len(self.tokens)]
        # Fuzzy candidates by length and by first or second letter: comparing a word with
        # every token of a length is what makes fuzzy lookup slow on a big program.
        self._heads: dict[tuple[int, int, str], list[str]] = {}
        heads = self._heads
        for token in self.tokens:
            n = len(token)
            if n < 4:
                continue
            for key in ((n, 0, token[0]), (n, 1, token[1])):
                found = heads.get(key)
                if found is None:
                    heads[key] = [token]
                else:
                    found.append(token)

    def prefixed(self, prefix: str, keep: int) -> list[str]:
        """Up to ``keep`` tokens starting with ``prefix``, shortest (closest) first."""
        lo = bisect_left(self.tokens, prefix)
        hi = min(bisect_left(self.tokens, prefix + "\U0010ffff"), lo + _PREFIX_SCAN)
        found = self.tokens[lo:hi]
        return found if len(found) <= keep else sorted(found, key=len)[:keep]

    def containing(self, part: str, keep: int) -> list[str]:
        found: list[str] = []
        at = self._joined.find(part)
        while at != -1 and len(found) < keep:
            i = bisect_right(self._starts, at) - 1
            found.append(self.tokens[i])
            at = self._joined.find(part, self._starts[i] + len(self.tokens[i]) + 1)
        return found

    def similar(self, word: str, max_typos: int, keep: int) -> list[tuple[str, int]]:
        """Tokens within ``max_typos`` edits (transpositions count one), nearest first.

        Only tokens sharing a first or second letter with ``word`` (at the same place or
        swapped) are compared: whatever one typo does, one of those still holds, and two
        typos in a long word rarely both fall in its first two letters.
        """
        heads = self._heads
        keys = {(0, word[0]), (1, word[1]), (1, word[0]), (0, word[1])}
        found: dict[str, int] = {}
        # Near misses of very short tokens are mostly other words ("trim" is not "Tri").
        for length in range(max(len(word) - max_typos, 4), len(word) + max_typos + 1):
            candidates: list[str] = []
            for place, letter in keys:
                candidates += heads.get((length, place, letter), ())
            if not candidates:
                continue
            for token, distance, _ in process.extract(
                word,
                candidates,
                scorer=OSA.distance,
                processor=None,
                score_cutoff=max_typos,
                limit=keep * 4,
            ):
                found[token] = int(distance)
        best = sorted(found.items(), key=lambda td: (td[1], td[0]))
        return best[:keep]

    def expand(
        self,
        word: str,
        postings: Sequence[Container[str]],
        *,
        prefix_from: int,
        infix_from: int = 5,
        glued: bool = False,
        typos: bool = True,
        variants: bool = False,
    ) -> dict[str, float]:
        """Vocabulary tokens ``word`` may stand for, with their similarity to it (0-1).

        A ``glued`` word is two query words stuck together: it may be a whole token or the start
        of one, with at most one typo (if ``typos``). With ``variants``, a word of six letters
        or more found as it is also stands, as much, for the tokens one edit away: spellings
        of one name ("Mathieu", "Matthieu") that a person means equally.
        """
        out: dict[str, float] = {}

        def offer(token: str, sim: float) -> None:
            if sim > out.get(token, 0.0):
                out[token] = sim

        exact = any(word in p for p in postings)
        if exact:
            out[word] = _EXACT
        if len(word) >= prefix_from:
            for token in self.prefixed(word, _PREFIX_KEEP):
                offer(token, _PREFIX_BASE + _PREFIX_SPAN * len(word) / len(token))
        if len(word) >= infix_from and not glued:
            for token in self.containing(word, _INFIX_KEEP):
                offer(token, _INFIX_BASE + _INFIX_SPAN * len(word) / len(token))
        if len(word) >= 6 and not glued:
            # A crude stem, so that "lottery" finds "Lotteries" and "pruned" finds "pruning".
            for token in self.prefixed(word[:-2], _PREFIX_KEEP):
                offer(token, _STEM_SIM)
        allowed = _allowed_typos(word) if typos else 0
        allowed = min(allowed, 1) if glued else allowed
        # A word found as it is was meant; looking for near misses only costs time.
        if allowed and not exact:
            for token, distance in self.similar(word, allowed, _FUZZY_KEEP):
                offer(token, _FUZZY_SIM[distance])
        elif variants and exact and len(word) >= _VARIANT_FROM:
            for token, _ in self.similar(word, 1, _FUZZY_KEEP):
                offer(token, _EXACT)
        return out


@dataclass(frozen=True, slots=True)
class PersonMatch:
    """A speaker, author or organizer matching a query."""

    name: str  # as published
    score: float  # 0-100
    entry_ids: tuple[str, ...]  # entries they speak at or author, in program order
    is_organizer: bool
    affiliation: str | None  # known for organizers only


@dataclass(frozen=True, slots=True)
class SearchHit:
    """An entry matching a query."""

    talk: Talk
    score: float  # 0-100
    field: Field  # where it matched best: title, then people, then abstract
    people: tuple[str, ...]  # the entry's people the query named, as published
    snippet: str  # for an abstract match, the passage around it; else ""


@dataclass(frozen=True, slots=True)
class EntryChoice:
    """An entry offered by an autocomplete, with the people the typed text named."""

    talk: Talk
    people: tuple[str, ...]  # when its people matched rather than its title, as published

    @property
    def label(self) -> str:
        """The title, after the names that matched: "Damien Querlioz — Memory-Centric…"."""
        if not self.people:
            return self.talk.title
        return f"{', '.join(self.people)} — {self.talk.title}"


class SearchResults(Sequence[SearchHit]):
    """A search's hits, best first, each worked out (field, people, snippet) when first read.

    A big program's query can return 50 hits of which a reader sees the first page.
    """

    __slots__ = ("_build", "_built", "_ranked")

    def __init__(
        self, ranked: list[tuple[int, float]], build: Callable[[int, float], SearchHit]
    ) -> None:
        self._ranked = ranked
        self._build = build
        self._built: dict[int, SearchHit] = {}

    def __len__(self) -> int:
        return len(self._ranked)

    @overload
    def __getitem__(self, at: int) -> SearchHit: ...

    @overload
    def __getitem__(self, at: slice) -> list[SearchHit]: ...

    def __getitem__(self, at: int | slice) -> SearchHit | list[SearchHit]:
        if isinstance(at, slice):
            return [self[i] for i in range(*at.indices(len(self._ranked)))]
        if at < 0:
            at += len(self._ranked)
        hit = self._built.get(at)
        if hit is None:
            hit = self._built[at] = self._build(*self._ranked[at])  # IndexError when out
        return hit

    def __repr__(self) -> str:
        return f"<SearchResults of {len(self._ranked)}>"


class SearchIndex:
    """Everything search needs about one program snapshot, precomputed; read-only once built."""

    def __init__(self, snapshot: ProgramSnapshot) -> None:
        self.snapshot = snapshot
        _rare_folds()  # built now rather than during the first query that needs it
        self._talks: list[Talk] = list(snapshot.talks)
        talks = self._talks
        self._kinds = [t.kind for t in talks]
        self._titles: list[str] = []
        title_post: dict[str, list[int]] = {}
        people_post: dict[str, list[int]] = {}
        abstract_post: dict[str, list[int]] = {}
        # A name's key and tokens, worked out once per spelling. Tuples and strings rather
        # than sets, lists and objects: the garbage collector stops walking them, so a
        # 40,000-person index does not slow down every full collection of the bot's process.
        spellings = list(
            dict.fromkeys(
                chain(
                    (name for talk in talks for name in talk.people),
                    (organizer.name for organizer in snapshot.workshop.organizers),
                )
            )
        )
        names: dict[str, tuple[str, tuple[str, ...]]] = {}
        for name, folded in zip(spellings, _fold_many(spellings), strict=True):
            key, name_tokens = _analyze(name, folded)
            names[name] = (key, tuple(name_tokens))
        self._names = names
        people: dict[str, tuple[str, list[int]]] = {}  # key -> (name as published, entries)
        for i, talk in enumerate(talks):
            title, tokens = _analyze(talk.title)
            self._titles.append(title)
            _post(title_post, tokens, i)
            if talk.abstract:
                # A word also in the title always scores as a title match: the abstract's
                # posting would never count, so it is left out.
                _post(abstract_post, set(_spaced(fold(talk.abstract)).split()) - tokens, i)
            if not talk.people:
                continue
            tokens = set()
            for name in talk.people:
                key, spelled = names[name]
                tokens.update(spelled)
                if not key:
                    continue
                person = people.get(key)
                if person is None:
                    people[key] = (name, [i])
                elif person[1][-1] != i:
                    person[1].append(i)
            _post(people_post, tokens, i)
        organizers: dict[str, str | None] = {}
        for organizer in snapshot.workshop.organizers:
            key = names[organizer.name][0]
            if key:
                people.setdefault(key, (organizer.name, []))
                organizers[key] = organizers.get(key) or organizer.affiliation
        # People are numbered in their folded names' order, so sorting numbers sorts by name.
        self._person_keys = sorted(people)
        self._person_names = [people[key][0] for key in self._person_keys]
        self._person_entries = [tuple(people[key][1]) for key in self._person_keys]
        self._organizers = {
            number: organizers[key]
            for number, key in enumerate(self._person_keys)
            if key in organizers
        }
        person_post: dict[str, list[int]] = {}
        for number, name in enumerate(self._person_names):
            _post(person_post, names[name][1], number)
        entries = len(talks)
        self._title_post = _frozen(title_post, entries)
        self._people_post = _frozen(people_post, entries)
        self._abstract_post = _frozen(abstract_post, entries)
        self._person_post = _frozen(person_post, len(self._person_names))
        self._person_bytes = (len(self._person_names) + 7) // 8
        self._everyone = (1 << len(self._person_names)) - 1
        self._nbytes = (entries + 7) // 8
        self._everything = (1 << entries) - 1
        self._kind_masks: dict[str, int] = {}
        for i, kind in enumerate(self._kinds):
            self._kind_masks[kind] = self._kind_masks.get(kind, 0) | 1 << i
        self._later = _StartMasks([talk.start for talk in talks])

        self._entry_fields: tuple[tuple[float, _Postings], ...] = (
            (FIELD_WEIGHTS["title"], self._title_post),
            (FIELD_WEIGHTS["people"], self._people_post),
            (FIELD_WEIGHTS["abstract"], self._abstract_post),
        )
        self._vocabulary = _Vocabulary(
            [*self._title_post, *self._people_post, *self._abstract_post]
        )
        # What an autocomplete of entries matches: their titles and their people's names.
        self._label_fields: tuple[tuple[float, _Postings], ...] = (
            (FIELD_WEIGHTS["title"], self._title_post),
            (FIELD_WEIGHTS["people"], self._people_post),
        )
        self._label_vocabulary = _Vocabulary([*self._title_post, *self._people_post])
        self._person_vocabulary = _Vocabulary(self._person_post)
        self._default_people = self._on_stage_first()
        order = sorted(range(len(talks)), key=self._titles.__getitem__)
        self._sorted_titles = [self._titles[i] for i in order]
        self._sorted_title_entries = order

    @classmethod
    def build(cls, snapshot: ProgramSnapshot) -> SearchIndex:
        return cls(snapshot)

    # -- entries ------------------------------------------------------------------------------

    def search(
        self, query: str, limit: int = 10, *, kinds: set[str] | None = None
    ) -> SearchResults:
        """Entries matching ``query`` in title, people or abstract, best first."""
        words = _query_tokens(query)
        if not words or limit <= 0:
            return SearchResults([], self._hit_for(set()))
        ranked, matched = self._rank_entries(
            words, self._entry_fields, self._vocabulary, 3, self._allowed(kinds, None), limit
        )
        return SearchResults(ranked, self._hit_for(matched))

    def complete_title(
        self,
        prefix: str,
        kinds: set[str] | None = None,
        *,
        starts_after: datetime | None = None,
    ) -> list[tuple[str, str]]:
        """Up to 25 ``(id, title)`` for an autocomplete (see ``complete_entry``)."""
        return [
            (choice.talk.id, choice.talk.title)
            for choice in self.complete_entry(prefix, kinds, starts_after=starts_after)
        ]

    def complete_entry(
        self,
        prefix: str,
        kinds: set[str] | None = None,
        *,
        starts_after: datetime | None = None,
    ) -> list[EntryChoice]:
        """Up to 25 entries for an autocomplete: titles starting so first, then any word.

        After the titles that start with what was typed come the entries with a title word
        or a person's name matching each typed word, also from its third letter inside a
        longer word ("bert" in "GroupBERT"), forgiving accents and typos as ``search`` does.
        ``starts_after`` keeps only entries that start later (to remind of): filtered before
        the best 25 are taken, so an answer is never emptied by talks already over.
        """
        wanted = _clip(prefix)
        allowed = self._allowed(kinds, starts_after)
        matched: set[str] = set()
        if not wanted:
            chosen = _lowest(allowed, COMPLETE_LIMIT)  # the first in program order
        else:
            chosen = []
            every = allowed == self._everything
            lo = bisect_left(self._sorted_titles, wanted)
            for at in range(lo, min(lo + _PREFIX_SCAN, len(self._sorted_titles))):
                if not self._sorted_titles[at].startswith(wanted):
                    break
                i = self._sorted_title_entries[at]
                if every or allowed >> i & 1:
                    chosen.append(i)
                    if len(chosen) == COMPLETE_LIMIT:
                        break
            if len(chosen) < COMPLETE_LIMIT:
                taken = set(chosen)
                ranked, matched = self._rank_entries(
                    _query_tokens(prefix),
                    self._label_fields,
                    self._label_vocabulary,
                    1,
                    allowed,
                    COMPLETE_LIMIT + len(chosen),
                    infix_from=_COMPLETE_INFIX_FROM,
                )
                chosen.extend(i for i, _ in ranked if i not in taken)
        return [self._entry_choice(i, matched) for i in chosen[:COMPLETE_LIMIT]]

    def _entry_choice(self, i: int, matched: set[str]) -> EntryChoice:
        talk = self._talks[i]
        if not matched or any(_holds(self._title_post.get(t, ()), i) for t in matched):
            return EntryChoice(talk, ())
        named = tuple(n for n in talk.people if not matched.isdisjoint(self._names[n][1]))
        return EntryChoice(talk, named)

    def _rank_entries(
        self,
        words: list[str],
        fields: tuple[tuple[float, _Postings], ...],
        vocabulary: _Vocabulary,
        last_prefix_from: int,
        allowed: int,
        limit: int,
        *,
        infix_from: int = 5,
    ) -> tuple[list[tuple[int, float]], set[str]]:
        """Best ``(entry, score)`` pairs, and every vocabulary token the query words matched.

        An entry's score is the sum, over the query words, of the word's weight (rarer words
        weigh more) times how well the entry matches it: the best field weight times
        similarity among the tokens the word stands for. The entries are never scored one by
        one: each word sorts them into a few levels (bitmasks), and ``_best_levels`` combines
        those, dropping early what cannot reach the best ``limit``.
        """
        postings = [p for _, p in fields]
        matches = _expand_all(words, vocabulary, postings, last_prefix_from, infix_from=infix_from)
        matched = {token for found in matches for token in found}
        n = max(len(self._talks), 1)
        levels: list[list[tuple[float, int]]] = []
        total_weight = 0.0
        for found in matches:
            # A rare word says more than a common one: weigh each by its best token's idf.
            best = max(found, key=lambda t: (found[t], -len(t)), default=None)
            frequency = max(_count(p.get(best, ())) for p in postings) if best else 0
            weight = math.log(1.0 + n / max(frequency, 1))
            total_weight += weight
            levels.append(_levels(found, fields, weight, self._nbytes))
        if not allowed or total_weight <= 0 or limit <= 0:
            return [], matched
        floor = MIN_SEARCH_SCORE / 100.0 * total_weight
        best_hits = _best_levels(levels, allowed, floor, limit)
        return [(e, round(100.0 * s / total_weight, 1)) for s, e in best_hits], matched

    def _allowed(self, kinds: set[str] | None, starts_after: datetime | None) -> int:
        """The bitmask of entries of one of ``kinds`` (if given) starting after ``starts_after``."""
        allowed = self._everything
        if kinds is not None:
            allowed &= sum(self._kind_masks.get(kind, 0) for kind in set(kinds))
        if starts_after is not None:
            allowed &= self._later.after(starts_after)
        return allowed

    def _hit_for(self, matched: set[str]) -> Callable[[int, float], SearchHit]:
        return lambda i, score: self._hit(i, score, matched)

    def _hit(self, i: int, score: float, matched: set[str]) -> SearchHit:
        talk = self._talks[i]
        people = tuple(n for n in talk.people if not matched.isdisjoint(self._names[n][1]))
        field: Field
        if any(_holds(self._title_post.get(token, ()), i) for token in matched):
            field = "title"
        elif people:
            field = "people"
        else:
            field = "abstract"
        snippet = _snippet(talk.abstract, matched) if field == "abstract" else ""
        return SearchHit(talk=talk, score=score, field=field, people=people, snippet=snippet)

    # -- people -------------------------------------------------------------------------------

    def people(self, query: str, limit: int = COMPLETE_LIMIT) -> list[PersonMatch]:
        """People (speakers, authors, organizers) matching ``query``, best first."""
        ranked = self._rank_people(_query_tokens(query), 2, limit)
        return [self._person_match(number, score) for number, score in ranked]

    def person(self, name: str) -> PersonMatch | None:
        """The person named exactly so (ignoring case, accents, punctuation), else the best match."""
        number, score = self._find_person(name)
        return None if number is None else self._person_match(number, score)

    def people_meant(self, name: str, limit: int = COMPLETE_LIMIT) -> list[PersonMatch]:
        """Everyone ``name`` may equally mean, best known first; one person when it is clear.

        The person named exactly so (ignoring case, accents, punctuation) is meant alone.
        Otherwise every person tied with the best match is: a surname several people share
        ("Zhang"), or a name spelled more than one way in the program ("Mathieu" also means
        Matthieu Arzel: a word of six letters or more stands as much for its one-edit
        variants). Matches only nearly as good (a longer name starting so) are not.
        """
        key = _clip(name)
        at = bisect_left(self._person_keys, key)
        if key and at < len(self._person_keys) and self._person_keys[at] == key:
            return [self._person_match(at, 100.0)]
        ranked = self._rank_people(_query_tokens(name), 2, limit, variants=True)
        if not ranked:
            return []
        best = ranked[0][1]
        return [self._person_match(n, score) for n, score in ranked if score >= best]

    def author_entries(self, name: str) -> list[Talk]:
        """Every entry ``name`` speaks at or authors (see ``person``), in program order."""
        number, _ = self._find_person(name)
        if number is None:
            return []
        return [self._talks[i] for i in self._person_entries[number]]

    def complete_person(self, prefix: str) -> list[str]:
        """Up to 25 names (as published) for an autocomplete: names starting so, then fuzzy."""
        wanted = _clip(prefix)
        if not wanted:
            return list(self._default_people)
        chosen: list[int] = []
        lo = bisect_left(self._person_keys, wanted)
        for number in range(lo, min(lo + COMPLETE_LIMIT, len(self._person_keys))):
            if not self._person_keys[number].startswith(wanted):
                break
            chosen.append(number)
        if len(chosen) < COMPLETE_LIMIT:
            taken = set(chosen)
            ranked = self._rank_people(_query_tokens(prefix), 1, COMPLETE_LIMIT + len(chosen))
            chosen.extend(number for number, _ in ranked if number not in taken)
        return [self._person_names[number] for number in chosen[:COMPLETE_LIMIT]]

    def _find_person(self, name: str) -> tuple[int | None, float]:
        key = _clip(name)
        at = bisect_left(self._person_keys, key)
        if key and at < len(self._person_keys) and self._person_keys[at] == key:
            return at, 100.0
        ranked = self._rank_people(_query_tokens(name), 2, 1)
        return ranked[0] if ranked else (None, 0.0)

    def _on_stage_first(self) -> list[str]:
        """25 names to offer before anything is typed: speakers, organizers, then authors."""
        chosen: dict[str, None] = {}
        speakers = (n for t in self._talks if t.session_id is None for n in t.people)
        organizers = (o.name for o in self.snapshot.workshop.organizers)
        authors = (n for t in self._talks if t.session_id is not None for n in t.people)
        for name in chain(speakers, organizers, authors):
            key = self._names[name][0]
            if key:
                chosen.setdefault(self._person_names[bisect_left(self._person_keys, key)])
                if len(chosen) == COMPLETE_LIMIT:
                    break
        return list(chosen)

    def _rank_people(
        self, words: list[str], last_prefix_from: int, limit: int, *, variants: bool = False
    ) -> list[tuple[int, float]]:
        if not words or limit <= 0:
            return []
        fields = ((1.0, self._person_post),)
        matches = _expand_all(
            words,
            self._person_vocabulary,
            [self._person_post],
            last_prefix_from,
            variants=variants,
        )
        levels = [_levels(found, fields, 1.0, self._person_bytes) for found in matches]
        floor = MIN_PERSON_SCORE / 100.0 * len(words)
        # Many people can tie on the words ("wang"): a few hundred are plenty to then rank by
        # how much of each name the query covers.
        best = _best_levels(levels, self._everyone, floor, max(limit * 8, 200))
        if not best:
            return []
        matched = set(words).union(*matches)

        def coverage(number: int) -> float:
            tokens = self._person_keys[number].split()
            return sum(t in matched for t in tokens) / len(tokens)

        scored = [(round(100.0 * s / len(words), 1), number) for s, number in best]
        scored.sort(key=lambda sp: (-sp[0], -coverage(sp[1]), sp[1]))
        return [(number, score) for score, number in scored[:limit]]

    def _person_match(self, number: int, score: float) -> PersonMatch:
        return PersonMatch(
            name=self._person_names[number],
            score=score,
            entry_ids=tuple(self._talks[i].id for i in self._person_entries[number]),
            is_organizer=number in self._organizers,
            affiliation=self._organizers.get(number),
        )


def _clip(text: str) -> str:
    return normalize(text[: _MAX_QUERY_CHARS * 4])[:_MAX_QUERY_CHARS]


def _expand_all(
    words: list[str],
    vocabulary: _Vocabulary,
    postings: Sequence[Container[str]],
    last_prefix_from: int,
    *,
    infix_from: int = 5,
    variants: bool = False,
) -> list[dict[str, float]]:
    """For each query word, the vocabulary tokens it may stand for, with their similarity."""
    last = len(words) - 1
    matches = [
        vocabulary.expand(
            w,
            postings,
            prefix_from=last_prefix_from if i == last else 3,
            infix_from=infix_from,
            variants=variants,
        )
        for i, w in enumerate(words)
    ]
    # "flash attention" is one token in "FlashAttention:": two query words glued together
    # stand for both of them.
    for i in range(min(last, _MAX_GLUED)):
        glued = words[i] + words[i + 1]
        # Near misses of the pair only when a word of it is itself unknown ("atention").
        typo = matches[i].get(words[i]) != _EXACT or matches[i + 1].get(words[i + 1]) != _EXACT
        found = vocabulary.expand(glued, postings, prefix_from=3, glued=True, typos=typo)
        for token, sim in found.items():
            for j in (i, i + 1):
                if sim > matches[j].get(token, 0.0):
                    matches[j][token] = sim
    return matches


def _levels(
    found: dict[str, float],
    fields: Sequence[tuple[float, _Postings]],
    weight: float,
    nbytes: int,
) -> list[tuple[float, int]]:
    """One query word's ``(score, items)`` levels, best first, each item in its best only.

    A token's postings in a field count with the field's weight times the token's
    similarity to the word, times the word's ``weight``. At most ``_POSTINGS_BUDGET``
    postings count, best first, so that a short or common word cannot make a query cost
    the whole program.
    """
    layers: list[tuple[float, _Posting]] = []
    for token, sim in found.items():
        for field_weight, postings in fields:
            items = postings.get(token)
            if items:
                layers.append((field_weight * sim, items))
    layers.sort(key=lambda layer: -layer[0])
    levels: list[tuple[float, int]] = []
    seen = 0
    budget = _POSTINGS_BUDGET
    for value, items in layers:
        if budget <= 0:
            break
        budget -= _count(items)
        mask = items if isinstance(items, int) else _mask_of(items, nbytes)
        fresh = mask & ~seen
        if not fresh:
            continue
        seen |= fresh
        score = value * weight
        if levels and levels[-1][0] == score:
            levels[-1] = (score, levels[-1][1] | fresh)
        else:
            levels.append((score, fresh))
    return levels


def _best_levels(
    levels: list[list[tuple[float, int]]], allowed: int, floor: float, limit: int
) -> list[tuple[float, int]]:
    """The ``limit`` best ``(score, entry)`` at or above ``floor``, ties by ascending entry.

    ``levels`` holds, per query word, its ``(score, entries)`` levels, best first, with each
    entry in one level at most (an entry in none scores 0 for that word). Words are taken
    one by one, the weightiest first, splitting groups of entries with equal sums so far by
    the word's levels. After each word, a group is dropped if even the best score of every
    word still to come cannot lift it to ``floor``, or to the sum that at least ``limit``
    entries have already reached. The groups left at the end are the answer, best first.
    """
    order = sorted(range(len(levels)), key=lambda w: -(levels[w][0][0] if levels[w] else 0.0))
    groups: dict[float, int] = {0.0: allowed}
    still = sum(levels[w][0][0] for w in order if levels[w])  # most the words to come can add
    for w in order:
        word = levels[w]
        if not word:
            continue
        still -= word[0][0]
        split: dict[float, int] = {}
        for so_far, group in groups.items():
            rest = group
            for score, entries in word:
                both = rest & entries
                if both:
                    total = so_far + score
                    split[total] = split.get(total, 0) | both
                    rest ^= both
                    if not rest:
                        break
            if rest:
                split[so_far] = split.get(so_far, 0) | rest
        # Bounds are compared with a margin: a sum's float rounding must not drop a tie.
        bound = floor
        reached = 0
        for total in sorted(split, reverse=True):
            reached += split[total].bit_count()
            if reached >= limit:
                bound = max(bound, total)
                break
        bound -= still + 1e-9
        groups = {total: group for total, group in split.items() if total >= bound}
    best: list[tuple[float, int]] = []
    for total in sorted(groups, reverse=True):
        if total < floor or len(best) >= limit:
            break
        best.extend((total, entry) for entry in _lowest(groups[total], limit - len(best)))
    return best


class _StartMasks:
    """The bitmask of entries starting after a given time, from a few precomputed ones."""

    __slots__ = ("_every", "_nbytes", "_order", "_starts", "_suffixes")

    def __init__(self, starts: list[datetime]) -> None:
        self._order = sorted(range(len(starts)), key=starts.__getitem__)
        self._starts = [starts[i] for i in self._order]
        self._nbytes = (len(starts) + 7) // 8
        # 64 suffixes of the entries in start order: any other is one of them plus a few.
        self._every = max(-(-len(starts) // 64), 1)
        self._suffixes = [
            _mask_of(self._order[at:], self._nbytes) for at in range(0, len(starts), self._every)
        ]

    def after(self, moment: datetime) -> int:
        at = bisect_right(self._starts, moment)
        checkpoint = -(-at // self._every)
        mask = self._suffixes[checkpoint] if checkpoint < len(self._suffixes) else 0
        return mask | _mask_of(self._order[at : checkpoint * self._every], self._nbytes)


def _snippet(abstract: str, tokens: set[str], width: int = 200) -> str:
    """About ``width`` characters of the abstract from just before its first matched word."""
    if not abstract:
        return ""
    start = 0
    for word in _WORD.finditer(abstract):
        if fold(word.group()) in tokens:
            start = max(0, word.start() - width // 4)
            break
    if start:
        # Start on a word boundary when there is one close by.
        space = abstract.find(" ", start)
        start = space + 1 if 0 <= space < start + 20 else start
    text = abstract[start : start + width].strip()
    return ("…" if start else "") + text + ("…" if start + width < len(abstract) else "")


class SearchService:
    """The search index of the current snapshot, rebuilt when the program is reloaded."""

    def __init__(self, snapshot_provider: Callable[[], ProgramSnapshot]) -> None:
        self._provider = snapshot_provider
        self._index: SearchIndex | None = None

    def index(self) -> SearchIndex:
        """The current snapshot's index (built on first use; ~1 s for 10,000 entries)."""
        snapshot = self._provider()
        if self._index is None or self._index.snapshot is not snapshot:
            self._index = SearchIndex.build(snapshot)
        return self._index

    def search(
        self, query: str, limit: int = 10, *, kinds: set[str] | None = None
    ) -> SearchResults:
        return self.index().search(query, limit, kinds=kinds)

    def talk_for(self, value: str) -> Talk | None:
        """The entry an autocomplete value names (its id), else what free text best matches."""
        talk = self._provider().by_id.get(value)
        if talk is not None:
            return talk
        hits = self.search(value, 1)
        return hits[0].talk if hits else None

    def people(self, query: str, limit: int = COMPLETE_LIMIT) -> list[PersonMatch]:
        return self.index().people(query, limit)

    def person(self, name: str) -> PersonMatch | None:
        return self.index().person(name)

    def people_meant(self, name: str, limit: int = COMPLETE_LIMIT) -> list[PersonMatch]:
        return self.index().people_meant(name, limit)

    def author_entries(self, name: str) -> list[Talk]:
        return self.index().author_entries(name)

    def complete_person(self, prefix: str) -> list[str]:
        return self.index().complete_person(prefix)

    def complete_title(
        self,
        prefix: str,
        kinds: set[str] | None = None,
        *,
        starts_after: datetime | None = None,
    ) -> list[tuple[str, str]]:
        return self.index().complete_title(prefix, kinds, starts_after=starts_after)

    def complete_entry(
        self,
        prefix: str,
        kinds: set[str] | None = None,
        *,
        starts_after: datetime | None = None,
    ) -> list[EntryChoice]:
        return self.index().complete_entry(prefix, kinds, starts_after=starts_after)
