"""Small formatting helpers: Discord timestamps, venue-local times, durations."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


def discord_ts(moment: datetime, style: str = "t") -> str:
    """``<t:unix:style>``: each reader's Discord client renders it in their own zone."""
    return f"<t:{int(moment.timestamp())}:{style}>"


def venue_time(moment: datetime, zone: ZoneInfo, *, with_date: bool = False) -> str:
    """``08:45 EDT`` (or ``Sat 23 Jul 08:45 EDT``) in the venue's zone."""
    local = moment.astimezone(zone)
    fmt = "%a %d %b %H:%M %Z" if with_date else "%H:%M %Z"
    return local.strftime(fmt)


def both_times(moment: datetime, zone: ZoneInfo, style: str = "t") -> str:
    """A time shown twice: in the reader's zone (Discord timestamp) and the venue's."""
    return f"{discord_ts(moment, style)} ({venue_time(moment, zone)})"


def reader_span(start: datetime, end: datetime) -> str:
    """``<t:…:f>–<t:…:t>``: a start and end in the reader's zone, the start with its date.

    The bot cannot know the reader's zone, so it cannot know the reader's date either: a
    time of day alone (``<t:…:t>``) may fall on another day for them than for the venue
    (15:00 EDT is 04:00 the next day in Tokyo). Discord renders the date in their zone.
    """
    return f"{discord_ts(start, 'f')}–{discord_ts(end, 't')}"


def venue_span(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """``09:00–09:30 EDT``: a start and end in the venue's zone."""
    return f"{start.astimezone(zone):%H:%M}–{venue_time(end, zone)}"


def human_duration(delta: timedelta) -> str:
    """``2 h 05 min``, ``7 min``, ``3 d``: for uptime. Never for "starts in" in a message: that
    goes stale as it is read later; ``discord_ts(moment, "R")`` stays true."""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)} s"
    minutes, _ = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"
