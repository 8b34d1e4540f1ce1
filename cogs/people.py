"""/people (organizers link members to the program's people), /claim and /unclaim (members)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.clock import Clock
from bot.delivery.engine import DeliveryEngine
from bot.errors import UserFacingError
from bot.permissions import allows_organizer, organizer_interaction_check
from bot.services.guild_config import GuildConfigService
from bot.services.people import PENDING, AuthorReminders, LinkResult, PeopleService
from bot.services.program import Talk
from bot.services.reminders import DEFAULT_LEAD
from bot.tree import acknowledge
from bot.ui.cards import choice_name, lines_within, md
from bot.ui.text import EMBED_DESCRIPTION_MAX, trim

if TYPE_CHECKING:
    from bot.client import WorkshopBot

log = logging.getLogger(__name__)

#: Mentions in these replies show who is linked, and ping nobody.
NO_PINGS = discord.AllowedMentions.none()

ClaimCode = app_commands.Range[str, 1, 40]


def talks_text(talks: Sequence[Talk]) -> str:
    """``2 talks: *A*, *B*`` (the titles shortened, at most five)."""
    if not talks:
        return "no entry in the program"
    titles = ", ".join(f"*{md(trim(t.title, 80))}*" for t in talks[:5])
    more = f" and {len(talks) - 5} more" if len(talks) > 5 else ""
    return f"{len(talks)} {'entry' if len(talks) == 1 else 'entries'}: {titles}{more}"


async def member_of(guild: discord.Guild, user_id: int) -> discord.Member | None:
    member = guild.get_member(user_id)
    if member is not None:
        return member
    try:
        return await guild.fetch_member(user_id)
    except discord.HTTPException:
        return None


def reminder_text(reminded: AuthorReminders, *, you: bool) -> str:
    """What the link set up: a DM before each talk or poster session still to come."""
    if not reminded.talks:
        return ""
    who = "You get" if you else "They get"
    what = (
        "their poster session" if all(t.kind == "poster" for t in reminded.talks) else "it starts"
    )
    if what.startswith("their") and you:
        what = "your poster session"
    return (
        f" {who} a DM {DEFAULT_LEAD} min before {what} "
        f"({len(reminded.talks)} reminder{'s' if len(reminded.talks) != 1 else ''}; "
        "`/remind list` shows them)."
    )


class SpeakerRoles:
    """Gives and takes the server's speaker role: best effort, the link stands either way."""

    def __init__(self, people: PeopleService) -> None:
        self.people = people

    async def give(self, guild: discord.Guild, user_id: int) -> str:
        """ "" when done (or no role is set), else what went wrong, for the reply."""
        return await self._change(guild, user_id, give=True)

    async def take(self, guild: discord.Guild, user_id: int) -> str:
        """Take the role once the member is nobody in the program any more."""
        if await self.people.people_of(guild.id, user_id):
            return ""
        return await self._change(guild, user_id, give=False)

    async def _change(self, guild: discord.Guild, user_id: int, *, give: bool) -> str:
        role_id = await self.people.speaker_role(guild.id)
        if role_id is None:
            return ""
        role = guild.get_role(role_id)
        if role is None:
            return "\n⚠️ The speaker role no longer exists: set another with `/people role`."
        member = await member_of(guild, user_id)
        if member is None:
            return ""
        if (role in member.roles) == give:
            return ""
        try:
            if give:
                await member.add_roles(role, reason="linked to the program's people")
            else:
                await member.remove_roles(role, reason="no longer linked to the program's people")
        except discord.Forbidden:
            what = "give" if give else "take back"
            return (
                f"\n⚠️ I couldn't {what} {role.mention}: I need the **Manage Roles** permission, "
                "and my role must be above it (Server Settings → Roles). The link stands."
            )
        except discord.HTTPException as exc:
            log.warning("speaker role %s for %s: %s", role_id, user_id, exc)
            return f"\n⚠️ Discord refused to change {role.mention} just now. The link stands."
        return ""


class People(commands.Cog):
    """Organizers: who on the server is who in the program."""

    group = app_commands.Group(
        name="people",
        description="Organizers: link members to the program's speakers and authors",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(
        self,
        people: PeopleService,
        guild_config: GuildConfigService,
        engine: DeliveryEngine,
        clock: Clock,
    ) -> None:
        self.people = people
        self.guild_config = guild_config
        self.engine = engine
        self.clock = clock
        self.roles = SpeakerRoles(people)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await organizer_interaction_check(interaction, self.guild_config)

    @group.command(name="link", description="Show a member as one of the program's people")
    @app_commands.describe(member="The member", person="The name as the program has it")
    async def link(
        self, interaction: discord.Interaction, member: discord.Member, person: str
    ) -> None:
        assert interaction.guild is not None
        if member.bot:
            raise UserFacingError("Bots can't be the program's people: pick a member.")
        name = self.people.resolve(person)
        await acknowledge(interaction)
        result = await self.people.link(
            interaction.guild.id, member.id, name, by=interaction.user.id
        )
        if result.pending:
            # Nothing about a member is shown that they did not agree to: they are asked.
            if not result.already:
                await self.invite(interaction.guild, member.id, result)
            text = (
                f"OK: I asked {member.mention} (by DM) to confirm they are {md(result.person)} "
                f"({talks_text(result.talks)}). Until they accept with `/claim`, they are "
                "shown nowhere and get no role, reminder or thread."
            )
            await interaction.followup.send(
                trim(text, 2000), ephemeral=True, allowed_mentions=NO_PINGS
            )
            return
        role_note = await self.roles.give(interaction.guild, member.id)
        text = f"{member.mention} is already shown as {md(result.person)}."
        await interaction.followup.send(
            trim(text + role_note, 2000), ephemeral=True, allowed_mentions=NO_PINGS
        )

    async def invite(self, guild: discord.Guild, user_id: int, result: LinkResult) -> None:
        """One DM (through the engine: sent once, retried if Discord is down) asking the member."""
        key = hashlib.sha256(result.person.encode()).hexdigest()[:12]
        text = (
            f"Hello! The organizers of **{md(trim(guild.name, 100))}** would like to show you as "
            f"**{md(result.person)}** in the program ({talks_text(result.talks)}): the talk "
            "cards and `/author` would show your Discord name beside it (nobody is pinged), "
            "and you would get a DM before your session and join your papers' discussion "
            "threads. To accept, type `/claim` in the server. If it is not you, just ignore "
            "this: nothing is shown."
        )
        await self.engine.queue_notice(
            f"notice:invite:{guild.id}:{user_id}:{key}",
            due_at=self.clock.now(),
            text=trim(text, 2000),
            user_id=user_id,
        )

    @link.autocomplete("person")
    async def _complete_person(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if not await allows_organizer(interaction, self.guild_config):
            return []
        return [
            app_commands.Choice(name=choice_name(n), value=n)
            for n in self.people.complete(current)
            if len(n) <= 100
        ]

    @group.command(
        name="unlink", description="Stop showing a member as one of the program's people"
    )
    @app_commands.describe(person="The name as the program has it")
    async def unlink(self, interaction: discord.Interaction, person: str) -> None:
        assert interaction.guild is not None
        await acknowledge(interaction)
        gone = await self.people.unlink(interaction.guild.id, person)
        role_note = await self.roles.take(interaction.guild, gone.user_id)
        await interaction.followup.send(
            trim(
                f"OK: <@{gone.user_id}> is no longer shown as {md(gone.person)}.{role_note}", 2000
            ),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @unlink.autocomplete("person")
    async def _complete_linked(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None or not await allows_organizer(
            interaction, self.guild_config
        ):
            return []
        linked = [link.person for link in await self.people.links(interaction.guild_id)]
        return [
            app_commands.Choice(name=choice_name(n), value=n)
            for n in self.people.complete(current, linked)
            if len(n) <= 100
        ]

    @group.command(name="list", description="Who is linked to the program's people")
    async def list_links(self, interaction: discord.Interaction) -> None:
        assert interaction.guild is not None
        await acknowledge(interaction)
        links = await self.people.links(interaction.guild.id)
        role_id = await self.people.speaker_role(interaction.guild.id)
        role = f"Speaker role: <@&{role_id}>" if role_id else "No speaker role (`/people role`)."
        if not links:
            text = f"Nobody is linked yet (`/people link`, or claim codes).\n{role}"
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS)
            return
        how = {
            "code": "claimed with a code",
            "organizer": "linked by <@{by}>, accepted",
            PENDING: "invited by <@{by}>, not accepted yet: shown nowhere",
        }
        lines = [
            f"• {md(link.person)}: <@{link.user_id}> ({how.get(link.via, link.via).format(by=link.linked_by)})"
            for link in links
        ]
        embed = discord.Embed(
            title=f"{len(links)} of {len(self.people.people())} people linked",
            description=lines_within(lines, EMBED_DESCRIPTION_MAX - 200) + f"\n\n{role}",
            colour=discord.Colour.blurple(),
        )
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)

    @group.command(name="role", description="The role linked speakers and authors get")
    @app_commands.describe(role="The role (leave out: give no role)")
    async def speaker_role(
        self, interaction: discord.Interaction, role: discord.Role | None = None
    ) -> None:
        guild = interaction.guild
        assert guild is not None
        if role is not None and (role.is_default() or role.managed):
            raise UserFacingError(f"{role.mention} can't be given to members: pick a role.")
        await acknowledge(interaction)
        await self.people.set_speaker_role(
            guild.id, role.id if role else None, by=interaction.user.id
        )
        if role is None:
            text = "OK: linked members get no role (roles already given stay)."
        else:
            text = f"OK: linked speakers and authors get {role.mention}."
            me = guild.me
            if not me.guild_permissions.manage_roles or role >= me.top_role:
                text += (
                    f"\n⚠️ I can't give {role.mention} yet: I need the **Manage Roles** "
                    "permission, and my role must be above it (Server Settings → Roles)."
                )
            else:
                notes = {
                    await self.roles.give(guild, link.user_id)
                    for link in await self.people.links(guild.id)
                }
                text += "".join(sorted(n for n in notes if n))
        await interaction.followup.send(trim(text, 2000), ephemeral=True, allowed_mentions=NO_PINGS)


class Claims(commands.Cog):
    """Members: become one of the program's people with a code, or stop being shown as one."""

    def __init__(self, people: PeopleService, engine: DeliveryEngine) -> None:
        self.people = people
        self.engine = engine
        self.roles = SpeakerRoles(people)

    @app_commands.command(
        name="claim",
        description="Authors: link yourself to your name in the program with the code you were e-mailed",
    )
    @app_commands.guild_only()
    @app_commands.describe(
        code="The code from the organizers' e-mail, e.g. ABCDE-FGHJK (leave out: accept "
        "the organizers' invitation)"
    )
    async def claim(self, interaction: discord.Interaction, code: ClaimCode | None = None) -> None:
        guild = interaction.guild
        assert guild is not None
        await acknowledge(interaction)
        user_id = interaction.user.id
        if code is None:
            results = await self.people.accept(guild.id, user_id)
            if not results:
                await interaction.followup.send(
                    "You have no invitation from the organizers to accept. If they e-mailed "
                    "you a code, give it: `/claim code:ABCDE-FGHJK`.",
                    ephemeral=True,
                )
                return
        else:
            results = [await self.people.redeem(guild.id, user_id, code)]
        role_note = await self.roles.give(guild, user_id)
        lines = []
        for result in results:
            reminded = await self.people.remind_author(guild.id, user_id, result.person)
            if reminded.sending_now:
                self.engine.poke()
            lines.append(
                f"You are now shown as {md(result.person)} on {talks_text(result.talks)}."
                f"{reminder_text(reminded, you=True)}"
            )
        text = "\n".join(lines) + (
            " The talk cards and `/author` show your Discord name beside it (nobody is "
            "pinged). Remove it any time with `/unclaim`."
        )
        await interaction.followup.send(
            trim(text + role_note, 2000), ephemeral=True, allowed_mentions=NO_PINGS
        )

    @app_commands.command(name="unclaim", description="Stop being shown as a name in the program")
    @app_commands.guild_only()
    @app_commands.describe(person="Which of your names (leave out: all of them)")
    async def unclaim(self, interaction: discord.Interaction, person: str | None = None) -> None:
        guild = interaction.guild
        assert guild is not None
        await acknowledge(interaction)
        if person:
            gone = [
                (await self.people.unlink(guild.id, person, user_id=interaction.user.id)).person
            ]
        else:
            gone = await self.people.unlink_all(guild.id, interaction.user.id)
        if not gone:
            await interaction.followup.send(
                "You are not shown as anyone in the program.", ephemeral=True
            )
            return
        role_note = await self.roles.take(guild, interaction.user.id)
        names = ", ".join(md(n) for n in gone)
        left = await self.people.people_of(guild.id, interaction.user.id)
        still = f" You are still shown as {', '.join(md(n) for n in left)}." if left else ""
        await interaction.followup.send(
            trim(f"OK: you are no longer shown as {names}.{still}{role_note}", 2000),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @unclaim.autocomplete("person")
    async def _complete_mine(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        mine = await self.people.people_of(interaction.guild_id, interaction.user.id)
        return [
            app_commands.Choice(name=choice_name(n), value=n)
            for n in self.people.complete(current, mine)
            if len(n) <= 100
        ]


async def setup(bot: WorkshopBot) -> None:
    s = bot.services
    assert s.engine is not None
    await bot.add_cog(People(s.people, s.guild_config, s.engine, s.clock))
    await bot.add_cog(Claims(s.people, s.engine))
