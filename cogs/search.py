"""/author and /search: people and papers, forgiving case, accents and typos."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserFacingError
from bot.services.program import ProgramService
from bot.services.schedule import ScheduleService
from bot.services.search import PersonMatch, SearchService
from bot.services.threads import ThreadLinks
from bot.ui.cards import (
    ListingPage,
    choice_name,
    lines_within,
    listing_pages,
    md,
    quoted,
    search_block,
)
from bot.ui.text import EMBED_DESCRIPTION_MAX, EMBED_TITLE_MAX, SELECT_OPTIONS_MAX, trim
from bot.ui.views import (
    AnsweringView,
    AuthorPicker,
    CardExtras,
    LazyPages,
    MemberLinks,
    TalkCards,
)

if TYPE_CHECKING:
    from bot.client import WorkshopBot

#: Results of /search worth paging through; past these, a sharper query is the better tool.
SEARCH_RESULTS = 50
#: Nine blocks of at most BLOCK_MAX characters and the intro always fit one embed.
HITS_PER_PAGE = 9
#: Everyone an ambiguous /author name may mean fits one select menu.
PEOPLE_MEANT_MAX = SELECT_OPTIONS_MAX
#: A title in the list of the people a name may mean (25 lines fit one embed).
TITLE_MAX = 90


class Search(commands.Cog):
    def __init__(
        self,
        program: ProgramService,
        schedule: ScheduleService,
        search: SearchService,
        card_extras: CardExtras | None = None,
        members: MemberLinks | None = None,
        threads: ThreadLinks | None = None,
    ) -> None:
        self.program = program
        self.search = search
        self.cards = TalkCards(program, schedule, search, card_extras, members, threads)

    @app_commands.command(name="author", description="Everything a speaker or author presents")
    @app_commands.describe(name="Start typing a name")
    async def author(self, interaction: discord.Interaction, name: str) -> None:
        self.cards.snapshot()  # says so when no program is loaded
        meant = self.search.people_meant(name, PEOPLE_MEANT_MAX + 1)
        if len(meant) > 1:
            await self._send_people(interaction, name, meant)
            return
        if meant and getattr(self.search.person(name), "name", None) != meant[0].name:
            # Found only through another spelling of a name ("Mathieu Arzel" is Matthieu's).
            name = meant[0].name
        await self.cards.send_author(interaction, name)

    async def _send_people(
        self, interaction: discord.Interaction, name: str, meant: list[PersonMatch]
    ) -> None:
        """Everyone ``name`` may mean, and a menu to pick one: never one of them silently."""
        shown = meant[:PEOPLE_MEANT_MAX]
        workshop = self.cards.snapshot().workshop
        by_id = self.cards.snapshot().by_id
        lines = []
        for person in shown:
            what = []
            if person.is_organizer:
                where = f" ({md(trim(person.affiliation, 100))})" if person.affiliation else ""
                what.append(f"organizes {md(workshop.acronym)}{where}")
            talks = [by_id[i] for i in person.entry_ids if i in by_id]
            if len(talks) == 1:
                what.append(f"*{md(trim(talks[0].title, TITLE_MAX))}*")
            elif talks:
                what.append(f"{len(talks)} entries, first *{md(trim(talks[0].title, TITLE_MAX))}*")
            lines.append(" · ".join([f"**{md(trim(person.name, 100))}**", *what]))
        count = f"{len(shown)}+" if len(meant) > len(shown) else str(len(shown))
        embed = discord.Embed(
            title=trim(f"{count} people match {quoted(name, 100)}", EMBED_TITLE_MAX),
            description=lines_within(lines, EMBED_DESCRIPTION_MAX),
            colour=discord.Colour.blurple(),
        )
        hint = "Type more of the name to narrow it down, or pick" if count.endswith("+") else "Pick"
        embed.set_footer(text=trim(f"{hint} one to see what they present.", 200))
        view = AnsweringView(timeout=900)
        picker = AuthorPicker([p.name for p in shown], self.cards.send_author)
        picker.placeholder = "Pick a person"
        view.add_item(picker)
        await interaction.response.send_message(embed=embed, view=view, ephemeral=True)

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
    await bot.add_cog(
        Search(
            s.program, s.schedule, s.search, s.card_extras, s.people.members_for, s.threads.links
        )
    )
