"""Reading the times organizers type ("14:30", "9am", "in 20 minutes", ISO) as instants."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from bot.errors import TimeParseError

#: Far enough for any workshop; also keeps arithmetic on huge numbers from overflowing.
MAX_AHEAD = timedelta(days=400)

EXAMPLES = "14:30, 9am, tomorrow 9am, in 20 minutes or 2022-07-23T14:30"

_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
}

# re.ASCII: \d and \w must not accept other scripts' digits, which int() would read.
_FLAGS = re.IGNORECASE | re.ASCII
_DURATION = re.compile(r"^in\s+(?P<parts>(?:\d{1,6}\s*[a-z]+\s*(?:and\s+)?)+)$", _FLAGS)
_DURATION_PART = re.compile(r"(\d{1,6})\s*([a-z]+)", _FLAGS)
_CLOCK = re.compile(
    r"^(?:at\s+)?(?P<h>\d{1,2})(?:[:.h](?P<m>\d{2}))?\s*(?P<ampm>a\.?m\.?|p\.?m\.?)?$", _FLAGS
)
_OFFSET = re.compile(r"(?:\s+|(?<=\d))(?P<off>[+-]\d{2}(?::?\d{2})?)$", _FLAGS)
_ZONE_NAME = re.compile(r"\s+(?P<zone>[A-Za-z_]+(?:/[A-Za-z0-9_+-]+){1,2}|UTC|GMT|Z)$", _FLAGS)
_DAY_WORD = re.compile(
    r"^(?:(?P<pre>today|tomorrow)\s+(?:at\s+)?)?(?P<rest>.+?)(?:\s+(?P<post>today|tomorrow))?$",
    _FLAGS,
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}", _FLAGS)


def _refuse(text: str) -> TimeParseError:
    shown = text if len(text) <= 60 else text[:59] + "…"
    return TimeParseError(f"I couldn't read “{shown}” as a time. Try {EXAMPLES}.")


def _explicit_zone(text: str) -> tuple[str, tzinfo | None]:
    """Split a trailing zone (``UTC``, ``Europe/Paris``, ``+02:00``) off ``text``."""
    found = _ZONE_NAME.search(text)
    if found is not None:
        name = found.group("zone")
        if name.upper() in ("UTC", "GMT", "Z"):
            return text[: found.start()].strip(), UTC
        try:
            return text[: found.start()].strip(), ZoneInfo(name)
        except Exception:  # ZoneInfo raises KeyError, ValueError or OSError for odd names
            raise TimeParseError(
                f"I don't know the timezone “{name}”: use a name like Europe/Paris, or UTC."
            ) from None
    found = _OFFSET.search(text)
    if found is not None and not _ISO_DATE.match(text):
        digits = found.group("off").replace(":", "")
        hours, minutes = int(digits[1:3]), int(digits[3:5] or 0)
        if hours > 14 or minutes > 59:
            raise _refuse(text)
        sign = -1 if digits[0] == "-" else 1
        offset = timezone(sign * timedelta(hours=hours, minutes=minutes))
        return text[: found.start()].strip(), offset
    return text, None


def _clock_time(text: str) -> time | None:
    """``14:30``, ``9am``, ``9:15 pm``, ``noon`` -> a time of day, or None."""
    lowered = text.lower()
    if lowered in ("noon", "midday"):
        return time(12, 0)
    if lowered == "midnight":
        return time(0, 0)
    found = _CLOCK.match(text)
    if found is None:
        return None
    hour, minute = int(found.group("h")), int(found.group("m") or 0)
    ampm = (found.group("ampm") or "").lower().replace(".", "")
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    elif found.group("m") is None:
        # A bare number ("9") is too ambiguous to be a time.
        return None
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _on_day(day: date, moment: time, zone: tzinfo) -> datetime:
    # fold=0: in a repeated hour (DST ending) the first occurrence is meant.
    return datetime.combine(day, moment).replace(tzinfo=zone)


def _next_occurrence(moment: time, now: datetime, zone: tzinfo) -> datetime:
    """The first ``moment`` of the day in ``zone`` that is not before ``now``: "20:30" said at
    20:00 is in half an hour, said at 21:00 it is tomorrow's."""
    today = now.astimezone(zone).date()
    found = _on_day(today, moment, zone)
    if found < now:
        found = _on_day(today + timedelta(days=1), moment, zone)
    return found


def _parse(text: str, now: datetime, zone: ZoneInfo) -> datetime | None:
    if text.lower() == "now":
        return now
    duration = _DURATION.match(text)
    if duration is not None:
        seconds = 0
        for amount, unit in _DURATION_PART.findall(duration.group("parts")):
            factor = _UNITS.get(unit.lower())
            if factor is None:
                return None
            seconds += int(amount) * factor
        if seconds > MAX_AHEAD.total_seconds():
            raise TimeParseError("That is too far ahead: pick a time within a year.")
        return now + timedelta(seconds=seconds)

    rest, given_zone = _explicit_zone(text)
    if _ISO_DATE.match(rest):
        try:
            moment = datetime.fromisoformat(rest.replace(" ", "T", 1))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=given_zone or zone)
        return moment
    words = _DAY_WORD.match(rest)
    if words is None:
        return None
    day_word = (words.group("pre") or words.group("post") or "").lower()
    moment_of_day = _clock_time(words.group("rest").strip())
    if moment_of_day is None:
        return None
    here = given_zone or zone
    if not day_word:
        # A bare time means its next occurrence, in the venue's zone (or the one given): the
        # organizer typing "20:30" at 20:00 means tonight, not the workshop's first day.
        return _next_occurrence(moment_of_day, now, here)
    today = now.astimezone(here).date()
    day = today + timedelta(days=1) if day_word == "tomorrow" else today
    return _on_day(day, moment_of_day, here)


def parse_when(text: str, *, now: datetime, zone: ZoneInfo) -> datetime:
    """The instant (UTC) ``text`` names; TimeParseError for garbage and for past times.

    Accepted: ISO times (``2022-07-23T14:30``, with or without an offset), ``14:30`` or
    ``9am`` (its next occurrence in venue time: today's if still to come, else tomorrow's),
    ``today``/``tomorrow 9am`` (venue time), ``in 20 minutes`` / ``in 1 hour 30 min``, and
    ``now``; a trailing ``UTC``, IANA zone name or ``+02:00`` overrides the venue's zone.
    """
    cleaned = " ".join(text.split())
    if not cleaned or len(cleaned) > 100:
        raise _refuse(cleaned)
    try:
        moment = _parse(cleaned, now, zone)
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        raise _refuse(cleaned)
    try:
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _refuse(cleaned) from None
    if moment < now:
        local = moment.astimezone(zone).strftime("%a %d %b %Y %H:%M %Z")
        raise TimeParseError(f"{local} is in the past: pick a later time.")
    if moment - now > MAX_AHEAD:
        raise TimeParseError("That is too far ahead: pick a time within a year.")
    return moment
