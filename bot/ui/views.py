"""Shared views: a paginator with Previous/Next, "Share in channel", and the talk card's view."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, overload

import discord

from bot.errors import UserFacingError
from bot.services.program import NoProgramLoaded, ProgramService, ProgramSnapshot, Talk
from bot.services.schedule import ScheduleService
from bot.services.search import SearchService
from bot.services.threads import ThreadLinks
from bot.tree import APOLOGY, expected_answer, reply_ephemeral
from bot.ui.cards import (
    Block,
    ListingPage,
    author_intro,
    choice_name,
    entry_block,
    listing_pages,
    md,
    people_text,
    quoted,
    talk_embed,
)
from bot.ui.format import venue_time
from bot.ui.text import SELECT_OPTIONS_MAX, trim

log = logging.getLogger(__name__)

#: What another feature adds to a talk card (the reminder buttons): talk, user id -> items.
CardExtras = Callable[[Talk, int], Awaitable[list[discord.ui.Item[Any]]]]
#: Which of the names are linked members of the server (name -> user id): PeopleService.
MemberLinks = Callable[[int | None, Sequence[str]], Awaitable[dict[str, int]]]
#: Mentions on cards show who a linked author is, and ping nobody.
NO_PINGS = discord.AllowedMentions.none()
#: Opens the card of the entry with this id, in answer to an interaction.
CardOpener = Callable[[discord.Interaction, str], Awaitable[None]]

#: The talk card's one hint, short.
CARD_FOOTER = "Find people with /author, papers with /search"

NO_PROGRAM = "No program is loaded yet. The organizers load it with `workshop-bot load FILE`."


class AnsweringView(discord.ui.View):
    """A view whose callbacks may raise UserFacingError, answered like the tree's handler does."""

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        text = expected_answer(interaction, error, f"component {type(item).__name__}")
        if text is not None:
            await reply_ephemeral(interaction, text)
            return
        log.error(
            "component %s failed (user %s, guild %s)",
            type(item).__name__,
            interaction.user.id,
            interaction.guild_id,
            exc_info=error,
        )
        await reply_ephemeral(interaction, APOLOGY)


class ShareButton(discord.ui.Button["discord.ui.View"]):
    """Posts what the user is looking at in the channel, for everyone, with who shared it."""

    def __init__(self) -> None:
        super().__init__(label="Share in channel", style=discord.ButtonStyle.secondary, row=1)

    async def callback(self, interaction: discord.Interaction) -> None:
        view = self.view
        embed = view.current_embed() if isinstance(view, Paginator) else None
        if embed is None and isinstance(view, SharedCard):
            embed = view.embed
        if embed is None:
            await interaction.response.send_message("Nothing to share.", ephemeral=True)
            return
        if interaction.guild_id is None:
            await interaction.response.send_message(
                "Sharing only works in a server channel.", ephemeral=True
            )
            return
        await interaction.response.send_message(
            content=trim(f"Shared by {interaction.user.display_name}", 200),
            embed=embed,
            allowed_mentions=discord.AllowedMentions.none(),
        )


class SharedCard(AnsweringView):
    """A single embed answered ephemerally, with a share button (and room for more buttons)."""

    def __init__(self, embed: discord.Embed, *, timeout: float = 900, share: bool = True) -> None:
        super().__init__(timeout=timeout)
        self.embed = embed
        if share:
            self.add_item(ShareButton())


class Paginator(AnsweringView):
    """Pages of embeds; only the person who asked can turn the pages of their copy."""

    def __init__(
        self,
        pages: Sequence[discord.Embed],
        owner_id: int,
        *,
        timeout: float = 900,
        share: bool = True,
    ) -> None:
        super().__init__(timeout=timeout)
        if not pages:
            raise ValueError("a paginator needs at least one page")
        # Any sequence: a lazy one renders a page only when someone turns to it.
        self.pages = pages
        self.owner_id = owner_id
        self.index = 0
        if share:
            self.add_item(ShareButton())
        self._sync_buttons()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        # Every control of the copy, Share included: the pages may be someone's own data.
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message(
                "These pages belong to someone else: run the command yourself.", ephemeral=True
            )
            return False
        return True

    def current_embed(self) -> discord.Embed:
        """The page shown now, numbered when there are several."""
        page = self.pages[self.index]
        if len(self.pages) > 1:
            page.set_footer(text=trim(f"Page {self.index + 1}/{len(self.pages)}", 2048))
        return page

    def _sync_buttons(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.pages) - 1
        if len(self.pages) == 1:
            self.remove_item(self.previous)
            self.remove_item(self.next)

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        self.index = max(0, min(len(self.pages) - 1, self.index + step))
        self._sync_buttons()
        await interaction.response.edit_message(embed=self.current_embed(), view=self)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.primary, row=0)
    async def previous(
        self, interaction: discord.Interaction, _button: discord.ui.Button[Paginator]
    ) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.primary, row=0)
    async def next(
        self, interaction: discord.Interaction, _button: discord.ui.Button[Paginator]
    ) -> None:
        await self._turn(interaction, +1)


# -- opening talk cards from lists, and the card itself -------------------------------------------


def _talk_options(talks: Sequence[Talk], zone: Any) -> list[discord.SelectOption]:
    options: list[discord.SelectOption] = []
    seen: set[str] = set()
    for talk in talks:
        if talk.id in seen:
            continue
        seen.add(talk.id)
        options.append(
            discord.SelectOption(
                label=choice_name(talk.title),
                value=talk.id,
                # A menu shows no Discord timestamps: venue time, with its date.
                description=choice_name(
                    f"{talk.kind_label} · {venue_time(talk.start, zone, with_date=True)}"
                ),
            )
        )
        if len(options) == SELECT_OPTIONS_MAX:
            break
    return options


class TalkPicker(discord.ui.Select[Any]):
    """The "Open a talk card" menu: the entries shown (at most 25)."""

    def __init__(self, open_card: CardOpener, *, row: int, custom_id: str = "list:open") -> None:
        super().__init__(custom_id=custom_id, placeholder="Open a talk card", row=row)
        self._open_card = open_card

    def show(self, talks: Sequence[Talk], zone: Any) -> None:
        self.options = _talk_options(talks, zone)

    async def callback(self, interaction: discord.Interaction) -> None:
        await self._open_card(interaction, self.values[0])


class LazyPages(Sequence[ListingPage]):
    """Listing pages rendered when first shown: fifty search results cost one page's work."""

    def __init__(self, count: int, render: Callable[[int], ListingPage]) -> None:
        self._count = count
        self._render = render
        self._done: dict[int, ListingPage] = {}

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> ListingPage: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[ListingPage]: ...

    def __getitem__(self, index: int | slice) -> ListingPage | Sequence[ListingPage]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if not -self._count <= index < self._count:
            raise IndexError(index)
        index %= self._count
        if index not in self._done:
            self._done[index] = self._render(index)
        return self._done[index]


class _Embeds(Sequence[discord.Embed]):
    """The embeds of listing pages, as lazy as the pages."""

    def __init__(self, pages: Sequence[ListingPage]) -> None:
        self._pages = pages

    def __len__(self) -> int:
        return len(self._pages)

    @overload
    def __getitem__(self, index: int) -> discord.Embed: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[discord.Embed]: ...

    def __getitem__(self, index: int | slice) -> discord.Embed | Sequence[discord.Embed]:
        if isinstance(index, slice):
            return [page.embed for page in self._pages[index]]
        return self._pages[index].embed


class TalkListView(Paginator):
    """Listing pages with Previous/Next, Share, and a menu opening the current page's cards."""

    def __init__(
        self,
        pages: Sequence[ListingPage],
        owner_id: int,
        open_card: CardOpener,
        zone: Any,
        *,
        share: bool = True,
    ) -> None:
        self._listing = pages
        self._zone = zone
        self._picker: TalkPicker | None = None
        super().__init__(_Embeds(pages), owner_id, share=share)
        self._picker = TalkPicker(open_card, row=2)
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        super()._sync_buttons()
        if self._picker is None:
            return
        talks = self._listing[self.index].talks
        self._picker.show(talks, self._zone)
        if talks and self._picker not in self.children:
            self.add_item(self._picker)
        elif not talks and self._picker in self.children:
            self.remove_item(self._picker)


class AuthorPicker(discord.ui.Select["TalkCardView"]):
    """The "Look up an author" menu: the card's people (the first 25), answered like /author."""

    def __init__(self, people: Sequence[str], lookup: Callable[[discord.Interaction, str], Any]):
        names = list(dict.fromkeys(people))
        shown = names[:SELECT_OPTIONS_MAX]
        placeholder = "Look up an author"
        if len(names) > len(shown):
            placeholder += f" (the first {len(shown)} of {len(names)})"
        super().__init__(
            custom_id="card:author",
            placeholder=placeholder,
            row=0,
            # Names can be longer than an option's value may be: the value is the position.
            options=[
                discord.SelectOption(label=choice_name(name), value=str(i))
                for i, name in enumerate(shown)
            ],
        )
        self._names = shown
        self._lookup = lookup

    async def callback(self, interaction: discord.Interaction) -> None:
        await self._lookup(interaction, self._names[int(self.values[0])])


class OtherWorkButton(discord.ui.Button["TalkCardView"]):
    def __init__(self, show: Callable[[discord.Interaction], Awaitable[None]]) -> None:
        super().__init__(
            label="Authors' other work",
            style=discord.ButtonStyle.secondary,
            custom_id="card:other-work",
            row=1,
        )
        self._show = show

    async def callback(self, interaction: discord.Interaction) -> None:
        await self._show(interaction)


class TalkCardView(SharedCard):
    """The talk card's controls: author lookup (or a session's posters), other work, share."""

    def add_extra(self, item: discord.ui.Item[Any]) -> None:
        try:
            self.add_item(item)
        except ValueError:
            # No room left on the card (five rows): the extra is dropped, not the card.
            log.warning("no room on a talk card for %s", type(item).__name__)


class TalkCards:
    """Talk cards, author answers and entry lists, shared by every cog that shows entries."""

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
        self.schedule = schedule
        self.search = search
        self.card_extras = card_extras
        self.members = members
        self.threads = threads

    async def thread_links(self, guild_id: int | None, entry_ids: Sequence[str]) -> dict[str, str]:
        """Each entry's discussion thread in this server (none outside one)."""
        if self.threads is None or guild_id is None:
            return {}
        return await self.threads(entry_ids, guild_id)

    async def _members(self, guild_id: int | None, names: Sequence[str]) -> dict[str, int]:
        if self.members is None:
            return {}
        return await self.members(guild_id, names)

    def snapshot(self) -> ProgramSnapshot:
        try:
            return self.program.snapshot
        except NoProgramLoaded:
            raise UserFacingError(NO_PROGRAM) from None

    async def send_pages(
        self, interaction: discord.Interaction, pages: Sequence[ListingPage]
    ) -> None:
        """Listing pages, ephemeral, with Previous/Next, Share and "Open a talk card"."""
        zone = self.snapshot().workshop.zone
        view = TalkListView(
            pages,
            interaction.user.id,
            self.open_card,
            zone,
            share=interaction.guild_id is not None,
        )
        await interaction.response.send_message(
            embed=view.current_embed(), view=view, ephemeral=True, allowed_mentions=NO_PINGS
        )

    async def open_card(self, interaction: discord.Interaction, talk_id: str) -> None:
        talk = self.schedule.talk(talk_id)
        if talk is None:
            raise UserFacingError("That entry is no longer in the program.")
        await self.send_card(interaction, talk)

    async def send_card(self, interaction: discord.Interaction, talk: Talk) -> None:
        snapshot = self.snapshot()
        posters = self.schedule.children(talk.id)
        # The hint only where those commands exist for everyone reading it: a server (a
        # DM may not have them, when commands are synced to one server).
        footer = CARD_FOOTER if interaction.guild_id is not None else None
        embed = talk_embed(
            talk,
            snapshot.workshop,
            session=self.schedule.session_of(talk),
            posters=posters,
            footer=footer,
            members=await self._members(interaction.guild_id, talk.people),
        )
        view = TalkCardView(embed, share=interaction.guild_id is not None)
        if talk.people:
            view.add_item(AuthorPicker(talk.people, self.send_author))
        elif posters:
            picker = TalkPicker(self.open_card, row=0, custom_id="card:poster")
            picker.show(posters, snapshot.workshop.zone)
            picker.placeholder = "Open a poster's card"
            view.add_item(picker)
        if self.schedule.other_work(talk):

            async def show_other_work(answer: discord.Interaction) -> None:
                await self.send_other_work(answer, talk)

            view.add_item(OtherWorkButton(show_other_work))
        if self.card_extras is not None:
            for item in await self.card_extras(talk, interaction.user.id):
                view.add_extra(item)
        thread = (await self.thread_links(interaction.guild_id, [talk.id])).get(talk.id)
        if thread is not None:
            view.add_extra(discord.ui.Button(label="Discuss", url=thread, emoji="💬"))
        # In a server only the asker sees it; in a DM (a reminder's "Details") it stays there.
        await interaction.response.send_message(
            embed=embed,
            view=view,
            ephemeral=interaction.guild_id is not None,
            allowed_mentions=NO_PINGS,
        )

    async def send_other_work(self, interaction: discord.Interaction, talk: Talk) -> None:
        """The other entries of the card's speakers and authors, with whom they share."""
        zone = self.snapshot().workshop.zone
        people = set(talk.people)
        blocks = []
        for other in self.schedule.other_work(talk):
            shared = [name for name in other.people if name in people]
            note = f"With {md(people_text(shared, 150))}" if shared else ""
            blocks.append(Block(entry_block(other, zone, note=note), other))
        if not blocks:
            raise UserFacingError("Its speakers and authors have nothing else in the program.")
        pages = listing_pages(
            f"Other work by the authors of: {talk.title}",
            blocks,
            intro=f"{len(blocks)} other {'entry' if len(blocks) == 1 else 'entries'}:",
        )
        await self.send_pages(interaction, pages)

    async def send_author(self, interaction: discord.Interaction, name: str) -> None:
        """/author: everything a person speaks at or authors, and whether they organize."""
        snapshot = self.snapshot()
        person = self.search.person(name)
        if person is None:
            raise UserFacingError(f"Nobody in the program is called {quoted(name)}.")
        talks = [snapshot.by_id[i] for i in person.entry_ids if i in snapshot.by_id]
        others: list[str] = []
        if person.score < 100:
            # A guess: name the other people the query could have meant.
            others = [p.name for p in self.search.people(name, 4) if p.name != person.name][:3]
        zone = snapshot.workshop.zone
        member = (await self._members(interaction.guild_id, [person.name])).get(person.name)
        pages = listing_pages(
            person.name,
            [Block(entry_block(t, zone), t) for t in talks],
            intro=author_intro(person, snapshot.workshop, len(talks), others, member),
            empty="",
        )
        await self.send_pages(interaction, pages)
