"""The playground: the local Discord, the real bot, and a prompt to use it as people would.

Type a slash command (``/schedule now``, ``/author name:bengio`` or just ``/author bengio``),
act as several people (``as aiko``), read times in anyone's zone (``tz Asia/Tokyo``), fill in
forms, pick from menus, press buttons and see autocomplete choices (``/schedule talk quer?``).
Channel posts and DMs are printed as they arrive; logs go to a file, with a one-line notice
on screen for each warning. ``help`` lists it all.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url

from bot.app import make_clock
from bot.clock import Clock
from bot.local import LocalDiscord
from bot.logs import FORMAT, RedactFilter, configure_logging
from bot.settings import PROJECT_ROOT, Settings
from bot.simulator import (
    DiscordSimulator,
    InteractionResult,
    Perm,
    SimMessage,
    SimulatorError,
    SimUser,
    format_timestamp,
    render_message,
)
from bot.simulator.users import render_modal

log = logging.getLogger(__name__)

PLAYGROUND_DB = PROJECT_ROOT / "data" / "playground.db"
PLAYGROUND_LOG = PROJECT_ROOT / "data" / "playground.log"
DEFAULT_USER = "you"
ORGANIZER_ROLE = "Organizer"
#: A program starting further ahead than this gets the rehearsal hint at start.
FAR_AHEAD = timedelta(days=1)
#: A rehearsal starts this long before the program's first entry.
REHEARSAL_LEAD = timedelta(minutes=5)
#: Identical warnings within this many seconds are one notice.
NOTICE_FOLD_SECONDS = 5.0
USER_NAME = re.compile(r"[\w.\-]{1,32}")
SELECT_TYPES = (3, 5, 6, 7, 8)

HELP = """\
Slash commands, as in Discord; options as name:value (quote values with spaces):
  /about
  /schedule now
  /author name:"yanzhi wang"       (or: /author yanzhi wang)
Autocomplete: end an option with ? to see the choices Discord offers as you type:
  /schedule talk quer?             (or: /schedule talk title:quer?)
  /schedule day ?                  the choices for an empty option
  A choice shows [the value] to type to pick it: /schedule talk title:opening
Forms: a command that answers with one (e.g. /announce now) asks for each field in turn,
a line each (\\n for a line break; an empty line leaves an optional field empty; cancel
closes the form without sending). Or give the fields inline after " | ", in order:
  /announce now | Coffee is served in the lobby.
Buttons and menus, on the last answer or the latest post or DM you can see:
  click Next                       press a button (by its label)
  pick 2                           choose the 2nd option of the menu, or type its label
  pick Look up an author > Yichi Zhang     when the message has several menus
People and zones:
  as aiko                          act as aiko (created on first use, as an attendee)
  as olga organizer                create olga with the Organizer role
  as                               list the people and the zone each reads times in
  tz Asia/Tokyo                    show Discord times (<t:…>) as a reader in that zone
                                   sees them (for the current person); tz venue resets
  tz                               which zone is shown
Times: relative ones ("in 5 minutes") count from the bot's clock, the rehearsal's under
--simulate-start. Channel posts and DMs appear as they arrive, a DM in its reader's zone.
Warnings and errors are one line here; the whole log is in the file named at start.
  commands                         list the bot's slash commands
  exit                             leave (Ctrl-D works too)"""


def _value(text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def playground_log_path(settings: Settings) -> Path:
    """The log file: beside the playground's SQLite database, else ``data/playground.log``."""
    try:
        url = make_url(settings.database_url)
    except Exception:
        return PLAYGROUND_LOG
    database = url.database
    if url.get_backend_name() == "sqlite" and database and database != ":memory:":
        return Path(database).with_suffix(".log")
    return PLAYGROUND_LOG


class WarningNotices(logging.Handler):
    """One line on the prompt for each WARNING or worse; the traceback stays in the log file."""

    def __init__(self, say: Callable[[str], None], log_path: Path) -> None:
        super().__init__(logging.WARNING)
        self.say = say
        self._log_path = log_path
        self._last: dict[tuple[str, str], float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            key = (record.name, str(record.msg))
            now = time.monotonic()
            if now - self._last.get(key, -NOTICE_FOLD_SECONDS) < NOTICE_FOLD_SECONDS:
                return
            self._last[key] = now
            lines = record.getMessage().strip().splitlines() or [""]
            text = lines[0] if len(lines[0]) <= 160 else lines[0][:159] + "…"
            self.say(
                f"! {record.levelname.lower()} from {record.name}: {text} (full log: {self._log_path})"
            )
        except Exception:
            self.handleError(record)


@contextmanager
def logs_to_file(log_path: Path, say: Callable[[str], None], secrets: list[str]) -> Iterator[None]:
    """Every record to ``log_path``; none to the terminal but a notice line per warning."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(log_path, encoding="utf-8")
    to_file.setFormatter(logging.Formatter(FORMAT))
    notices = WarningNotices(say, log_path)
    for ours in (to_file, notices):
        ours.addFilter(RedactFilter(secrets))
    root = logging.getLogger()
    # Handlers that write to the terminal would interleave records with the conversation.
    terminal: list[logging.Handler] = [
        h
        for h in root.handlers
        if isinstance(h, logging.StreamHandler)
        and getattr(h, "stream", None) in (sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__)
    ]
    for handler in terminal:
        root.removeHandler(handler)
    root.addHandler(to_file)
    root.addHandler(notices)
    try:
        yield
    finally:
        root.removeHandler(notices)
        root.removeHandler(to_file)
        to_file.close()
        for handler in terminal:
            root.addHandler(handler)


@dataclass
class FormField:
    """One input of a form (a modal): a text input or a select menu."""

    custom_id: str
    label: str
    required: bool
    paragraph: bool = False
    min_length: int | None = None
    max_length: int | None = None
    options: list[dict[str, Any]] = field(default_factory=list)
    is_select: bool = False

    def describe(self) -> str:
        bits = ["required" if self.required else "optional"]
        if self.max_length:
            bits.append(f"up to {self.max_length} characters")
        if self.paragraph:
            bits.append("\\n for a new line")
        if self.is_select and self.options:
            bits.append("one of: " + " | ".join(str(o.get("label")) for o in self.options))
        return f"{self.label} ({'; '.join(bits)})"

    def accept(self, text: str) -> Any:
        """The value to submit for what was typed; ValueError says what is wrong with it."""
        if self.is_select:
            if not text:
                if self.required:
                    raise ValueError(f"{self.label} is required: pick one, or type cancel")
                return []
            return [_option_for(self.options, text)["value"]]
        value = text.replace("\\n", "\n")
        if not value:
            if self.required:
                raise ValueError(f"{self.label} is required: type it, or type cancel")
            return ""
        if self.min_length is not None and len(value) < self.min_length:
            raise ValueError(f"{self.label} needs at least {self.min_length} characters")
        if self.max_length is not None and len(value) > self.max_length:
            raise ValueError(
                f"{self.label} takes at most {self.max_length} characters, not {len(value)}"
            )
        return value


def form_fields(modal: Mapping[str, Any]) -> list[FormField]:
    """The inputs of a modal, in order (rows of text inputs, or labels around a component)."""
    fields: list[FormField] = []

    def add(component: Mapping[str, Any], label: str | None) -> None:
        kind = component.get("type")
        if component.get("custom_id") is None:
            return
        if kind == 4:
            fields.append(
                FormField(
                    custom_id=component["custom_id"],
                    label=label or component.get("label") or component["custom_id"],
                    required=component.get("required", True),
                    paragraph=component.get("style") == 2,
                    min_length=component.get("min_length"),
                    max_length=component.get("max_length"),
                )
            )
        elif kind in SELECT_TYPES:
            fields.append(
                FormField(
                    custom_id=component["custom_id"],
                    label=label or component.get("placeholder") or component["custom_id"],
                    required=component.get("required", True),
                    options=list(component.get("options") or []),
                    is_select=True,
                )
            )

    for component in modal.get("components") or []:
        if component.get("type") == 1:
            for child in component.get("components") or []:
                add(child, None)
        elif component.get("type") == 18 and isinstance(component.get("component"), dict):
            add(component["component"], component.get("label"))
    return fields


def _option_for(options: list[dict[str, Any]], text: str) -> dict[str, Any]:
    """A select option by number (1-based), label or value, or the one label containing it."""
    wanted = text.strip()
    if wanted.isdigit() and 1 <= int(wanted) <= len(options):
        return options[int(wanted) - 1]
    folded = wanted.casefold()
    for option in options:
        if folded in (str(option.get("label", "")).casefold(), str(option.get("value")).casefold()):
            return option
    partial = [o for o in options if folded and folded in str(o.get("label", "")).casefold()]
    if len(partial) == 1:
        return partial[0]
    labels = " | ".join(f"{i}. {o.get('label')}" for i, o in enumerate(options, 1))
    if partial:
        raise ValueError(f"{text!r} matches several options: {labels}")
    raise ValueError(f"no option {text!r}; the options are {labels}")


@dataclass
class PendingForm:
    """A form being filled in at the prompt, one field per line."""

    result: InteractionResult
    fields: list[FormField]
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def current(self) -> FormField:
        return self.fields[len(self.values)]

    @property
    def complete(self) -> bool:
        return len(self.values) == len(self.fields)


def _entries_span(local: LocalDiscord) -> tuple[datetime, datetime] | None:
    services = local.services
    if services is None or not services.program.loaded:
        return None
    talks = services.program.snapshot.talks
    if not talks:
        return None
    return min(t.start for t in talks), max(t.end for t in talks)


def rehearsal_hint(local: LocalDiscord, clock: Clock) -> str | None:
    """When the program lies in the past or far ahead of the clock: say so, and how to rehearse."""
    span = _entries_span(local)
    if span is None:
        return None
    first, last = span
    now = clock.now()
    if first - FAR_AHEAD <= now <= last:
        return None
    assert local.services is not None
    workshop = local.services.program.snapshot.workshop
    zone = workshop.zone
    begin, end = first.astimezone(zone), last.astimezone(zone)

    def day(moment: datetime) -> str:
        return f"{moment.strftime('%A')} {moment.day} {moment.strftime('%B %Y')}"

    if begin.date() == end.date():
        when = f"on {day(begin)}, {begin:%H:%M}–{end:%H:%M %Z}"
    else:
        when = f"from {day(begin)} {begin:%H:%M} to {day(end)} {end:%H:%M %Z}"
    ago = format_timestamp(int((last if now > last else first).timestamp()), "R", now=now)
    state = f"ended {ago}" if now > last else f"starts {ago}"
    start = (first - REHEARSAL_LEAD).astimezone(zone).isoformat(timespec="minutes")
    command = f"workshop-bot playground --simulate-start {start} --speed 60"
    if Path.cwd() == PROJECT_ROOT and (PROJECT_ROOT / ".venv" / "bin" / "workshop-bot").exists():
        command = ".venv/bin/" + command
    return (
        f"Note: {workshop.acronym} {'was' if now > last else 'is'} {when}; on this clock it "
        f"{state}, so the bot answers as it would then. To rehearse the day at 60× speed "
        f"(an hour a minute), leave and run:\n  {command}"
    )


class Playground:
    def __init__(
        self,
        local: LocalDiscord,
        out: TextIO,
        zone: ZoneInfo,
        clock: Clock | None = None,
    ) -> None:
        self.local = local
        self.out = out
        self.venue_zone = zone
        self.clock = clock or local.clock or make_clock(local.settings)
        self.users: dict[str, SimUser] = {}
        self.zones: dict[int, ZoneInfo] = {}  # by user id
        self.me: SimUser = self._user(DEFAULT_USER, organizer=True)
        self.last: InteractionResult | None = None
        self.form: PendingForm | None = None
        # Bot posts shown as they arrived (channel posts, DMs), newest last: buttons and menus
        # on them can be used too.
        self.posts: list[int] = []
        # True while the prompt waits for a line: output arriving then redraws the prompt.
        self.waiting = False

    # -- people and zones -----------------------------------------------------------------------

    def _user(self, name: str, *, organizer: bool = False) -> SimUser:
        if name not in self.users:
            roles = [ORGANIZER_ROLE] if organizer else []
            self.users[name] = self.local.sim.add_user(name, roles=roles)
            self.zones[self.users[name].id] = self.venue_zone
        return self.users[name]

    @property
    def zone(self) -> ZoneInfo:
        return self.zones.get(self.me.id, self.venue_zone)

    def _zone_note(self, zone: ZoneInfo) -> str:
        key = str(zone.key)
        return f"{key} (the venue's zone)" if zone == self.venue_zone else key

    def _who(self, user: SimUser) -> str:
        role = "organizer" if ORGANIZER_ROLE in user.roles else "attendee"
        return f"{user.name} ({role}; times in {self._zone_note(self.zones[user.id])})"

    def act_as(self, args: str) -> None:
        words = args.split()
        if not words:
            self.say("People here (as NAME switches):")
            for user in self.users.values():
                mark = "*" if user is self.me else " "
                self.say(f" {mark} {self._who(user)}")
            return
        name, rest = words[0], [w.lower() for w in words[1:]]
        if not USER_NAME.fullmatch(name) or rest not in ([], ["organizer"]):
            self.say("! usage: as NAME [organizer]   (a name of letters, digits, . _ -)")
            return
        created = name not in self.users
        user = self._user(name, organizer=rest == ["organizer"])
        if not created and rest and ORGANIZER_ROLE not in user.roles:
            self.say(f"! {name} already exists as an attendee; pick a new name for an organizer")
            return
        self.me = user
        self.say(f"{'New: ' if created else ''}you are now {self._who(user)}.")

    def set_zone(self, args: str) -> None:
        name = args.strip()
        if not name:
            self.say(f"Discord times for {self.me.name}: {self._zone_note(self.zone)}.")
            return
        if name.lower() == "venue":
            zone = self.venue_zone
        else:
            try:
                zone = ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError, OSError):
                self.say(f"! no time zone {name!r}: use an IANA name such as Asia/Tokyo")
                return
        self.zones[self.me.id] = zone
        self.say(f"Discord times for {self.me.name} are now shown in {self._zone_note(zone)}.")

    # -- output ---------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def interject(self, text: str) -> None:
        """Output nobody typed a line for (a post, a DM, a warning): the prompt is shown again."""
        if self.waiting and self.out.isatty():
            self.say("")
            self.say(text)
            print(self.prompt(), end="", file=self.out, flush=True)
        else:
            self.say(text)

    def _on_clock(self, data: Mapping[str, Any]) -> Mapping[str, Any]:
        """A message whose "sent at" reads the bot's clock (a rehearsal's), not the wall clock."""
        stamp = data.get("timestamp")
        if not stamp or not self.clock.rehearsal:
            return data
        try:
            sent = datetime.fromisoformat(str(stamp))
        except ValueError:
            return data
        now = self.clock.now()
        # A clock that only moves when told to (a test's) read the same when it was sent.
        flows = math.isfinite(self.clock.real_delay(now + timedelta(seconds=1)))
        ago = (datetime.now(UTC) - sent) * self.clock.speed if flows else timedelta(0)
        return {**data, "timestamp": (now - ago).isoformat()}

    def render(
        self, data: Mapping[str, Any], *, zone: ZoneInfo | None = None, ephemeral: bool = False
    ) -> str:
        return render_message(
            self._on_clock(data),
            ephemeral=ephemeral,
            tz=zone or self.zone,
            names=self.local.sim.names(),
            now=self.clock.now(),
        )

    def _result_text(self, result: InteractionResult) -> str:
        parts: list[str] = []
        if result.modal is not None:
            parts.append(render_modal(result.modal))
        if result.choices is not None:
            parts.append(self._choices_text(result.choices))
        for message in reversed(result.messages_newest_first()):
            if not message.deleted:
                parts.append(self.render(message.data, ephemeral=message.ephemeral_for is not None))
        return "\n\n".join(parts)

    def show(self, result: InteractionResult) -> None:
        self.say(self._result_text(result) or "(no visible answer)")

    @staticmethod
    def _choices_text(choices: list[dict[str, Any]]) -> str:
        if not choices:
            return "  (no choices)"
        lines = []
        for choice in choices:
            name, value = str(choice.get("name")), str(choice.get("value"))
            lines.append(f"  > {name}" + ("" if value == name else f"   [{value}]"))
        return "\n".join(lines)

    def on_event(self, event: str, data: dict[str, Any]) -> None:
        """Posts the bot makes on its own (announcements, DMs), not replies to the prompt."""
        if event != "MESSAGE_CREATE" or data.get("interaction_metadata") or data.get("webhook_id"):
            return
        state = self.local.sim.state
        if int((data.get("author") or {}).get("id", 0)) != state.bot.id:
            return
        channel = state.channels.get(int(data["channel_id"]))
        zone = self.zone
        if channel is not None and channel.is_dm:
            reader = state.members.get(channel.recipient_id or 0)
            name = (reader.global_name or reader.username) if reader is not None else "?"
            zone = self.zones.get(channel.recipient_id or 0, self.venue_zone)
            where = f"DM to {name}"
        else:
            where = f"#{getattr(channel, 'name', '?')}"
        self.posts.append(int(data["id"]))
        del self.posts[:-50]
        self.interject(f"\n--- new message in {where} ---\n{self.render(data, zone=zone)}")

    def command_names(self) -> list[str]:
        out: list[str] = []
        for command in self.local.sim.commands():
            subs = [o for o in command.get("options", []) if o.get("type") in (1, 2)]
            if not subs:
                out.append(f"/{command['name']}")
            for sub in subs:
                out.append(f"/{command['name']} {sub['name']}")
        return sorted(out)

    def prompt(self) -> str:
        if self.form is not None:
            return f"{self.form.current.label}> "
        return f"{self.me.name}> "

    # -- the command loop -----------------------------------------------------------------------

    async def handle(self, line: str) -> bool:
        """Run one line; False means leave."""
        if self.form is not None:
            await self._fill(line.rstrip("\r\n"))
            return True
        line = line.strip()
        if not line:
            return True
        if line in ("exit", "quit"):
            return False
        word, _, args = line.partition(" ")
        try:
            if line == "help":
                self.say(HELP)
            elif line == "commands":
                self.say("\n".join(self.command_names()))
            elif word == "as":
                self.act_as(args)
            elif word == "tz":
                self.set_zone(args)
            elif word == "click":
                await self._click(args.strip())
            elif word == "pick":
                await self._pick(args.strip())
            elif line.startswith("/"):
                await self._slash(line[1:])
            else:
                self.say("Commands start with '/'; type help.")
        except (SimulatorError, TimeoutError, ValueError, LookupError) as exc:
            self.say(f"! {exc}")
        except Exception:
            # Anything else is a bug: the traceback goes to the log, one line comes here.
            log.exception("the playground could not run %r", line)
        return True

    async def _slash(self, text: str) -> None:
        command, bar, inline = text.partition(" | ")
        if not bar and command.endswith(" |"):
            command = command[:-2]
        path, options, focused = self._parse(command)
        if focused is not None:
            choices = await self.me.autocomplete(path, focused=focused, options=options)
            typed = options.get(focused, "")
            self.say(f"Choices for {focused} as you type {typed!r}:")
            self.say(self._choices_text(choices))
            return
        self.last = await self.me.slash(path, options=options)
        self.show(self.last)
        if self.last.modal is not None:
            await self._open_form(self.last, inline.split(" | ") if bar else None)
        elif bar:
            self.say("! that command answered without a form: the text after | was not used")

    # -- forms ----------------------------------------------------------------------------------

    async def _open_form(self, result: InteractionResult, inline: list[str] | None) -> None:
        assert result.modal is not None
        form = PendingForm(result, form_fields(result.modal))
        if inline is not None:
            if len(inline) > len(form.fields):
                raise ValueError(
                    f"the form has {len(form.fields)} field(s), not {len(inline)}: nothing sent"
                )
            for typed in inline + [""] * (len(form.fields) - len(inline)):
                form.values[form.current.custom_id] = form.current.accept(typed.strip())
            await self._submit(form)
            return
        if not form.fields:
            await self._submit(form)
            return
        self.form = form
        self.say("Fill in the form, a line per field (cancel closes it):")
        self.say("  " + form.current.describe())

    async def _fill(self, line: str) -> None:
        form = self.form
        assert form is not None
        if line.strip().lower() == "cancel":
            self.form = None
            self.say("Form closed; nothing was sent.")
            return
        try:
            form.values[form.current.custom_id] = form.current.accept(line)
        except ValueError as exc:
            self.say(f"! {exc}")
            self.say("  " + form.current.describe())
            return
        if not form.complete:
            self.say("  " + form.current.describe())
            return
        self.form = None
        try:
            await self._submit(form)
        except (SimulatorError, TimeoutError, ValueError, LookupError) as exc:
            self.say(f"! {exc}")

    async def _submit(self, form: PendingForm) -> None:
        self.last = await form.result.submit_modal(form.values)
        self.show(self.last)

    # -- buttons and menus ----------------------------------------------------------------------

    def _visible_sources(self) -> list[SimMessage]:
        """Messages with controls the current person can use: the last answer, then posts."""
        state = self.local.sim.state
        found: list[SimMessage] = []
        if self.last is not None and self.last.user is self.me:
            found.extend(self.last.messages_newest_first())
        for message_id in reversed(self.posts):
            message = state.messages.get(message_id)
            if message is None:
                continue
            channel = state.channels.get(message.channel_id)
            if channel is not None and channel.is_dm and channel.recipient_id != self.me.id:
                continue
            found.append(message)
        return [m for m in found if not m.deleted and m.data.get("components")]

    async def _click(self, label: str) -> None:
        if not label:
            raise ValueError("usage: click LABEL (a button on the last answer or a post)")
        wanted = label.casefold()
        seen: list[str] = []
        for message in self._visible_sources():
            buttons = [c for c in _walk(message.data["components"]) if c.get("type") == 2]
            for button in buttons:
                name = str(button.get("label") or "")
                seen.append(name)
                emoji = (button.get("emoji") or {}).get("name")
                shown = f"{emoji} {name}" if emoji else name
                if wanted in (name.casefold(), shown.casefold()):
                    self.last = await self.me.click(message, custom_id=button["custom_id"])
                    self.show(self.last)
                    return
        if not seen:
            raise ValueError("nothing to click: no buttons on the last answer or your posts")
        raise ValueError(f"no button {label!r}; there are {sorted(set(seen))}")

    async def _pick(self, text: str) -> None:
        if not text:
            raise ValueError("usage: pick OPTION (its number or label), or pick MENU > OPTION")
        menu_name, arrow, choice = text.rpartition(" > ")
        if not arrow:
            menu_name, choice = "", text
        for message in self._visible_sources():
            menus = [
                c
                for c in _walk(message.data["components"])
                if c.get("type") in SELECT_TYPES and not c.get("disabled")
            ]
            if not menus:
                continue
            if menu_name:
                menus = [
                    m
                    for m in menus
                    if menu_name.casefold() in str(m.get("placeholder") or "").casefold()
                ]
                if not menus:
                    raise ValueError(f"no menu {menu_name!r} on the latest message with menus")
            if len(menus) > 1:
                names = ", ".join(repr(str(m.get("placeholder") or m["custom_id"])) for m in menus)
                raise ValueError(f"that message has several menus ({names}): pick MENU > OPTION")
            menu = menus[0]
            wanted = [w.strip() for w in choice.split(" | ")] if "|" in choice else [choice]
            if int(menu.get("type", 3)) == 3:
                options = list(menu.get("options") or [])
                values = [_option_for(options, w)["value"] for w in wanted]
            else:
                values = [w.lstrip("#@") for w in wanted]
            self.last = await self.me.select(message, menu["custom_id"], values)
            self.show(self.last)
            return
        raise ValueError("no menu to pick from on the last answer or your posts")

    # -- parsing --------------------------------------------------------------------------------

    def _parse(self, text: str) -> tuple[str, dict[str, Any], str | None]:
        """The command path, its options, and the option to autocomplete (one ending in ?)."""
        tokens = shlex.split(text)
        if not tokens:
            raise ValueError("type a command name after '/'")
        command = next((c for c in self.local.sim.commands() if c["name"] == tokens[0]), None)
        if command is None:
            raise ValueError(f"no command /{tokens[0]}; type 'commands' to list them")
        path, node, rest = [tokens[0]], command, tokens[1:]
        while rest:
            sub = next(
                (
                    o
                    for o in node.get("options", [])
                    if o.get("type") in (1, 2) and o["name"] == rest[0]
                ),
                None,
            )
            if sub is None:
                break
            path.append(rest.pop(0))
            node = sub
        definitions = {o["name"]: o for o in node.get("options", [])}
        options: dict[str, Any] = {}
        loose: list[str] = []
        for token in rest:
            name, sep, value = token.partition(":")
            if sep and name in definitions:
                options[name] = _value(value)
            else:
                loose.append(token)
        if loose:
            free = [o for o in node.get("options", []) if o["name"] not in options]
            if not free:
                raise ValueError(f"/{' '.join(path)} takes no more options")
            first = free[0]
            joined = " ".join(loose)
            options[first["name"]] = joined if first.get("type") == 3 else _value(joined)
        focused = None
        for name, value in options.items():
            if (
                isinstance(value, str)
                and value.endswith("?")
                and definitions[name].get("autocomplete")
            ):
                focused = name
                options[name] = value[:-1]
        return " ".join(path), options, focused


def _walk(components: Any) -> Iterator[dict[str, Any]]:
    for component in components or []:
        if not isinstance(component, dict):
            continue
        yield component
        yield from _walk(component.get("components"))
        for key in ("component", "accessory"):
            if isinstance(component.get(key), dict):
                yield from _walk([component[key]])


def _read_lines(queue: asyncio.Queue[str | None], stream: TextIO) -> threading.Thread:
    """Lines of ``stream`` into ``queue`` (None at the end), read by a daemon thread.

    Not the loop's executor: a thread blocked in ``readline`` after ``exit`` would keep the
    process alive until the terminal closed its input.
    """
    loop = asyncio.get_running_loop()

    def read() -> None:
        while True:
            try:
                line: str | None = stream.readline() or None
            except (OSError, ValueError):
                line = None
            try:
                loop.call_soon_threadsafe(queue.put_nowait, line)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                return
            if line is None:
                return

    thread = threading.Thread(target=read, name="playground-input", daemon=True)
    thread.start()
    return thread


async def playground_main(
    settings: Settings,
    stdin: TextIO,
    out: TextIO,
    *,
    clock: Clock | None = None,
    log_path: Path | None = None,
) -> int:
    clock = clock or make_clock(settings)
    log_path = log_path or playground_log_path(settings)
    token = settings.discord_token.get_secret_value() if settings.discord_token else ""

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    root = logging.getLogger()
    ours = any(isinstance(h, WarningNotices) for h in root.handlers)
    with nullcontext() if ours else logs_to_file(log_path, say, [token]):
        # Discord's own "now" (for refusing scheduled events in the past) is the bot's clock.
        async with (
            DiscordSimulator(now=clock.now) as sim,
            LocalDiscord(settings, clock, simulator=sim) as local,
        ):
            assert local.services is not None
            # A forum to rehearse `/setup posters channel:#posters` in (a thread per paper);
            # the bot may add its session tags and lock cancelled posts there.
            sim.add_forum("posters")
            sim.set_bot_overwrite("posters", allow=Perm.MANAGE_CHANNELS | Perm.MANAGE_THREADS)
            zone = (
                local.services.program.snapshot.workshop.zone
                if local.services.program.loaded
                else ZoneInfo("UTC")
            )
            pg = Playground(local, out, zone, clock)
            sim.state.listeners.append(pg.on_event)
            notices = {h: h.say for h in root.handlers if isinstance(h, WarningNotices)}
            for handler in notices:
                handler.say = pg.interject
            pg.say(
                f"workshop-bot playground: a local Discord server '{sim.state.guild.name}' with "
                f"the bot and you (an organizer). Type help, or /about."
            )
            pg.say(
                f"Discord times are shown in {pg._zone_note(zone)}: tz ZONE shows another. "
                f"Logs go to {log_path}."
            )
            hint = rehearsal_hint(local, clock)
            if hint:
                pg.say(hint)
            queue: asyncio.Queue[str | None] = asyncio.Queue()
            _read_lines(queue, stdin)
            try:
                while True:
                    if out.isatty():
                        print(pg.prompt(), end="", file=out, flush=True)
                    pg.waiting = True
                    line = await queue.get()
                    pg.waiting = False
                    if line is None or not await pg.handle(line):
                        break
            finally:
                for handler, before in notices.items():
                    handler.say = before
            pg.say("bye")
    return 0


def run_playground(settings: Settings, db_path: Path = PLAYGROUND_DB) -> int:
    """Entry point of ``workshop-bot playground`` (and ``run`` without a token)."""
    if settings.database_url == Settings.model_fields["database_url"].default:
        # Keep play data (fake users' reminders) out of the real database.
        settings = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{db_path}"})
    configure_logging(settings.log_level)
    log_path = playground_log_path(settings)

    def say(text: str) -> None:
        print(text, flush=True)

    # Around the whole event loop: what is logged while it shuts down goes to the file too.
    token = settings.discord_token.get_secret_value() if settings.discord_token else ""
    with logs_to_file(log_path, say, [token]):
        try:
            return asyncio.run(playground_main(settings, sys.stdin, sys.stdout, log_path=log_path))
        except KeyboardInterrupt:
            return 0
