"""A tiny discord.py bot (not the project's) exercising every interaction kind the simulator serves."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.simulator import DiscordSimulator

ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:FlashAttention\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
TALKS = ["FlashAttention", "Flash Linear Attention", "Mamba", "RetNet", "Hyena"]
AUTHORS = ["Leonhard Euler", "Leonie Müller", "Ada Lovelace", "Alan Turing"]


def loopback_only() -> aiohttp.TraceConfig:
    """A trace config that refuses any request leaving 127.0.0.1 (Discord must stay unreachable)."""

    async def guard(
        session: aiohttp.ClientSession, ctx: Any, params: aiohttp.TraceRequestStartParams
    ) -> None:
        if params.url.host not in ("127.0.0.1", "localhost", "::1"):
            raise RuntimeError(f"request to non-loopback host: {params.url}")

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(guard)
    return trace


class Panel(discord.ui.View):
    """Buttons (one edits the message, one pages) and a select menu."""

    def __init__(self) -> None:
        super().__init__(timeout=60)
        self.page = 1

    @discord.ui.button(label="Remind me", style=discord.ButtonStyle.primary)
    async def remind(
        self, interaction: discord.Interaction, button: discord.ui.Button[Panel]
    ) -> None:
        await interaction.response.edit_message(
            content=f"Reminder on for {interaction.user.display_name}"
        )

    @discord.ui.button(label="Next", custom_id="panel:next")
    async def next_page(
        self, interaction: discord.Interaction, button: discord.ui.Button[Panel]
    ) -> None:
        self.page += 1
        embed = discord.Embed(title=f"Page {self.page}")
        await interaction.response.edit_message(embed=embed, view=self)

    @discord.ui.button(label="Quiet")
    async def quiet(
        self, interaction: discord.Interaction, button: discord.ui.Button[Panel]
    ) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content="quietly updated")

    @discord.ui.button(label="Feedback")
    async def feedback(
        self, interaction: discord.Interaction, button: discord.ui.Button[Panel]
    ) -> None:
        await interaction.response.send_modal(Feedback(update=True))

    @discord.ui.select(
        custom_id="panel:track",
        placeholder="Pick tracks",
        max_values=2,
        options=[
            discord.SelectOption(label="Theory", value="theory"),
            discord.SelectOption(label="Systems", value="systems"),
        ],
    )
    async def track(
        self, interaction: discord.Interaction, select: discord.ui.Select[Panel]
    ) -> None:
        await interaction.response.send_message(
            f"tracks: {', '.join(select.values)}", ephemeral=True
        )


class People(discord.ui.View):
    """A user select: values arrive as ids with a resolved section."""

    @discord.ui.select(cls=discord.ui.UserSelect, custom_id="people:who", max_values=2)
    async def who(
        self, interaction: discord.Interaction, select: discord.ui.UserSelect[People]
    ) -> None:
        names = sorted(u.display_name for u in select.values)
        await interaction.response.send_message(f"picked {', '.join(names)}")


class Feedback(discord.ui.Modal, title="Workshop feedback"):
    """A modal with a classic text input (sent in an action row) and a Label-wrapped one."""

    text: discord.ui.TextInput[Feedback] = discord.ui.TextInput(
        label="Your feedback", custom_id="text", style=discord.TextStyle.paragraph
    )
    email: discord.ui.Label[Feedback] = discord.ui.Label(
        text="Email", component=discord.ui.TextInput(custom_id="email", required=False)
    )

    def __init__(self, *, update: bool = False) -> None:
        super().__init__()
        self.update = update

    async def on_submit(self, interaction: discord.Interaction) -> None:
        email = self.email.component
        assert isinstance(email, discord.ui.TextInput)
        text = f"thanks: {self.text.value} ({email.value or 'no email'})"
        if self.update:
            await interaction.response.edit_message(content=text, view=None)
        else:
            await interaction.response.send_message(text)


class Remind(app_commands.Group):
    """/remind talk: a subcommand with an autocompleted string and a ranged integer."""

    @app_commands.command(description="Remind me of a talk")
    async def talk(
        self,
        interaction: discord.Interaction,
        title: str,
        minutes_before: app_commands.Range[int, 1, 60] = 5,
    ) -> None:
        await interaction.response.send_message(
            f"Reminder set: {title} {minutes_before} min before", ephemeral=True
        )

    @talk.autocomplete("title")
    async def talk_title(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=t, value=t) for t in TALKS if current.lower() in t.lower()
        ][:25]


class Workshop(app_commands.Group):
    """/workshop info ... : a subcommand group."""

    info = app_commands.Group(name="info", description="Information")

    @info.command(name="author", description="Find an author")
    async def author(self, interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(f"author: {name}")

    @author.autocomplete("name")
    async def author_name(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=a, value=a) for a in AUTHORS if current.lower() in a.lower()
        ]


def build_bot(sim: DiscordSimulator, *, intents: discord.Intents | None = None) -> commands.Bot:
    if intents is None:
        intents = discord.Intents.default()
        intents.members = True
        intents.message_content = True
    bot = commands.Bot(
        command_prefix="!",
        intents=intents,
        guild_ready_timeout=0.05,
        http_trace=loopback_only(),
    )
    guild = discord.Object(sim.guild_id)
    tree = bot.tree
    tree.add_command(Remind(name="remind", description="Reminders"), guild=guild)
    tree.add_command(Workshop(name="workshop", description="Workshop"), guild=guild)

    @tree.command(guild=guild, description="Ping")
    async def ping(interaction: discord.Interaction, word: str, n: int = 1) -> None:
        await interaction.response.send_message(f"pong {word} {n}")

    @tree.command(guild=guild, description="Typed options")
    async def whois(
        interaction: discord.Interaction,
        member: discord.Member,
        role: discord.Role,
        channel: discord.TextChannel,
        flag: bool,
        ratio: float,
    ) -> None:
        await interaction.response.send_message(
            f"{member.display_name}|{role.name}|{channel.name}|{flag}|{ratio}"
        )

    @tree.command(guild=guild, description="A panel with buttons")
    async def panel(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            "panel", view=Panel(), embed=discord.Embed(title="Page 1")
        )

    @tree.command(guild=guild, description="A user select")
    async def people(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("who?", view=People())

    @tree.command(guild=guild, description="Opens a modal")
    async def feedback(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Feedback())

    @tree.command(guild=guild, description="Deferred answer")
    async def slow(interaction: discord.Interaction, ephemeral: bool = False) -> None:
        await interaction.response.defer(thinking=True, ephemeral=ephemeral)
        await asyncio.sleep(0.01)
        await interaction.followup.send("slow done", file=discord.File(io.BytesIO(ICS), "talk.ics"))
        await interaction.followup.send("and one more")

    @tree.command(guild=guild, description="Answers late")
    async def sleepy(interaction: discord.Interaction, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await interaction.response.send_message("yawn")

    @tree.command(guild=guild, description="A file")
    async def ics(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            "your calendar", file=discord.File(io.BytesIO(ICS), "talk.ics")
        )

    @tree.command(guild=guild, description="DM someone")
    async def dm(interaction: discord.Interaction, member: discord.Member) -> None:
        try:
            await member.send("hello from the bot")
        except discord.Forbidden as exc:
            await interaction.response.send_message(f"cannot DM ({exc.code})", ephemeral=True)
        else:
            await interaction.response.send_message("sent", ephemeral=True)

    @tree.command(guild=guild, description="Announce and pin")
    async def announce(interaction: discord.Interaction, text: str) -> None:
        assert interaction.guild is not None
        channel = discord.utils.get(interaction.guild.text_channels, name="announcements")
        assert channel is not None
        message = await channel.send(
            f"@everyone {text}", allowed_mentions=discord.AllowedMentions.none()
        )
        await message.pin()
        await interaction.response.send_message("announced", ephemeral=True)

    @tree.command(guild=guild, description="Organizers only")
    @app_commands.default_permissions(manage_guild=True)
    async def admin(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("admin ok")

    @tree.command(description="About (works in DMs)")
    async def about(interaction: discord.Interaction) -> None:
        where = "DM" if interaction.guild is None else "guild"
        await interaction.response.send_message(f"about this bot ({where})")

    async def setup_hook() -> None:
        await tree.sync(guild=guild)
        await tree.sync()

    bot.setup_hook = setup_hook  # type: ignore[method-assign]
    return bot
