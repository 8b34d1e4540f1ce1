"""Plain-text rendering of Discord messages for terminals (embeds, buttons, timestamps)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

TIMESTAMP = re.compile(r"<t:(-?\d+)(?::([tTdDfFsSR]))?>")
USER_REF = re.compile(r"<@!?(\d+)>")
ROLE_REF = re.compile(r"<@&(\d+)>")
CHANNEL_REF = re.compile(r"<#(\d+)>")
COMMAND_REF = re.compile(r"</([^:>]+):\d+>")
EMOJI_REF = re.compile(r"<a?(:\w+:)\d+>")

BAR = "│ "


def _relative(moment: dt.datetime, now: dt.datetime) -> str:
    seconds = (moment - now).total_seconds()
    future = seconds >= 0
    span = abs(seconds)
    if span < 45:
        text = "a few seconds"
    else:
        for unit, size in (
            ("year", 31_536_000),
            ("month", 2_592_000),
            ("day", 86_400),
            ("hour", 3_600),
            ("minute", 60),
        ):
            if span >= size * 0.95 or unit == "minute":
                count = max(1, round(span / size))
                text = f"{count} {unit}{'s' if count != 1 else ''}"
                break
    return f"in {text}" if future else f"{text} ago"


def format_timestamp(
    seconds: int, style: str = "f", *, tz: dt.tzinfo = dt.UTC, now: dt.datetime | None = None
) -> str:
    """Discord's ``<t:seconds:style>`` as a Discord client in ``tz`` shows it.

    The client's language is English (UK), 24-hour clock; the styles are those of Discord's
    reference (developers/reference#message-formatting-timestamp-styles): ``t`` 16:20,
    ``T`` 16:20:30, ``d`` 20/04/2021, ``D`` 20 April 2021, ``f`` (the default) 20 April 2021
    at 16:20, ``F`` Tuesday, 20 April 2021 at 16:20, ``s`` 20/04/2021, 16:20, ``S``
    20/04/2021, 16:20:30, and ``R`` relative to ``now`` (the reader's clock; the wall clock
    when not given), e.g. "in 5 minutes" or "2 months ago".
    """
    moment = dt.datetime.fromtimestamp(seconds, tz)
    short_time = moment.strftime("%H:%M")
    short_date = moment.strftime("%d/%m/%Y")
    long_date = f"{moment.day} {moment.strftime('%B %Y')}"
    if style == "t":
        return short_time
    if style == "T":
        return moment.strftime("%H:%M:%S")
    if style == "d":
        return short_date
    if style == "D":
        return long_date
    if style == "F":
        return f"{moment.strftime('%A')}, {long_date} at {short_time}"
    if style == "s":
        return f"{short_date}, {short_time}"
    if style == "S":
        return f"{short_date}, {moment.strftime('%H:%M:%S')}"
    if style == "R":
        return _relative(moment, now or dt.datetime.now(dt.UTC))
    return f"{long_date} at {short_time}"


def render_inline(
    text: str,
    *,
    tz: dt.tzinfo = dt.UTC,
    names: Mapping[str, str] | None = None,
    now: dt.datetime | None = None,
) -> str:
    """Timestamps, mentions and custom emoji of message text made readable."""
    names = names or {}

    def stamp(match: re.Match[str]) -> str:
        return format_timestamp(int(match.group(1)), match.group(2) or "f", tz=tz, now=now)

    text = TIMESTAMP.sub(stamp, text)
    text = USER_REF.sub(lambda m: "@" + names.get(m.group(1), "user"), text)
    text = ROLE_REF.sub(lambda m: "@" + names.get(m.group(1), "role"), text)
    text = CHANNEL_REF.sub(lambda m: "#" + names.get(m.group(1), "channel"), text)
    text = COMMAND_REF.sub(lambda m: "/" + m.group(1), text)
    return EMOJI_REF.sub(lambda m: m.group(1), text)


def _iso(value: str, tz: dt.tzinfo) -> str:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    return format_timestamp(int(moment.timestamp()), "f", tz=tz)


def _embed(embed: Mapping[str, Any], tz: dt.tzinfo, inline: Any) -> list[str]:
    lines: list[str] = []
    author = (embed.get("author") or {}).get("name")
    if author:
        lines.append(inline(author))
    if embed.get("title"):
        title = inline(embed["title"])
        lines.append(f"**{title}**" + (f" <{embed['url']}>" if embed.get("url") else ""))
    if embed.get("description"):
        lines.extend(inline(embed["description"]).splitlines())
    for fld in embed.get("fields") or []:
        lines.append(f"{inline(str(fld.get('name', '')))}:")
        lines.extend("  " + line for line in inline(str(fld.get("value", ""))).splitlines())
    if (embed.get("image") or {}).get("url"):
        lines.append(f"[image {embed['image']['url']}]")
    footer = (embed.get("footer") or {}).get("text")
    stamp = _iso(embed["timestamp"], tz) if embed.get("timestamp") else None
    tail = " • ".join(x for x in (inline(footer) if footer else None, stamp) if x)
    if tail:
        lines.append(tail)
    return [BAR + line if line else BAR.rstrip() for line in lines]


def _select(component: Mapping[str, Any]) -> str:
    kinds = {3: "", 5: "users", 6: "roles", 7: "users/roles", 8: "channels"}
    label = component.get("placeholder") or kinds.get(int(component.get("type", 3)), "") or "choose"
    line = f"[ {label} ▾ ]"
    options = [o.get("label", o.get("value")) for o in component.get("options") or []]
    if options:
        line += " " + " | ".join(str(o) for o in options)
    return line + (" (disabled)" if component.get("disabled") else "")


def _button(component: Mapping[str, Any]) -> str:
    emoji = (component.get("emoji") or {}).get("name")
    label = " ".join(x for x in (emoji, component.get("label")) if x) or "…"
    text = f"[ {label} ]"
    if component.get("style") == 5:
        text += f"({component.get('url')})"
    return text + ("(disabled)" if component.get("disabled") else "")


def _components(components: Sequence[Any], inline: Any, depth: int = 0) -> list[str]:
    lines: list[str] = []
    pad = "  " * depth
    for component in components:
        if not isinstance(component, Mapping):
            continue
        kind = component.get("type")
        if kind == 1:
            pieces = []
            for child in component.get("components") or []:
                pieces.append(_button(child) if child.get("type") == 2 else _select(child))
            lines.append(pad + " ".join(pieces))
        elif kind == 2:
            lines.append(pad + _button(component))
        elif kind in (3, 5, 6, 7, 8):
            lines.append(pad + _select(component))
        elif kind == 10:
            lines.extend(pad + line for line in inline(component.get("content", "")).splitlines())
        elif kind == 9:
            lines.extend(_components(component.get("components") or [], inline, depth))
            if component.get("accessory"):
                lines.extend(_components([component["accessory"]], inline, depth + 1))
        elif kind == 14:
            lines.append(pad + "─" * 20)
        elif kind == 17:
            inner = _components(component.get("components") or [], inline, 0)
            lines.extend(pad + BAR + line for line in inner)
        elif kind == 12:
            lines.append(pad + f"[{len(component.get('items') or [])} image(s)]")
        elif kind == 13:
            lines.append(pad + f"[file {(component.get('file') or {}).get('url')}]")
    return lines


def render_message(
    message: Mapping[str, Any],
    *,
    ephemeral: bool = False,
    tz: dt.tzinfo = dt.UTC,
    names: Mapping[str, str] | None = None,
    now: dt.datetime | None = None,
    header: bool = True,
) -> str:
    """A message as text: header, content, embeds (│ bars), components as ``[ Label ]``, files.

    ``names`` maps user/role/channel ids (as strings) to display names for mentions;
    ``tz`` is the zone Discord timestamps are shown in; ``now`` anchors relative times.
    """

    def inline(text: str) -> str:
        return render_inline(text, tz=tz, names=names, now=now)

    lines: list[str] = []
    ephemeral = ephemeral or bool(int(message.get("flags") or 0) & 64)
    if header:
        author = message.get("author") or {}
        who = author.get("global_name") or author.get("username") or "?"
        tag = " [BOT]" if author.get("bot") else ""
        when = _iso(message["timestamp"], tz) if message.get("timestamp") else ""
        edited = " (edited)" if message.get("edited_timestamp") else ""
        lines.append(f"{who}{tag} · {when}{edited}".rstrip(" ·"))
    if int(message.get("flags") or 0) & 128:
        lines.append("… is thinking")
    content = message.get("content") or ""
    if content:
        lines.extend(inline(content).splitlines())
    for embed in message.get("embeds") or []:
        lines.extend(_embed(embed, tz, inline))
    for attachment in message.get("attachments") or []:
        lines.append(f"📎 {attachment.get('filename')} ({attachment.get('size', 0)} bytes)")
    lines.extend(_components(message.get("components") or [], inline))
    if message.get("pinned"):
        lines.append("📌 pinned")
    if ephemeral:
        lines.append("(only you can see this)")
    return "\n".join(lines)
