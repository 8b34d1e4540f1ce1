"""/ask and /questions: members' questions for speakers, upvoted, shown to the chair by votes."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserFacingError
from bot.permissions import is_organizer
from bot.services.guild_config import GuildConfigService
from bot.services.program import ProgramService, Talk
from bot.services.questions import NO_QUESTIONS, QUESTION_MAX, QuestionService
from bot.services.search import SearchService
from bot.ui.questions import (
    DYNAMIC_ITEMS,
    NO_PINGS,
    listing,
    post_text,
    post_view,
    set_actions,
    title_of,
)
from bot.ui.text import CHOICE_NAME_MAX, trim

if TYPE_CHECKING:
    from bot.client import WorkshopBot

log = logging.getLogger(__name__)

QuestionText = app_commands.Range[str, 1, QUESTION_MAX]

DONE = {
    "answer": "Marked answered",
    "reopen": "Marked not answered",
    "remove": "Removed",
    "withdraw": "Withdrawn",
}


class Questions(commands.Cog):
    def __init__(
        self,
        bot: WorkshopBot,
        questions: QuestionService,
        program: ProgramService,
        search: SearchService,
        guild_config: GuildConfigService,
    ) -> None:
        self.bot = bot
        self.questions = questions
        self.program = program
        self.search = search
        self.guild_config = guild_config
        # One edit of a post at a time: a post never ends on an older count than the last.
        self._post_locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)
        set_actions(self)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)
        set_actions(None)

    # -- helpers ---------------------------------------------------------------------------------

    def _resolve(self, value: str) -> Talk:
        """An autocomplete value (entry id) or free text the user typed."""
        talk = self.search.talk_for(value)
        if talk is None:
            raise UserFacingError(f"No talk matches “{trim(value, 100)}”.")
        return talk

    def _talk(self, entry_id: str) -> Talk | None:
        return self.program.snapshot.by_id.get(entry_id)

    @staticmethod
    def _guild(interaction: discord.Interaction) -> int:
        if interaction.guild_id is None:
            raise UserFacingError("Questions work in the workshop's server, not in DMs.")
        return interaction.guild_id

    async def _organizer(self, interaction: discord.Interaction) -> bool:
        role = await self.guild_config.organizer_role(interaction.guild_id)
        return is_organizer(interaction.user, role)

    async def _refresh_post(self, question_id: int) -> None:
        """Bring a question's public post up to date (after the chair's change): best effort,
        the list in /questions is what counts."""
        async with self._post_locks[question_id]:
            q = await self.questions.get(question_id)
            if q.channel_id is None or q.message_id is None:
                return
            channel = self.bot.get_partial_messageable(q.channel_id)
            try:
                await channel.get_partial_message(q.message_id).edit(
                    content=post_text(q, self._talk(q.entry_id)),
                    view=post_view(q),
                    allowed_mentions=NO_PINGS,
                )
            except discord.HTTPException as exc:
                log.warning("could not update question %s's post: %s", question_id, exc)

    # -- the controls ----------------------------------------------------------------------------

    async def vote(self, interaction: discord.Interaction, question_id: int) -> None:
        guild_id = self._guild(interaction)
        # The write may wait for the database: answer Discord within its 3 s first.
        await interaction.response.defer()
        result = await self.questions.toggle_vote(question_id, interaction.user.id, guild_id)
        if result.changed:
            async with self._post_locks[question_id]:
                q = await self.questions.get(question_id)
                await interaction.edit_original_response(
                    content=post_text(q, self._talk(q.entry_id)),
                    view=post_view(q),
                    allowed_mentions=NO_PINGS,
                )
        if result.voted:
            text = "👍 Your upvote counts. Click again to take it back."
            if not result.changed:
                text = "👍 Your upvote counts (once, however often you click)."
        else:
            text = "You took your upvote back." if result.changed else "Your upvote is taken back."
        await interaction.followup.send(text, ephemeral=True)

    async def moderate(
        self, interaction: discord.Interaction, action: str, question_id: int
    ) -> None:
        guild_id = self._guild(interaction)
        organizer = await self._organizer(interaction)
        await interaction.response.defer()
        user = interaction.user.id
        if action in ("answer", "reopen"):
            q = await self.questions.mark_answered(
                question_id, user, guild_id, organizer=organizer, answered=action == "answer"
            )
        else:
            q = await self.questions.remove(question_id, user, guild_id, organizer=organizer)
        await self._refresh_post(question_id)
        talk = self._talk(q.entry_id)
        if talk is not None:
            moderator = await self.questions.may_moderate(
                guild_id, user, talk.id, organizer=organizer
            )
            embed, view = listing(
                talk,
                await self.questions.list(guild_id, talk.id),
                viewer_id=user,
                moderator=moderator,
            )
            await interaction.edit_original_response(embed=embed, view=view)
        await interaction.followup.send(
            trim(f"{DONE[action]}: “{trim(q.text, 200)}”", 2000),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    # -- commands --------------------------------------------------------------------------------

    async def _entries(self, current: str, *, open_only: bool) -> list[app_commands.Choice[str]]:
        kinds = {t.kind for t in self.program.snapshot.talks} - NO_QUESTIONS
        choices = []
        for choice in self.search.complete_entry(current, kinds):
            talk = choice.talk
            if len(talk.id) > 100 or (open_only and not self.questions.accepts(talk)):
                continue
            choices.append(
                app_commands.Choice(name=trim(choice.label, CHOICE_NAME_MAX), value=talk.id)
            )
        return choices[:25]

    @app_commands.command(name="ask", description="Ask a speaker a question; others upvote it")
    @app_commands.guild_only()
    @app_commands.describe(
        talk="The talk, keynote or panel (start typing its title)",
        question=f"Your question (up to {QUESTION_MAX} characters)",
    )
    async def ask(
        self, interaction: discord.Interaction, talk: str, question: QuestionText
    ) -> None:
        guild_id = self._guild(interaction)
        entry = self.questions.entry(self._resolve(talk).id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        q = await self.questions.ask(guild_id, interaction.user.id, entry.id, question)
        where = ""
        channel = interaction.channel
        try:
            if channel is None or not isinstance(channel, discord.abc.Messageable):
                raise discord.ClientException("no channel to post in")
            view = post_view(q)
            assert view is not None  # a new question has its button
            async with self._post_locks[q.id]:
                post = await channel.send(post_text(q, entry), view=view, allowed_mentions=NO_PINGS)
            await self.questions.attach_post(q.id, post.channel.id, post.id)
            where = f" and posted: {post.jump_url}. Others can upvote it there"
        except (discord.HTTPException, discord.ClientException) as exc:
            log.warning("could not post question %s in channel %s: %s", q.id, channel, exc)
            where = " (I could not post it in this channel, so others cannot upvote it here)"
        await interaction.followup.send(
            f"Your question for “{title_of(entry)}” is recorded{where}. "
            "The session chair sees it in `/questions`.",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @ask.autocomplete("talk")
    async def _ask_talks(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._entries(current, open_only=True)

    @app_commands.command(
        name="questions", description="The questions for a talk, most upvoted first"
    )
    @app_commands.guild_only()
    @app_commands.describe(talk="The talk, keynote or panel (start typing its title)")
    async def questions_list(self, interaction: discord.Interaction, talk: str) -> None:
        guild_id = self._guild(interaction)
        entry = self._resolve(talk)
        organizer = await self._organizer(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        moderator = await self.questions.may_moderate(
            guild_id, interaction.user.id, entry.id, organizer=organizer
        )
        embed, view = listing(
            entry,
            await self.questions.list(guild_id, entry.id),
            viewer_id=interaction.user.id,
            moderator=moderator,
        )
        if view is None:
            await interaction.followup.send(embed=embed, ephemeral=True)
        else:
            await interaction.followup.send(embed=embed, view=view, ephemeral=True)

    @questions_list.autocomplete("talk")
    async def _listed_talks(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._entries(current, open_only=False)


async def setup(bot: WorkshopBot) -> None:
    s = bot.services
    await bot.add_cog(Questions(bot, s.questions, s.program, s.search, s.guild_config))
