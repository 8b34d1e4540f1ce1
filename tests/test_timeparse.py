"""parse_when: the times organizers type for /announce at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import TimeParseError, UserFacingError
from bot.services.timeparse import parse_when

NY = ZoneInfo("America/New_York")
NOW = datetime(2022, 7, 23, 9, 5, tzinfo=NY).astimezone(UTC)


def when(text: str, now: datetime = NOW) -> datetime:
    return parse_when(text, now=now, zone=NY)


def ny(hhmm: str, day: int = 23) -> datetime:
    return datetime.fromisoformat(f"2022-07-{day}T{hhmm}:00-04:00")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-07-23T14:30", ny("14:30")),
        ("2022-07-23 14:30", ny("14:30")),
        ("2022-07-23T14:30-04:00", ny("14:30")),
        ("2022-07-23T18:30Z", ny("14:30")),
        ("2022-07-23T20:30+02:00", ny("14:30")),
        ("2022-07-23T20:30 Europe/Paris", ny("14:30")),
        ("2022-07-23T18:30 UTC", ny("14:30")),
        ("14:30", ny("14:30")),
        ("at 14:30", ny("14:30")),
        ("14.30", ny("14:30")),
        ("9:15pm", ny("21:15")),
        ("2 pm", ny("14:00")),
        ("12pm", ny("12:00")),
        ("noon", ny("12:00")),
        ("18:30 UTC", ny("14:30")),
        ("20:30 Europe/Paris", ny("14:30")),
        ("14:30 -04:00", ny("14:30")),
        ("in 20 minutes", NOW + timedelta(minutes=20)),
        ("In 20 min", NOW + timedelta(minutes=20)),
        ("in 1 hour 30 minutes", NOW + timedelta(minutes=90)),
        ("in 1h30m", NOW + timedelta(minutes=90)),
        ("in 2 hours and 5 minutes", NOW + timedelta(minutes=125)),
        ("tomorrow 9am", ny("09:00", 24)),
        ("tomorrow at 09:00", ny("09:00", 24)),
        ("9am tomorrow", ny("09:00", 24)),
        ("today 17:00", ny("17:00")),
        ("now", NOW),
    ],
)
def test_accepted_forms(text: str, expected: datetime) -> None:
    got = when(text)
    assert got == expected
    assert got.tzinfo is UTC


def test_a_bare_time_is_its_next_occurrence_in_venue_time() -> None:
    # Still to come today: today's; already past: tomorrow's, whatever day the workshop is.
    evening = ny("20:00", 22)
    assert when("20:30", now=evening) == ny("20:30", 22)
    assert when("19:30", now=evening) == ny("19:30", 23)
    assert when("9am", now=ny("12:00", 20)) == ny("09:00", 21)
    assert when("20:30", now=ny("09:00", 24)) == ny("20:30", 24)
    assert when("08:00") == ny("08:00", 24)
    # The minute it is now is now, not tomorrow.
    assert when("09:05") == NOW
    # In a zone given with it: the next 18:30 UTC (at 20:00 EDT it is already the 23rd in UTC).
    assert when("18:30 UTC", now=ny("20:00", 22)) == ny("14:30", 23)
    # Across the end of summer time: the next 09:00 is in standard time.
    autumn = datetime(2022, 11, 5, 10, 0, tzinfo=NY)
    assert when("9:00", now=autumn) == datetime(2022, 11, 6, 9, 0, tzinfo=NY)
    # "tomorrow" is relative to now, in the venue's zone (already the 21st there at 01:00 UTC).
    late_evening = datetime(2022, 7, 20, 23, 0, tzinfo=NY)
    assert when("tomorrow 8am", now=late_evening) == ny("08:00", 21)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "soon",
        "9",
        "25:00",
        "13pm",
        "14:61",
        "in a while",
        "in 20 parsecs",
        "2022-07-32T10:00",
        "2022-07-23",
        "tomorrow",
        "14:30 +25:00",
        "x" * 500,
    ],
)
def test_garbage_is_refused_with_examples(text: str) -> None:
    with pytest.raises(TimeParseError, match="couldn't read") as caught:
        when(text)
    assert "in 20 minutes" in str(caught.value)
    assert isinstance(caught.value, UserFacingError)


def test_an_unknown_zone_is_named() -> None:
    with pytest.raises(TimeParseError, match="timezone “Mars/Olympus”"):
        when("14:30 Mars/Olympus")


@pytest.mark.parametrize(
    "text", ["today 09:00", "2022-07-23T08:00", "2022-07-22T14:30", "8am today"]
)
def test_past_times_are_refused_in_venue_time(text: str) -> None:
    with pytest.raises(TimeParseError, match="is in the past"):
        when(text)


def test_past_message_names_the_venue_time() -> None:
    with pytest.raises(TimeParseError) as caught:
        when("today 09:00")
    assert str(caught.value).startswith("Sat 23 Jul 2022 09:00 EDT is in the past")


def test_far_future_is_refused() -> None:
    with pytest.raises(TimeParseError, match="too far ahead"):
        when("in 999999 days")
    with pytest.raises(TimeParseError, match="too far ahead"):
        when("2030-01-01T10:00")


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(max_size=60),
        st.from_regex(
            r"(in |tomorrow |today |at )?[0-9]{1,7}(:[0-9]{1,3})? ?(am|pm|min|h|Z|UTC|[A-Za-z]+/[A-Za-z_]+)?",
            fullmatch=True,
        ),
        st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{1,2}:[0-9]{2}.{0,12}", fullmatch=True),
    )
)
def test_arbitrary_text_gives_an_instant_or_a_time_parse_error(text: str) -> None:
    try:
        got = when(text)
    except TimeParseError:
        return
    assert got.tzinfo is UTC
    assert got >= NOW
