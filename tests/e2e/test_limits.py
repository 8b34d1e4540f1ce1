"""Every command on a huge, hostile program still answers within Discord's limits.

2,000 entries with 1,000-character titles, 60-author papers, 20,000-character abstracts, long
links and names, 40 poster sessions of 49 posters, 30 kinds and a prolific author on 500
entries. The local Discord validates every request and rejects what Discord would; on top,
each answer is checked here against the documented limits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr

from bot.clock import ManualClock
from bot.db import migrate
from bot.db.session import create_engine, create_sessionmaker
from bot.local import LocalDiscord
from bot.program import loader
from bot.program.model import Entry, Link, Person, Program, Workshop
from bot.settings import Settings
from bot.simulator import InteractionResult, SimUser
from bot.simulator.validation import autocomplete_issues, message_issues
from bot.tree import APOLOGY

ZONE = ZoneInfo("Europe/Paris")
DAY_START = datetime(2030, 5, 4, 8, 0, tzinfo=ZONE)
SESSIONS = 40
POSTERS_PER_SESSION = 49  # 40 x 50 = 2,000 entries
KINDS = [f"kind_{n:02d}" for n in range(30)]
PROLIFIC = "Prolific Author"
LONG_NAME = "Long-Named Person " + "Verylongsurname " * 11  # near the 200-character limit
VOCABULARY = [
    f"{stem}{end}"
    for stem in ("quant", "prun", "spars", "distil", "tensor", "graph", "energ", "memor")
    for end in ("ization", "ing", "ity", "er", "ed", "al")
]


def words(seed: int, size: int) -> str:
    """Deterministic text of exactly ``size`` characters or a little less."""
    out: list[str] = []
    length = -1
    i = seed
    while length < size:
        word = f"{VOCABULARY[(i * 31) % len(VOCABULARY)]}{i % 89}"
        out.append(word)
        length += len(word) + 1
        i += 7
    text = " ".join(out)[:size]
    # Program text is stripped when loaded: end on a letter to keep the exact size.
    return text[:-1] + "x" if text.endswith(" ") else text


def people(session: int, poster: int) -> tuple[str, ...]:
    many = poster % 10 == 0
    names = [
        f"Person{(session * 49 + poster + k) % 700} Surname{k}" for k in range(60 if many else 3)
    ]
    if poster % 4 == 0:
        names.append(PROLIFIC)
    if poster == 7:
        names.append(LONG_NAME.strip())
    return tuple(dict.fromkeys(names))


@cache
def synthetic_program() -> Program:
    entries: list[Entry] = []
    long_links = tuple(
        Link(title=words(n, 200), url=f"https://example.org/{n}/" + "p" * 1500) for n in range(12)
    )
    for s in range(SESSIONS):
        start = DAY_START + timedelta(minutes=15 * s)
        end = start + timedelta(minutes=90)
        session_id = f"session-{s:02d}"
        entries.append(
            Entry(
                id=session_id,
                kind="poster_session",
                title=words(s, 1000),
                start=start,
                end=end,
                room=words(s, 200),
            )
        )
        for p in range(POSTERS_PER_SESSION):
            big = p % 25 == 0
            entries.append(
                Entry(
                    id=f"poster-{s:02d}-{p:02d}",
                    # Some posters are other kinds, so the program has 30 kinds and more.
                    kind="poster" if p % 7 else KINDS[(s + p) % len(KINDS)],
                    title=words(s * 100 + p, 1000),
                    people=people(s, p),
                    abstract=words(p, 20_000) if big and s % 8 == 0 else words(p, 300),
                    start=start,
                    end=end,
                    session=session_id,
                    links=long_links if big else (),
                )
            )
    workshop = Workshop(
        name=words(1, 300),
        acronym="W" * 40,
        venue=words(2, 300),
        timezone="Europe/Paris",
        date=DAY_START.date(),
        organizers=tuple(
            Person(name=f"Organizer{n} " + "Lastname" * 20, affiliation=words(n, 300))
            for n in range(30)
        ),
    )
    return Program(workshop=workshop, entries=tuple(entries))


@pytest.fixture
async def settings(tmp_path: Path, database_url: str) -> AsyncIterator[Settings]:
    """The synthetic program, loaded into the database before the bot starts."""
    program = synthetic_program()
    # Parsing a 3 MB program file with PyYAML's pure-Python loader takes seconds per test, so
    # the program goes into the database through the same loader the bot uses, and the bot
    # serves what the database holds (its program file does not exist).
    engine = create_engine(database_url)
    try:
        await migrate.upgrade(engine)
        await loader.load_program(create_sessionmaker(engine), program, DAY_START)
    finally:
        await engine.dispose()
    yield Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        program_file=tmp_path / "not-there.yaml",
        discord_token=SecretStr("sim-token"),
    )


@pytest.fixture
def clock() -> ManualClock:
    # Six poster sessions (294 posters) running at once, more starting every 15 minutes.
    return ManualClock(DAY_START + timedelta(hours=1, minutes=20))


@pytest.fixture
async def alice(local: LocalDiscord) -> SimUser:
    return local.sim.add_user("alice")


def within_limits(result: InteractionResult) -> InteractionResult:
    """The answer exists, is no apology, and fits Discord's documented limits."""
    assert result.content != APOLOGY
    if result.choices is not None:
        assert autocomplete_issues({"choices": result.choices}) == []
        return result
    assert result.message is not None
    body = {k: result.message.get(k) for k in ("content", "embeds", "components")}
    assert message_issues(body, creating=True) == []
    for row in result.components:
        for component in row["components"]:
            assert len(component.get("label") or "") <= 80
    return result


def select_menu(result: InteractionResult, custom_id: str) -> dict[str, Any]:
    for row in result.components:
        for component in row["components"]:
            if component.get("custom_id") == custom_id:
                return dict(component)
    raise AssertionError(f"no menu {custom_id!r}")


async def slash(user: SimUser, command: str, **options: Any) -> InteractionResult:
    return within_limits(await user.slash(command, options=options))


async def choices(user: SimUser, command: str, **options: Any) -> list[dict[str, Any]]:
    offered = await user.autocomplete(command, options=options)
    assert autocomplete_issues({"choices": offered}) == []
    assert 1 <= len(offered) <= 25
    return offered


def test_the_synthetic_program_is_as_hostile_as_promised() -> None:
    program = synthetic_program()
    assert len(program.entries) == 2000
    assert all(len(e.title) == 1000 for e in program.entries)
    assert len({e.kind for e in program.entries}) > 25
    assert max(len(e.people) for e in program.entries) > 25
    assert max(len(e.abstract) for e in program.entries) == 20_000


async def test_schedule_commands_on_a_huge_program(clock: ManualClock, alice: SimUser) -> None:
    now = await slash(alice, "schedule now")
    assert "Posters (49):" in now.embeds[0]["description"]
    for moment in (DAY_START - timedelta(days=3), DAY_START + timedelta(days=1)):
        clock.set(moment)
        await slash(alice, "schedule now")
    clock.set(DAY_START - timedelta(minutes=5))
    nxt = await slash(alice, "schedule next", count=25)
    assert nxt.embeds[0]["footer"]["text"].startswith("Page 1/")

    day = await slash(alice, "schedule day")
    assert day.embeds[0]["footer"]["text"] == "Page 1/200"
    for _ in range(3):
        within_limits(await day.click("Next"))
        within_limits(day)

    kinds = await choices(alice, "schedule kind", kind="")
    assert len(kinds) == 25
    posters = await slash(alice, "schedule kind", kind="poster")
    assert posters.embeds[0]["title"].startswith("Poster (")
    await slash(alice, "schedule kind", kind=kinds[-1]["value"])

    sessions = await choices(alice, "schedule session", session="")
    assert len(sessions) == 25
    session = await slash(alice, "schedule session", session=sessions[0]["value"])
    assert session.embeds[0]["footer"]["text"] == "Page 1/5"
    within_limits(await session.click("Next"))


async def test_talk_cards_on_a_huge_program(local: LocalDiscord, alice: SimUser) -> None:
    offered = await choices(alice, "schedule talk", title="")
    assert len(offered) == 25
    await choices(alice, "schedule talk", title=words(300, 40))

    # A poster with 60 authors, the prolific one, a 20,000-character abstract and 12 long links.
    card = await slash(alice, "schedule talk", title="poster-00-00")
    embed = card.embeds[0]
    assert embed["description"].endswith("…")
    authors = select_menu(card, "card:author")
    assert len(authors["options"]) == 25
    assert "the first 25 of 61" in authors["placeholder"]
    who = await card.select("card:author", ["0"])
    within_limits(who)
    other = within_limits(await card.click("Authors' other work"))
    assert other.embeds[0]["footer"]["text"].startswith("Page 1/")
    within_limits(await other.click("Next"))
    first = select_menu(other, "list:open")["options"][0]["value"]
    opened = within_limits(await other.select("list:open", [first]))
    assert opened.embeds[0]["title"].endswith("…")
    within_limits(await card.click("Share in channel"))

    # A poster session card: 49 posters, a 1,000-character title, a long room.
    session = await slash(alice, "schedule talk", title="session-03")
    within_limits(await session.select("card:poster", ["poster-03-01"]))
    # The long-named person, found from their card.
    long_card = await slash(alice, "schedule talk", title="poster-00-07")
    names = [o["label"] for o in select_menu(long_card, "card:author")["options"]]
    index = next(i for i, n in enumerate(names) if n.startswith("Long-Named Person"))
    found = within_limits(await long_card.select("card:author", [str(index)]))
    assert found.embeds[0]["title"].startswith("Long-Named Person")


async def test_author_and_search_on_a_huge_program(alice: SimUser) -> None:
    prolific = await slash(alice, "author", name="prolific author")
    count = sum(PROLIFIC in e.people for e in synthetic_program().entries)
    assert count > 500
    text = prolific.embeds[0]["description"]
    assert text.startswith(f"Speaker or author of {count} entries:")
    assert prolific.embeds[0]["footer"]["text"] == f"Page 1/{-(-count // 10)}"
    organizer = await slash(alice, "author", name="organizer7")
    assert "organizes" in organizer.embeds[0]["description"]

    names = await choices(alice, "author", name="")
    assert len(names) == 25
    long_names = await choices(alice, "author", name="long-named")
    assert long_names[0]["value"].startswith("Long-Named Person")
    found = await slash(alice, "author", name=long_names[0]["value"])
    assert found.embeds[0]["title"].startswith("Long-Named Person")

    results = await slash(alice, "search", query="quantization pruning")
    assert results.embeds[0]["description"].startswith("50 results (the best ones), best first.")
    within_limits(await results.click("Next"))
    for query in ("x" * 6000, "quantization " * 400, "🙂", "'; DROP TABLE entries; --"):
        for command, option in (("search", "query"), ("author", "name")):
            answer = within_limits(await alice.slash(command, options={option: query}))
            assert answer.ephemeral
