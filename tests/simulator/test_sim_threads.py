"""Forum channels, threads, tags and thread members, driven through the real discord.py client."""

from __future__ import annotations

import asyncio
import io

import discord
import pytest
from discord.ext import commands

from bot.simulator import DiscordSimulator, Perm, SpecValidator

SESSIONS = ["Poster session I", "Poster session II"]


async def forum_channel(
    sim: DiscordSimulator, bot: commands.Bot, name: str = "posters", **options: object
) -> discord.ForumChannel:
    created = asyncio.ensure_future(bot.wait_for("guild_channel_create", timeout=2))
    sim.add_forum(name, tags=SESSIONS, **options)  # type: ignore[arg-type]
    channel = await created
    assert isinstance(channel, discord.ForumChannel)
    return channel


async def overwrite(
    sim: DiscordSimulator, bot: commands.Bot, channel: str, *, allow: int = 0, deny: int = 0
) -> None:
    """Set the bot's overwrite in ``channel`` and wait until discord.py has seen it."""
    updated = asyncio.ensure_future(bot.wait_for("guild_channel_update", timeout=2))
    sim.set_bot_overwrite(channel, allow=allow, deny=deny)
    await updated


def text_channel(bot: commands.Bot, sim: DiscordSimulator, name: str) -> discord.TextChannel:
    channel = bot.get_channel(sim.channel_id(name))
    assert isinstance(channel, discord.TextChannel)
    return channel


def tag(forum: discord.ForumChannel, name: str) -> discord.ForumTag:
    found = discord.utils.get(forum.available_tags, name=name)
    assert found is not None
    return found


async def test_forum_post_with_tags_and_embed(sim: DiscordSimulator, bot: commands.Bot) -> None:
    forum = await forum_channel(sim, bot)
    assert [t.name for t in forum.available_tags] == SESSIONS
    assert forum.available_tags[0].id == sim.tag_id("posters", "Poster session I")

    embed = discord.Embed(title="FlashAttention", description="Tri Dao")
    announced = asyncio.ensure_future(bot.wait_for("thread_create", timeout=2))
    post = await forum.create_thread(
        name="FlashAttention",
        embed=embed,
        applied_tags=[tag(forum, "Poster session I")],
    )
    thread, starter = post.thread, post.message
    assert isinstance(thread, discord.Thread)
    assert thread.parent_id == forum.id and thread.owner_id == bot.user.id  # type: ignore[union-attr]
    assert thread.type is discord.ChannelType.public_thread
    assert [t.name for t in thread.applied_tags] == ["Poster session I"]
    # Discord's rule: a forum post's first message has the thread's id.
    assert starter.id == thread.id and starter.channel.id == thread.id
    assert starter.embeds[0].title == "FlashAttention"

    [stored] = sim.threads("posters")
    assert stored.id == thread.id and stored.name == "FlashAttention"
    assert [m["id"] for m in sim.messages(stored)] == [str(thread.id)]
    assert sim.thread_members(stored) == [sim.bot_id]
    payload = sim.thread_payload("FlashAttention")
    assert payload["message_count"] == 0 and payload["member_count"] == 1

    # The gateway told discord.py too (THREAD_CREATE with newly_created).
    cached = await announced
    assert cached.id == thread.id and cached.applied_tags == thread.applied_tags
    assert bot.get_channel(thread.id) is cached
    fetched = await bot.fetch_channel(thread.id)
    assert isinstance(fetched, discord.Thread) and fetched.name == "FlashAttention"
    sim.assert_clean()


async def test_edit_move_lock_and_archive_a_post(sim: DiscordSimulator, bot: commands.Bot) -> None:
    forum = await forum_channel(sim, bot)
    thread, starter = await forum.create_thread(
        name="Mamba", content="Room A", applied_tags=[tag(forum, "Poster session I")]
    )
    # The paper moves: new session tag, new starter text, new name.
    edited_message = await starter.edit(content="Room B")
    assert edited_message.content == "Room B"
    updated = asyncio.ensure_future(bot.wait_for("thread_update", timeout=2))
    thread = await thread.edit(name="Mamba (moved)", applied_tags=[tag(forum, "Poster session II")])
    before, after = await updated
    assert before.name == "Mamba" and after.name == "Mamba (moved)"
    assert [t.name for t in thread.applied_tags] == ["Poster session II"]
    assert sim.message(thread.id).content == "Room B"

    # Cancelled: locked and archived. The bot has Manage Threads here.
    await overwrite(sim, bot, "posters", allow=Perm.MANAGE_THREADS)
    thread = await thread.edit(locked=True, archived=True)
    assert thread.locked and thread.archived
    meta = sim.thread("Mamba (moved)").thread
    assert meta is not None and meta.locked and meta.archived
    active = await forum.guild.active_threads()
    assert thread.id not in [t.id for t in active]
    sim.assert_clean()


async def test_thread_members_and_active_threads(sim: DiscordSimulator, bot: commands.Bot) -> None:
    alice = sim.add_user("Alice")
    forum = await forum_channel(sim, bot)
    thread, _ = await forum.create_thread(name="RetNet", content="Poster 12")
    joined = asyncio.ensure_future(bot.wait_for("thread_member_join", timeout=2))
    await thread.add_user(discord.Object(alice.id))
    member = await joined
    assert member.id == alice.id and member.thread_id == thread.id
    assert sim.thread_members("RetNet") == [sim.bot_id, alice.id]
    members = await thread.fetch_members()
    assert {m.id for m in members} == {sim.bot_id, alice.id}
    active = await forum.guild.active_threads()
    assert [t.id for t in active] == [thread.id]
    assert active[0].me is not None  # the bot's own membership comes with the list
    # Removing someone else needs Manage Threads.
    with pytest.raises(discord.Forbidden) as refused:
        await thread.remove_user(discord.Object(alice.id))
    assert refused.value.code == 50013
    await overwrite(sim, bot, "posters", allow=Perm.MANAGE_THREADS)
    await thread.remove_user(discord.Object(alice.id))
    assert sim.thread_members("RetNet") == [sim.bot_id]
    sim.assert_clean()


async def test_text_channel_threads_and_messages_in_them(
    sim: DiscordSimulator, bot: commands.Bot
) -> None:
    general = text_channel(bot, sim, "general")
    thread = await general.create_thread(name="Paper 7", type=discord.ChannelType.public_thread)
    assert thread.type is discord.ChannelType.public_thread and thread.parent_id == general.id
    # Discord announces a public thread in its parent with a "thread created" message.
    [notice] = sim.messages("general")
    assert notice["type"] == 18 and notice["content"] == "Paper 7"

    sent = await thread.send("discussion here")
    assert sent.channel.id == thread.id
    assert sim.thread_payload(thread.id)["message_count"] == 1

    message = await general.send("Paper 8 abstract")
    from_message = await message.create_thread(name="Paper 8")
    assert from_message.id == message.id  # a thread started from a message takes its id
    fetched = await general.fetch_message(message.id)
    assert fetched.thread is not None and fetched.thread.id == from_message.id
    with pytest.raises(discord.HTTPException) as again:
        await message.create_thread(name="Paper 8 again")
    assert again.value.code == 160004

    # A post in an archived thread unarchives it; a locked one refuses without Manage Threads.
    sim.archive_thread("Paper 7")
    await thread.send("still here")
    meta = sim.thread("Paper 7").thread
    assert meta is not None and not meta.archived
    sim.archive_thread("Paper 7", archived=False, locked=True)
    with pytest.raises(discord.Forbidden) as locked:
        await thread.send("locked out")
    assert locked.value.code == 160005
    await overwrite(sim, bot, "general", allow=Perm.MANAGE_THREADS)
    await thread.send("moderators may")
    sim.assert_clean()


async def test_forum_tags_are_created_and_edited(sim: DiscordSimulator, bot: commands.Bot) -> None:
    forum = await forum_channel(sim, bot)
    # Editing a channel needs Manage Channels.
    with pytest.raises(discord.Forbidden) as refused:
        await forum.create_tag(name="Poster session III")
    assert refused.value.code == 50013
    await overwrite(sim, bot, "posters", allow=Perm.MANAGE_CHANNELS)
    updated = asyncio.ensure_future(bot.wait_for("guild_channel_update", timeout=2))
    created = await forum.create_tag(name="Poster session III", emoji="🧪")
    await updated
    assert created.id == sim.tag_id("posters", "Poster session III")
    assert [t["name"] for t in sim.tags("posters")] == [*SESSIONS, "Poster session III"]
    assert [t.name for t in forum.available_tags][-1] == "Poster session III"
    # Ids of kept tags survive an edit.
    first = forum.available_tags[0]
    forum = await forum.edit(available_tags=[first])
    assert [t.id for t in forum.available_tags] == [first.id]
    # 21 tags are one too many.
    too_many = [discord.ForumTag(name=f"Session {i}") for i in range(21)]
    with pytest.raises(discord.HTTPException) as limit:
        await forum.edit(available_tags=too_many)
    assert limit.value.code == 50035 and "available_tags" in str(limit.value)
    with pytest.raises(discord.HTTPException) as duplicate:
        await forum.edit(available_tags=[discord.ForumTag(name="A"), discord.ForumTag(name="a")])
    assert duplicate.value.code == 40061
    sim.assert_clean()


async def test_limits_are_refused_with_discords_codes(
    sim: DiscordSimulator, bot: commands.Bot
) -> None:
    forum = await forum_channel(sim, bot)
    other = await forum_channel(sim, bot, "demos")
    with pytest.raises(discord.HTTPException) as long_name:
        await forum.create_thread(name="x" * 101, content="too long a name")
    assert long_name.value.code == 50035 and "name" in str(long_name.value)

    with pytest.raises(discord.HTTPException) as empty:
        await forum.create_thread(name="Empty", content="")
    assert empty.value.code == 50006

    many = [discord.Object(sim.tag_id("posters", s)) for s in SESSIONS] * 3
    with pytest.raises(discord.HTTPException) as six:
        await forum.create_thread(name="Six tags", content="x", applied_tags=many)  # type: ignore[arg-type]
    assert six.value.code == 50035 and "applied_tags" in str(six.value)

    with pytest.raises(discord.HTTPException) as foreign:
        await forum.create_thread(
            name="Foreign tag", content="x", applied_tags=[other.available_tags[0]]
        )
    assert foreign.value.code == 50035

    with pytest.raises(discord.HTTPException) as in_forum:
        await bot.get_partial_messageable(forum.id).send("not a post")
    assert in_forum.value.code == 40058
    # The over-long name breaks the spec and the empty post a limit: both are recorded too.
    assert len(sim.violations) == 2
    sim.violations.clear()
    assert sim.threads("posters") == []
    sim.assert_clean()


async def test_permissions_for_threads(sim: DiscordSimulator, bot: commands.Bot) -> None:
    forum = await forum_channel(sim, bot)
    general = text_channel(bot, sim, "general")
    await overwrite(sim, bot, "general", deny=Perm.CREATE_PUBLIC_THREADS)
    with pytest.raises(discord.Forbidden) as no_create:
        await general.create_thread(name="Nope", type=discord.ChannelType.public_thread)
    assert no_create.value.code == 50013

    await overwrite(sim, bot, "posters", deny=Perm.SEND_MESSAGES)
    with pytest.raises(discord.Forbidden) as no_post:
        await forum.create_thread(name="Nope", content="x")
    assert no_post.value.code == 50013

    await overwrite(sim, bot, "posters", deny=Perm.SEND_MESSAGES_IN_THREADS)
    thread, _ = await forum.create_thread(name="Quiet", content="starter")
    with pytest.raises(discord.Forbidden) as no_reply:
        await thread.send("reply")
    assert no_reply.value.code == 50013

    # Locking needs Manage Threads even in the bot's own thread.
    with pytest.raises(discord.Forbidden) as no_lock:
        await thread.edit(locked=True)
    assert no_lock.value.code == 50013
    # Archiving its own thread does not.
    archived = await thread.edit(archived=True)
    assert archived.archived
    with pytest.raises(discord.HTTPException) as archived_edit:
        await archived.edit(name="Renamed while archived")
    assert archived_edit.value.code == 50083
    sim.assert_clean()


async def test_active_thread_limit(sim: DiscordSimulator, bot: commands.Bot) -> None:
    forum = await forum_channel(sim, bot)
    for i in range(999):
        sim.add_thread("posters", f"Poster {i}")
    sim.add_thread("posters", "Old poster", archived=True)  # archived threads do not count
    thread, _ = await forum.create_thread(name="The thousandth", content="x")
    with pytest.raises(discord.HTTPException) as full:
        await forum.create_thread(name="One too many", content="x")
    assert full.value.code == 160006
    assert full.value.text == "Maximum number of active threads reached"
    # Unarchiving counts too; archiving one makes room.
    await thread.edit(archived=True)
    await forum.create_thread(name="Now there is room", content="x")
    with pytest.raises(discord.HTTPException) as unarchive:
        await thread.edit(archived=False)
    assert unarchive.value.code == 160006
    sim.assert_clean()


async def test_threads_arrive_with_guild_create(
    sim: DiscordSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .harness import redirect, start_bot, stop_bot
    from .sim_bot import build_bot

    sim.add_forum("posters", tags=SESSIONS)
    active = sim.add_thread("posters", "Hyena")
    sim.add_thread("posters", "Archived", archived=True)
    redirect(monkeypatch, sim)
    client = build_bot(sim)
    task = await start_bot(sim, client)
    try:
        cached = client.get_channel(active.id)
        assert isinstance(cached, discord.Thread) and cached.name == "Hyena"
        assert [t.name for t in client.guilds[0].threads] == ["Hyena"]
        forum = client.get_channel(sim.channel_id("posters"))
        assert isinstance(forum, discord.ForumChannel)
        assert [t.name for t in forum.available_tags] == SESSIONS
    finally:
        await stop_bot(client, task)
    sim.assert_clean()


class SubscribeView(discord.ui.View):
    @discord.ui.button(label="Subscribe", custom_id="poster:subscribe")
    async def subscribe(
        self, interaction: discord.Interaction, button: discord.ui.Button[SubscribeView]
    ) -> None:
        await interaction.response.send_message("subscribed", ephemeral=True)


async def test_forum_posts_pass_the_strict_spec_with_views_and_files(
    sim: DiscordSimulator, bot: commands.Bot
) -> None:
    sim.validator = SpecValidator(strict=True)
    forum = await forum_channel(sim, bot)
    thread, starter = await forum.create_thread(
        name="Hyena",
        content="Poster 3",
        embed=discord.Embed(title="Hyena"),
        applied_tags=[tag(forum, "Poster session II")],
        view=SubscribeView(),
    )
    assert starter.components and sim.message(thread.id).data["components"]
    _, with_file = await forum.create_thread(
        name="Slides", content="PDF", file=discord.File(io.BytesIO(b"%PDF"), "poster.pdf")
    )
    assert sim.attachments(with_file.id) == {"poster.pdf": b"%PDF"}
    await thread.edit(applied_tags=[tag(forum, "Poster session I")], name="Hyena (moved)")
    sim.assert_clean()


async def test_thread_creation_is_rate_limited_per_channel(
    sim: DiscordSimulator, bot: commands.Bot
) -> None:
    forum = await forum_channel(sim, bot)
    name, rule = sim.limiter.config.rule_for("POST", "/channels/{channel_id}/threads")
    assert name == "thread-create"
    loop = asyncio.get_running_loop()
    started = loop.time()
    for i in range(rule.limit + 1):
        await forum.create_thread(name=f"Poster {i}", content="x")
    # The sixth post waited for the bucket to reset (discord.py honours the headers).
    assert loop.time() - started >= rule.per * 0.9
    assert len(sim.threads("posters")) == rule.limit + 1
    sim.assert_clean()
