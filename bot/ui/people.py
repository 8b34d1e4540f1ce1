"""How the bot words things for the program's people (linked members)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.services.program import Talk
from bot.ui.cards import md
from bot.ui.text import trim


def author_line(talks: Sequence[Talk]) -> str:
    """The first line of a reminder DM to a member who presents one of its talks."""
    titles = ", ".join(f"“{md(trim(t.title, 80))}”" for t in talks[:3])
    if all(t.kind == "poster" for t in talks):
        return f"🎤 Your poster session is about to start: please be at your poster ({titles})."
    return f"🎤 You present {titles}: please be there a few minutes early."
