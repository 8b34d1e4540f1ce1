"""render_message: messages as a terminal shows them (embeds, buttons, timestamps in a zone)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.simulator import format_timestamp, render_inline, render_message

STAMP = 1658580300  # 2022-07-23 12:45:00 UTC


def test_timestamp_styles_in_a_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert format_timestamp(STAMP, "t", tz=berlin) == "14:45"
    assert format_timestamp(STAMP, "T", tz=berlin) == "14:45:00"
    assert format_timestamp(STAMP, "d") == "23/07/2022"
    assert format_timestamp(STAMP, "D") == "23 July 2022"
    assert format_timestamp(STAMP, "f") == "23 July 2022 at 12:45"
    assert format_timestamp(STAMP, "F", tz=berlin) == "Saturday, 23 July 2022 at 14:45"
    now = dt.datetime.fromtimestamp(STAMP, dt.UTC)
    assert format_timestamp(STAMP + 300, "R", now=now) == "in 5 minutes"
    assert format_timestamp(STAMP - 7200, "R", now=now) == "2 hours ago"
    assert format_timestamp(STAMP + 10, "R", now=now) == "in a few seconds"
    assert format_timestamp(STAMP + 86400, "R", now=now) == "in 1 day"


def test_every_style_as_a_reader_in_tokyo_sees_it() -> None:
    """Discord's own formats (English, 24-hour clock), in the reader's zone: 12:45 UTC is 21:45."""
    tokyo = ZoneInfo("Asia/Tokyo")
    late = 1658602800  # 2022-07-23 19:00 UTC: already Sunday in Tokyo
    expected = {
        "t": "04:00",
        "T": "04:00:00",
        "d": "24/07/2022",
        "D": "24 July 2022",
        "f": "24 July 2022 at 04:00",
        "F": "Sunday, 24 July 2022 at 04:00",
        "s": "24/07/2022, 04:00",
        "S": "24/07/2022, 04:00:00",
    }
    for style, text in expected.items():
        assert format_timestamp(late, style, tz=tokyo) == text, style
    assert render_inline(f"<t:{STAMP}:t> <t:{STAMP}:s> <t:{STAMP}>", tz=tokyo) == (
        "21:45 23/07/2022, 21:45 23 July 2022 at 21:45"
    )


def test_inline_mentions_and_stamps() -> None:
    text = f"<@1> see <#2> at <t:{STAMP}:t>, ping <@&3> and </remind talk:99> <:wave:123>"
    assert render_inline(text, names={"1": "Alice", "2": "general", "3": "Organizer"}) == (
        "@Alice see #general at 12:45, ping @Organizer and /remind talk :wave:"
    )


def test_full_message() -> None:
    message = {
        "author": {"username": "workshopbot", "bot": True},
        "timestamp": "2022-07-23T12:45:00+00:00",
        "edited_timestamp": None,
        "content": f"Talk starts <t:{STAMP}:R>",
        "flags": 64,
        "embeds": [
            {
                "title": "FlashAttention",
                "description": "Fast and exact attention",
                "fields": [{"name": "Room", "value": "Hall A"}],
                "footer": {"text": "Session 2"},
                "timestamp": "2022-07-23T12:45:00+00:00",
            }
        ],
        "components": [
            {
                "type": 1,
                "components": [
                    {"type": 2, "style": 1, "label": "Remind me", "custom_id": "r"},
                    {"type": 2, "style": 5, "label": "Slides", "url": "https://example.org"},
                ],
            },
            {
                "type": 1,
                "components": [
                    {
                        "type": 3,
                        "custom_id": "s",
                        "placeholder": "Pick",
                        "options": [{"label": "A", "value": "a"}],
                    }
                ],
            },
        ],
        "attachments": [{"filename": "talk.ics", "size": 120}],
    }
    now = dt.datetime.fromtimestamp(STAMP - 600, dt.UTC)
    text = render_message(message, now=now)
    assert text.splitlines() == [
        "workshopbot [BOT] · 23 July 2022 at 12:45",
        "Talk starts in 10 minutes",
        "│ **FlashAttention**",
        "│ Fast and exact attention",
        "│ Room:",
        "│   Hall A",
        "│ Session 2 • 23 July 2022 at 12:45",
        "📎 talk.ics (120 bytes)",
        "[ Remind me ] [ Slides ](https://example.org)",
        "[ Pick ▾ ] A",
        "(only you can see this)",
    ]


def test_components_v2_and_ephemeral_argument() -> None:
    message = {
        "content": "",
        "components": [
            {
                "type": 17,
                "components": [{"type": 10, "content": "Inside a container"}, {"type": 14}],
            },
        ],
    }
    text = render_message(message, ephemeral=True, header=False)
    assert text.splitlines() == ["│ Inside a container", "│ " + "─" * 20, "(only you can see this)"]
