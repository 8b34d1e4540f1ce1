"""/author and /search: people and papers, forgiving case, accents and typos."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserFacingError
from bot.services.program import ProgramService
from bot.services.schedule import ScheduleService
from bot.services.search import SearchService
from bot.ui.cards import ListingPage, choice_name, listing_pages, quoted, search_block
from bot.ui.views import CardExtras, LazyPages, TalkCards

if TYPE_CHECKING:
    from bot.client import WorkshopBot

#: Results of /search worth paging through; past these, a sharper query is the better tool.
SEARCH_RESULTS = 50
#: Nine blocks of at most BLOCK_MAX characters and the intro always fit one embed.
HITS_PER_PAGE = 9


class Search(commands.Cog):
    def __init__(
        self,
        program: ProgramService,
        schedule: ScheduleService,
        search: SearchService,
        card_extras: CardExtras | None = None,
    ) -> None:
        self.program = program
        self.search = search
        self.cards = TalkCards(program, schedule, search, card_extras)

    @app_commands.command(name="author", description="Everything a speaker or author presents")
    @app_commands.describe(name="Start typing a name")
    async def author(self, interaction: discord.Interaction, name: str) -> None:
        await self.cards.send_author(interaction, name)

    @author.autocomplete("name")
    async def _complete_author(
        self, _interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if not self.program.loaded:
            return []
        # Names are the values: a name longer than a value may be is still found by its start.
        return [
            app_commands.Choice(name=choice_name(name), value=choice_name(name))
            for name in self.search.complete_person(current)
        ]

    @app_commands.command(
        name="search", description="Find papers and talks by title, abstract or person"
    )
    @app_commands.describe(query="Words from a title, an abstract or a name")
    async def search_program(self, interaction: discord.Interaction, query: str) -> None:
        workshop = self.cards.snapshot().workshop
        hits = self.search.search(query, limit=SEARCH_RESULTS)
        if not hits:
            raise UserFacingError(f"Nothing in the program matches {quoted(query)}.")
        more = " (the best ones)" if len(hits) == SEARCH_RESULTS else ""
        title = f"Search: {quoted(query, 200)}"
        intro = f"{len(hits)} result{'s' if len(hits) != 1 else ''}{more}, best first."

        def render(page: int) -> ListingPage:
            # A page of whole hits that always fits one embed (BLOCK_MAX each), rendered
            # only when shown: most people never turn past the first.
            chunk = hits[page * HITS_PER_PAGE : (page + 1) * HITS_PER_PAGE]
            blocks = [search_block(hit, workshop.zone) for hit in chunk]
            [listing] = listing_pages(title, blocks, intro=intro, per_page=HITS_PER_PAGE)
            return listing

        pages = LazyPages(-(-len(hits) // HITS_PER_PAGE), render)
        await self.cards.send_pages(interaction, pages)


async def setup(bot: WorkshopBot) -> None:
    s = bot.services
    await bot.add_cog(Search(s.program, s.schedule, s.search, s.card_extras))
