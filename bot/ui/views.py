"""Shared views: a paginator with Previous/Next, and "Share in channel" for ephemeral answers."""

from __future__ import annotations

import discord

from bot.ui.text import trim


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


class SharedCard(discord.ui.View):
    """A single embed answered ephemerally, with a share button (and room for more buttons)."""

    def __init__(self, embed: discord.Embed, *, timeout: float = 900) -> None:
        super().__init__(timeout=timeout)
        self.embed = embed
        self.add_item(ShareButton())


class Paginator(discord.ui.View):
    """Pages of embeds; only the person who asked can turn the pages of their copy."""

    def __init__(self, pages: list[discord.Embed], owner_id: int, *, timeout: float = 900) -> None:
        super().__init__(timeout=timeout)
        if not pages:
            raise ValueError("a paginator needs at least one page")
        self.pages = pages
        self.owner_id = owner_id
        self.index = 0
        for number, page in enumerate(pages, start=1):
            if len(pages) > 1:
                page.set_footer(text=trim(f"Page {number}/{len(pages)}", 2048))
        self.add_item(ShareButton())
        self._sync_buttons()

    def current_embed(self) -> discord.Embed:
        return self.pages[self.index]

    def _sync_buttons(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.pages) - 1
        if len(self.pages) == 1:
            self.remove_item(self.previous)
            self.remove_item(self.next)

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message(
                "These pages belong to someone else: run the command yourself.", ephemeral=True
            )
            return
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
