"""/setup posters: a discussion thread per paper, through the local Discord (issue 15)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.db.models import DiscussionThread, ThreadSetup
from bot.local import LocalDiscord
from bot.settings import Settings
from bot.simulator import DiscordSimulator
from bot.simulator.models import Perm
from tests.conftest import HAET_FILE
from tests.e2e.conftest import FAST_LIMITS
from tests.e2e.helpers import at, edt
from tests.e2e.test_events import edit_program
from tests.e2e.test_organizers import organizer

FP8 = "poster-a-28nm-8-bit-floating-point-cnn-training"
FP8_TITLE = "A 28nm 8-bit Floating-Point CNN Training Processor"
SESSIONS = ["Poster session I", "Poster session II"]

pytestmark = pytest.mark.parametrize("rate_limits", [FAST_LIMITS])


@pytest.fixture
def program_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "program.yaml"
    copy.write_text(HAET_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    return copy


@pytest.fixture
def settings(database_url: str, program_copy: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        program_file=program_copy,
        discord_token="sim-token",
    )


async def forum(sim: DiscordSimulator, local: LocalDiscord, *, manage: bool = True) -> None:
    """#posters, a forum with no tags; the bot may manage its tags and threads."""
    assert local.bot is not None
    created = asyncio.ensure_future(local.bot.wait_for("guild_channel_create", timeout=2))
    sim.add_forum("posters")
    await created
    if manage:
        updated = asyncio.ensure_future(local.bot.wait_for("guild_channel_update", timeout=2))
        sim.set_bot_overwrite("posters", allow=Perm.MANAGE_CHANNELS | Perm.MANAGE_THREADS)
        await updated


async def rows(local: LocalDiscord) -> list[DiscussionThread]:
    assert local.services is not None
    async with local.services.sessions() as s:
        return list((await s.scalars(select(DiscussionThread))).all())


async def setup_posters(user: Any, channel: str = "posters") -> str:
    """/setup posters, and its answer once the work is done (progress is shown meanwhile)."""
    answer = await user.slash("setup posters", options={"channel": channel})
    assert answer.ephemeral
    for _ in range(600):
        text = str(answer.text())
        if "✅" in text or "Nothing was created" in text or "refused" in text:
            return text
        await asyncio.sleep(0.05)
    raise AssertionError(f"/setup posters did not finish: {answer.text()}")


def starter(sim: DiscordSimulator, thread: Any) -> dict[str, Any]:
    return sim.messages(thread)[0]


async def test_setup_posters_makes_24_tagged_threads_once(local: LocalDiscord) -> None:
    sim = local.sim
    olga = organizer(sim)
    await forum(sim, local)

    text = await setup_posters(olga)
    assert "for 24 entries: 24 created" in text, text
    threads = sim.threads("posters")
    assert len(threads) == 24
    assert [t["name"] for t in sim.tags("posters")] == SESSIONS
    first, second = (sim.tag_id("posters", name) for name in SESSIONS)
    tagged = [t.thread.applied_tags for t in threads if t.thread is not None]
    assert tagged.count([first]) == 12 and tagged.count([second]) == 12

    fp8 = next(t for t in threads if t.name.startswith(FP8_TITLE))
    embed = starter(sim, fp8)["embeds"][0]
    assert embed["title"].startswith(FP8_TITLE)
    assert embed["fields"][0]["name"] == "Authors"
    assert "Jae-sun Seo" in embed["fields"][0]["value"]
    links = next(f["value"] for f in embed["fields"] if f["name"] == "Links")
    assert "[PDF](<https://www.dropbox.com" in links and "[Presentation](<https://youtu.be" in links
    assert len(embed["description"]) <= 1000
    assert embed["footer"]["text"].endswith(f"entry:{FP8}")

    again = await setup_posters(olga)
    assert "0 created, 0 updated, 24 unchanged" in again
    assert len(sim.threads("posters")) == 24
    recorded = await rows(local)
    assert len(recorded) == 24
    assert {r.thread_id for r in recorded} == {t.id for t in sim.threads("posters")}


async def test_program_changes_edit_close_and_create_but_keep_organizer_edits(
    local: LocalDiscord, program_copy: Path
) -> None:
    sim = local.sim
    olga = organizer(sim)
    await forum(sim, local)
    await setup_posters(olga)
    fp8 = sim.thread(next(t.name for t in sim.threads("posters") if t.name.startswith(FP8_TITLE)))
    cut = next(t for t in sim.threads("posters") if t.name.startswith("Cut Inner Layers"))
    # An organizer renames one post: their name stays through program changes.
    assert cut.thread is not None
    cut.name = "Cut Inner Layers (pinned by the chairs)"

    def change(text: str) -> str:
        # FP8 moves to the afternoon session; "Cut Inner Layers" moves too; one poster is
        # cancelled (gone from the file) and a new one appears.
        text = text.replace(
            "  start: '2022-07-23T10:00:00-04:00'\n  end: '2022-07-23T11:30:00-04:00'\n"
            "  session: poster-session-i\n  people:\n  - Shreyas",
            "  start: '2022-07-23T15:00:00-04:00'\n  end: '2022-07-23T16:30:00-04:00'\n"
            "  session: poster-session-ii\n  people:\n  - Shreyas",
        )
        text = text.replace(
            "  start: '2022-07-23T10:00:00-04:00'\n  end: '2022-07-23T11:30:00-04:00'\n"
            "  session: poster-session-i\n  people:\n  - Bo-Kyeong Kim",
            "  start: '2022-07-23T15:00:00-04:00'\n  end: '2022-07-23T16:30:00-04:00'\n"
            "  session: poster-session-ii\n  people:\n  - Bo-Kyeong Kim",
        )
        start = text.index("- id: poster-efficient-training-of-deep-equilibrium-models\n")
        end = text.index("- id: ", start + 5)
        new = (
            "- id: poster-a-late-paper\n  kind: poster\n  title: A Late Paper\n"
            "  start: '2022-07-23T15:00:00-04:00'\n  end: '2022-07-23T16:30:00-04:00'\n"
            "  session: poster-session-ii\n  people:\n  - Ada Lovelace\n"
        )
        return text[:start] + new + text[end:]

    edit_program(program_copy, change)
    reloaded = await olga.slash("program reload")
    assert "Program reloaded" in reloaded.text()

    second = sim.tag_id("posters", "Poster session II")
    assert fp8.thread is not None and fp8.thread.applied_tags == [second]
    when = next(f["value"] for f in starter(sim, fp8)["embeds"][0]["fields"] if f["name"] == "When")
    assert f"<t:{int(edt('15:00').timestamp())}:F>" in when and "Poster session II" in when
    # Renamed by an organizer: kept (and its tags, which they left alone, follow the move).
    assert cut.name == "Cut Inner Layers (pinned by the chairs)"
    [gone] = [t for t in sim.threads("posters") if t.name.startswith("Efficient Training of Deep")]
    assert gone.thread is not None and gone.thread.locked and gone.thread.archived
    assert "cancelled" in sim.messages(gone)[-1]["content"]
    [late] = [t for t in sim.threads("posters") if t.name == "A Late Paper"]
    assert late.thread is not None and late.thread.applied_tags == [second]
    assert len(sim.threads("posters")) == 25

    again = await setup_posters(olga)
    assert "0 created, 0 updated, 24 unchanged" in again


async def test_session_post_talk_card_and_now_link_the_threads(local: LocalDiscord) -> None:
    sim = local.sim
    olga = organizer(sim)
    await forum(sim, local)
    await olga.slash("setup channel", kind="default", options={"channel": "announcements"})
    await setup_posters(olga)
    guild = sim.state.guild.id
    fp8 = next(t for t in sim.threads("posters") if t.name.startswith(FP8_TITLE))
    url = f"https://discord.com/channels/{guild}/{fp8.id}"

    await at(local, local.clock, edt("10:00"))
    [post] = [
        m for m in sim.messages("announcements") if "Poster session I" in (m["content"] or "")
    ]
    values = "\n".join(f["value"] for f in post["embeds"][0]["fields"])
    assert f"[Discuss](<{url}>)" in values
    assert values.count("[Discuss](<https://discord.com/channels/") == 12

    alice = sim.add_user("alice")
    card = await alice.slash("schedule talk", title=FP8_TITLE)
    buttons = [c for row in card.components for c in row.get("components", [])]
    assert any(b.get("label") == "Discuss" and b.get("url") == url for b in buttons)

    now = await alice.slash("schedule now")
    assert f"[Discuss](<{url}>)" in "\n".join(
        f["value"] for e in now.embeds for f in e.get("fields", [])
    ) + "".join(e.get("description") or "" for e in now.embeds)


async def test_a_linked_author_joins_their_papers_threads(local: LocalDiscord) -> None:
    sim = local.sim
    olga = organizer(sim)
    await forum(sim, local)
    jae = sim.add_user("jae")
    await olga.slash("people link", member=jae, person="Jae-sun Seo")
    await jae.slash("claim")
    await setup_posters(olga)
    fp8 = next(t for t in sim.threads("posters") if t.name.startswith(FP8_TITLE))
    assert jae.id in sim.thread_members(fp8)

    # Linked after the threads exist: added then.
    shreyas = sim.add_user("shreyas")
    await olga.slash("people link", member=shreyas, person="Shreyas Kolala Venkataramanaiah")
    assert shreyas.id not in sim.thread_members(fp8)  # not before they accept
    await shreyas.slash("claim")
    assert shreyas.id in sim.thread_members(fp8)


async def test_without_manage_channels_posts_are_untagged_and_the_organizer_told(
    local: LocalDiscord,
) -> None:
    sim = local.sim
    olga = organizer(sim)
    await forum(sim, local, manage=False)
    text = await setup_posters(olga)
    assert "24 created" in text
    assert "Manage Channels" in text
    assert sim.tags("posters") == []
    assert len(sim.threads("posters")) == 24


async def test_a_server_near_the_active_thread_limit_is_told_and_nothing_is_made(
    local: LocalDiscord,
) -> None:
    sim = local.sim
    olga = organizer(sim)
    await forum(sim, local)
    for i in range(990):
        sim.add_thread("general", f"chat {i}")
    text = await setup_posters(olga)
    assert "at most 1000 active threads" in text and "Nothing was created" in text
    assert sim.threads("posters") == []
    assert local.services is not None
    async with local.services.sessions() as s:
        [setup] = (await s.scalars(select(ThreadSetup))).all()
    assert setup.state == "blocked"


async def test_threads_made_but_not_recorded_before_a_kill_are_adopted_not_doubled(
    local: LocalDiscord,
) -> None:
    """What a process killed between creating threads and recording them leaves: threads in
    Discord the database does not know, and a set-up still ``running``."""
    sim = local.sim
    olga = organizer(sim)
    await forum(sim, local)
    await setup_posters(olga)
    assert local.services is not None
    async with local.services.sessions() as s, s.begin():
        lost = (await s.scalars(select(DiscussionThread).limit(5))).all()
        for row in lost:
            await s.delete(row)
        setup = (await s.scalars(select(ThreadSetup))).one()
        setup.state = "running"
    text = await setup_posters(olga)
    assert "0 created, 5 found from an interrupted run" in text, text
    assert len(sim.threads("posters")) == 24
    assert len(await rows(local)) == 24


async def test_a_text_channel_gets_one_message_and_thread_per_poster_even_after_a_failed_start(
    local: LocalDiscord,
) -> None:
    """A text channel: one starter message per poster and a thread started from it. When the
    thread's start fails after its message is posted (as a kill between the two leaves it),
    the next run's send carries the same nonce: Discord gives back the message, not a copy."""
    sim = local.sim
    olga = organizer(sim)
    assert local.bot is not None
    created = asyncio.ensure_future(local.bot.wait_for("guild_channel_create", timeout=2))
    sim.add_channel("poster-talk")
    await created
    refused = sim.faults.fail_requests(
        403,
        code=50013,
        message="Missing Permissions",
        count=1,
        route="POST /channels/{channel_id}/messages/{message_id}/threads",
    )
    first = await setup_posters(olga, "poster-talk")
    assert "refused" in first and refused.hits == 1, first
    assert len(sim.messages("poster-talk")) == 1 and not sim.threads("poster-talk")

    again = await setup_posters(olga, "poster-talk")
    assert "for 24 entries: 24 created" in again, again
    starters = [m for m in sim.messages("poster-talk") if m["embeds"]]
    assert len(starters) == 24, f"{len(starters) - 24} starter messages doubled"
    threads = sim.threads("poster-talk")
    assert len(threads) == 24
    assert {t.id for t in threads} == {int(m["id"]) for m in starters}
    fp8 = next(t for t in threads if t.name.startswith(FP8_TITLE))
    [message] = [m for m in starters if int(m["id"]) == fp8.id]
    assert message["embeds"][0]["footer"]["text"].endswith(f"entry:{FP8}")
    recorded = await rows(local)
    assert len(recorded) == 24 and {r.thread_id for r in recorded} == {t.id for t in threads}
