"""Fitting text into Discord's limits without cutting a word silently, and without pings."""

from __future__ import annotations

import re

# Discord's limits (https://discord.com/developers/docs/resources/message).
CONTENT_MAX = 2000
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
EMBED_TOTAL_MAX = 6000
EMBEDS_PER_MESSAGE = 10
BUTTON_LABEL_MAX = 80
SELECT_OPTIONS_MAX = 25
SELECT_LABEL_MAX = 100
CHOICE_NAME_MAX = 100
CHOICES_MAX = 25

ELLIPSIS = "…"


def trim(text: str, limit: int) -> str:
    """``text`` if it fits, else cut at a word boundary with an ellipsis (never mid-word)."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    # A single enormous word has no boundary: cutting it is unavoidable, but marked.
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + ELLIPSIS


def defuse_mentions(text: str) -> str:
    """Belt and braces beside allowed_mentions: @everyone/@here/<@id> render inert."""
    text = text.replace("@everyone", "@\u200beveryone").replace("@here", "@\u200bhere")
    return re.sub(r"<(@[!&]?|#)(\d+)>", "<\\1\u200b\\2>", text)
