"""Synthetic programs of any size, databases prepared from them, and the queries users type.

A synthetic program is one conference day (Europe/Paris, 08:00-20:00): six keynotes, four
breaks, poster sessions of 99 posters (70 % of the entries) and 15-minute talks in as many
parallel rooms as it takes. Every keynote has one speaker, every talk and poster four authors
drawn from a pool of 40,000 names with accents; titles are 140-260 characters and abstracts
about 900. Everything is seeded: the same size always gives the same program.
"""

from __future__ import annotations

import math
import random
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from bot.db import migrate
from bot.db.models import DMChannel, Subscription
from bot.db.session import create_engine, create_sessionmaker
from bot.program import loader
from bot.program.model import Entry, Person, Program, Workshop
from bot.services.search import fold
from bot.settings import PROJECT_ROOT

HAET_FILE = PROJECT_ROOT / "data" / "haet2022.yaml"

ZONE = ZoneInfo("Europe/Paris")
DAY = date(2030, 5, 4)
DAY_START = datetime(2030, 5, 4, 8, 0, tzinfo=ZONE)
DAY_HOURS = 12
SLOT = timedelta(minutes=15)
POSTERS_PER_SESSION = 99
AUTHORS_PER_ENTRY = 4
NAME_POOL_SIZE = 40_000

FIRST_NAMES = (
    "José Zoë Łukasz Søren François Ngọc Đức Ana Björn Chloé Dóra Émile Fatma Gökhan Hélène "
    "János Kübra Lúcia Mátyás Nikolaï Oğuz Pál Renée Sebastián Tomáš Ülkü Václav Wojciech "
    "Xavière Yūki Žofia Ahmed Aoife Bartłomiej Çağla Dagný Eléonore Felipe Gonçalo Håkon Iñaki "
    "Jiří Kārlis Laëtitia Małgorzata Nuño Øystein Paweł Raúl Siân Thérèse Uxía Vít Weronika "
    "Yiğit Zdeněk Agnès Benoît Cécile Dorotėja Ersin Fañch Grzegorz Hà Ines İlker Jürgen Katalin "
    "Lóránt Mélanie Niamh Ólafur Przemysław Rasmus Ştefan Tadeáš Úna Vésteinn Wei Priya Maria "
    "John Anna David Sarah Chen Olga Kenji Amara Rafael Lena Omar Mei Ivan Sofia Hugo Noor Elena "
    "Tariq Julia"
).split()
SURNAME_STEMS = (
    "Müll Dvoř Nguy Kowal Gonç Peñ Çel Šim Høg Ló Brä Ferr Jø Nú Ósk Sánch Wó Ząb Özd Kře Lef "
    "Mor Tan Yam Ség Hernánd Bœuf Łęcz Ár Göt Ræv Žel Ibá Vál Cör Dür Mäk Pérez Rø Szél Ųr Ðor "
    "Kaç Fåg Grø Étr Ïsa Ōta Bür Chá"
).split()
SURNAME_ENDINGS = ("er", "ez", "ák", "ović", "sson", "ien", "elli", "ski")

ADJECTIVES = (
    "efficient sparse low-precision hardware-aware scalable robust adaptive energy-efficient "
    "memory-efficient quantized distributed asynchronous federated differentiable stochastic "
    "structured unstructured dynamic static mixed-precision lightweight fast exact approximate "
    "provable principled practical hierarchical recurrent convolutional graph-based "
    "self-supervised contrastive generative discriminative Bayesian probabilistic causal "
    "equivariant continual online offline multi-task multi-modal cross-lingual zero-shot "
    "few-shot large-scale on-device neuromorphic analog in-memory photonic spiking binary "
    "ternary 4-bit 8-bit pruned distilled"
).split()
NOUNS = (
    "training inference attention transformers networks accelerators gradients optimizers "
    "quantization pruning sparsity distillation compression kernels memory bandwidth energy "
    "latency throughput embeddings representations architectures activations weights "
    "checkpoints schedules batches tensors operators compilers runtimes systems benchmarks "
    "datasets models layers normalization regularization initialization convergence "
    "generalization robustness calibration uncertainty retrieval recommendation segmentation "
    "detection translation summarization reasoning planning control policies agents rewards "
    "simulators emulators chips processors arrays crossbars synapses neurons circuits"
).split()
TASKS = (
    "image classification|language modeling|speech recognition|object detection|machine "
    "translation|graph learning|reinforcement learning|protein folding|weather forecasting|"
    "autonomous driving|edge deployment|federated learning|continual learning|video "
    "understanding|code generation|recommendation systems|scientific computing|time series "
    "forecasting|medical imaging|neural architecture search"
).split("|")
SYLLABLES = (
    "Quant Sparse Flash Prune Distil Tensor Graph Energ Mem Fast Lite Tiny Mega Hyper Neuro "
    "Spik Photon Ana Bit Flex Shift Mix Fused Block Tile Stream Lazy Eager Swift Lean Deep "
    "Wide Tern Bin Ortho Ring Mesh Wave Pulse"
).split()
METHOD_ENDS = "Former Net Attn Train Opt Grad Quant Prune Mix Flow Scale Fuse".split()


def name_pool() -> list[str]:
    """40,000 distinct people's names, most with accents (NFC), deterministic."""
    surnames = [stem + ending for stem in SURNAME_STEMS for ending in SURNAME_ENDINGS]
    names = [f"{first} {last}" for first in FIRST_NAMES for last in surnames]
    assert len(set(names)) == NAME_POOL_SIZE, len(set(names))
    random.Random(40_000).shuffle(names)
    return names


def _title(rng: random.Random) -> str:
    method = rng.choice(SYLLABLES) + rng.choice(METHOD_ENDS)
    words = [
        f"{method}:",
        rng.choice(ADJECTIVES).capitalize(),
        rng.choice(NOUNS).capitalize(),
        "for",
        rng.choice(TASKS).title(),
    ]
    target = rng.randint(140, 260)
    while len(" ".join(words)) < target:
        words += [
            rng.choice(("with", "under", "via", "and", "beyond", "towards", "on")),
            rng.choice(ADJECTIVES).capitalize(),
            rng.choice(NOUNS).capitalize(),
        ]
    return " ".join(words)[:target].rsplit(" ", 1)[0].rstrip(":,")


def _abstract(rng: random.Random) -> str:
    sentences: list[str] = []
    while sum(len(s) + 1 for s in sentences) < 900:
        sentences.append(
            f"We study {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} for {rng.choice(TASKS)} "
            f"and show that {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} reduce "
            f"{rng.choice(NOUNS)} by {rng.randint(2, 40)}x on {rng.choice(NOUNS)}."
        )
    return " ".join(sentences)


def synthetic_program(size: int, seed: int = 0) -> Program:
    """A one-day program of exactly ``size`` entries (at least 100)."""
    if size < 100:
        raise ValueError("a synthetic program has at least 100 entries")
    rng = random.Random(seed * 1_000_003 + size)
    pool = name_pool()
    entries: list[Entry] = []
    day_end = DAY_START + timedelta(hours=DAY_HOURS)

    for k in range(6):
        start = DAY_START + timedelta(hours=1 + 2 * k)
        entries.append(
            Entry(
                id=f"keynote-{k}",
                kind="keynote",
                title=_title(rng),
                people=(rng.choice(pool),),
                abstract=_abstract(rng),
                start=start,
                end=start + timedelta(minutes=45),
                room="Main hall",
            )
        )
    for b, hour in enumerate((2.5, 4.5, 7.5, 9.5)):
        start = DAY_START + timedelta(hours=hour)
        entries.append(
            Entry(
                id=f"break-{b}",
                kind="break",
                title="Coffee break",
                start=start,
                end=start + timedelta(minutes=30),
            )
        )
    rest = size - len(entries)
    sessions = round(rest * 0.7 / (POSTERS_PER_SESSION + 1))
    spacing = timedelta(hours=DAY_HOURS - 2) / max(sessions, 1)
    for s in range(sessions):
        start = DAY_START + timedelta(minutes=30) + spacing * s
        end = start + timedelta(minutes=90)
        session_id = f"session-{s:03d}"
        entries.append(
            Entry(
                id=session_id,
                kind="poster_session",
                title=f"Poster session {s + 1}: {_title(rng)}"[:250],
                start=start,
                end=end,
                room=f"Hall {s % 8 + 1}",
            )
        )
        for p in range(POSTERS_PER_SESSION):
            entries.append(
                Entry(
                    id=f"poster-{s:03d}-{p:02d}",
                    kind="poster",
                    title=_title(rng),
                    people=tuple(rng.sample(pool, AUTHORS_PER_ENTRY)),
                    abstract=_abstract(rng),
                    start=start,
                    end=end,
                    session=session_id,
                    room=f"Hall {s % 8 + 1}, board {p + 1}",
                )
            )
    talks = size - len(entries)
    slots = int((day_end - DAY_START) / SLOT)
    rooms = math.ceil(talks / slots)
    for t in range(talks):
        start = DAY_START + SLOT * (t // rooms)
        entries.append(
            Entry(
                id=f"talk-{t:05d}",
                kind="talk",
                title=_title(rng),
                people=tuple(rng.sample(pool, AUTHORS_PER_ENTRY)),
                abstract=_abstract(rng),
                start=start,
                end=start + SLOT,
                room=f"Room {t % rooms + 1}",
            )
        )
    workshop = Workshop(
        name=f"Synthetic Conference on Efficient Learning ({size:,} entries)",
        acronym=f"SYN {size}",
        venue="Palais des Congrès, Paris",
        timezone="Europe/Paris",
        date=DAY,
        description="A synthetic program for the benchmark.",
        organizers=tuple(
            Person(name=name, affiliation="Université Paris-Saclay") for name in pool[:8]
        ),
    )
    program = Program(workshop=workshop, entries=tuple(entries))
    assert len(program.entries) == size
    return program


# -- databases ------------------------------------------------------------------------------------


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def load_into(url: str, program: Program, now: datetime) -> None:
    """Migrate the database at ``url`` and load ``program`` with the bot's own loader."""
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        # The loader's own digest included: the benchmark measures what the bot does.
        await loader.load_program(create_sessionmaker(engine), program, now)
    finally:
        await engine.dispose()


def copy_sqlite(source: Path, target: Path) -> Path:
    """A copy of a closed SQLite database (its WAL, if one was left, too)."""
    shutil.copyfile(source, target)
    for suffix in ("-wal", "-shm"):
        extra = source.with_name(source.name + suffix)
        if extra.exists():
            shutil.copyfile(extra, target.with_name(target.name + suffix))
    return target


@dataclass(frozen=True)
class Reminders:
    """What ``add_reminders`` inserted."""

    count: int
    users: int
    first_due: datetime


async def add_reminders(
    url: str,
    program: Program,
    *,
    count: int,
    per_user: int,
    after: datetime,
    seed: int = 1,
) -> Reminders:
    """``count`` active subscriptions (``per_user`` each) to entries starting after ``after``,
    and a cached DM channel for every subscriber, inserted in bulk."""
    rng = random.Random(seed)
    future = [e for e in program.entries if e.start > after and e.kind != "break"]
    users = math.ceil(count / per_user)
    subscriptions: list[dict[str, object]] = []
    for u in range(users):
        user_id = 900_000_000_000_000_000 + u
        for entry in rng.sample(future, min(per_user, count - len(subscriptions))):
            lead = rng.choice((0, 5, 10, 15, 30))
            subscriptions.append(
                {
                    "user_id": user_id,
                    "guild_id": None,
                    "entry_id": entry.id,
                    "minutes_before": lead,
                    "due_at": (entry.start - timedelta(minutes=lead)).astimezone(UTC),
                    "state": "active",
                    "created_at": after,
                }
            )
    channels = [
        {"user_id": 900_000_000_000_000_000 + u, "channel_id": 800_000_000_000_000_000 + u}
        for u in range(users)
    ]
    await insert_rows(url, subscriptions, channels)
    first_due = min(row["due_at"] for row in subscriptions)  # type: ignore[type-var]
    assert isinstance(first_due, datetime)
    return Reminders(len(subscriptions), users, first_due)


async def insert_rows(
    url: str,
    subscriptions: Sequence[Mapping[str, object]],
    channels: Sequence[Mapping[str, object]],
) -> None:
    """Bulk inserts (one executemany per table and chunk), as a migration or import would."""
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as s, s.begin():
            for start in range(0, len(channels), 20_000):
                await s.execute(insert(DMChannel), list(channels[start : start + 20_000]))
            for start in range(0, len(subscriptions), 20_000):
                await s.execute(insert(Subscription), list(subscriptions[start : start + 20_000]))
    finally:
        await engine.dispose()


# -- what users type ------------------------------------------------------------------------------


def _typo(rng: random.Random, word: str) -> str:
    """One slip of the fingers in a word long enough to be forgiven (swap or drop a letter)."""
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    if rng.random() < 0.5:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i + 1 :]


class Queries:
    """Varied, seeded queries drawn from a program: what people pick, type and mistype."""

    def __init__(self, program: Program, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.entries = [e for e in program.entries if e.kind != "break"]
        people = {name for e in program.entries for name in e.people}
        people.update(p.name for p in program.workshop.organizers)
        self.people = sorted(people)

    def _title_words(self) -> list[str]:
        title = self.rng.choice(self.entries).title
        return [w.strip(":,.()") for w in title.split() if len(w.strip(":,.()")) > 2]

    def talk_option(self) -> str:
        """/schedule talk title=: an id picked from autocomplete, or words typed and sent."""
        rng = self.rng
        if rng.random() < 0.6:
            return rng.choice(self.entries).id
        words = self._title_words()
        start = rng.randrange(max(len(words) - 2, 1))
        typed = words[start : start + rng.randint(2, 3)]
        if rng.random() < 0.3:
            typed = [_typo(rng, w) for w in typed]
        return " ".join(typed)

    def author_option(self) -> str:
        """/author name=: a name as published, folded, a surname alone, or with a typo."""
        rng = self.rng
        name = rng.choice(self.people)
        roll = rng.random()
        if roll < 0.5:
            return name
        if roll < 0.75:
            return fold(name)
        if roll < 0.9:
            return name.split()[-1]
        first, *rest = name.split()
        return " ".join([first, *(_typo(rng, w) for w in rest)])

    def search_query(self) -> str:
        """/search query=: title words, a surname, abstract words, sometimes mistyped."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.25:
            words = [self.rng.choice(self.people).split()[-1]]
        elif roll < 0.4:
            abstract = rng.choice(self.entries).abstract or rng.choice(self.entries).title
            words = [w.strip(".,()") for w in abstract.split() if len(w) > 3][:40]
            words = rng.sample(words, min(2, len(words)))
        else:
            title = self._title_words()
            words = rng.sample(title, min(rng.randint(1, 3), len(title)))
        if rng.random() < 0.2:
            words = [_typo(rng, w) for w in words]
        return " ".join(words)

    def title_prefix(self) -> str:
        """What is in a title box while typing: empty, a title's start, or a middle word's."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.05:
            return ""
        title = rng.choice(self.entries).title
        if roll < 0.6:
            return title[: rng.randint(1, 20)]
        word = rng.choice(self._title_words())
        typed = word[: rng.randint(2, max(2, len(word)))]
        return _typo(rng, typed) if rng.random() < 0.15 else typed

    def name_prefix(self) -> str:
        """What is in the name box while typing: a name's or surname's start, with or without
        accents."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.05:
            return ""
        name = rng.choice(self.people)
        if roll < 0.5:
            typed = name[: rng.randint(1, len(name))]
        else:
            last = name.split()[-1]
            typed = last[: rng.randint(2, len(last))]
        return fold(typed) if rng.random() < 0.4 else typed

    def moment(self, start: datetime, end: datetime) -> datetime:
        """A random instant of the day, for /schedule now."""
        span = (end - start).total_seconds()
        return start + timedelta(seconds=self.rng.uniform(0, span))
