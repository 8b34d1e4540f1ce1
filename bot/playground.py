"""The playground: the local Discord, the real bot, and a prompt to use it as an attendee would.

Type a slash command (``/schedule now``, ``/author name:bengio`` or just ``/author bengio``),
``click LABEL`` to press a button on the last answer, ``help``, or ``exit``. Channel posts
and DMs are printed as they arrive.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot.app import make_clock
from bot.local import LocalDiscord
from bot.logs import configure_logging
from bot.settings import PROJECT_ROOT, Settings
from bot.simulator import (
    DiscordSimulator,
    InteractionResult,
    SimulatorError,
    SimUser,
    render_message,
)

PLAYGROUND_DB = PROJECT_ROOT / "data" / "playground.db"

HELP = """\
Type a slash command as in Discord, options as name:value (quote values with spaces):
  /about
  /schedule now
  /author name:"yanzhi wang"      (or: /author yanzhi wang)
  click Next                     press a button on the last answer
  commands                       list the bot's slash commands
  exit                           leave (Ctrl-D works too)
Channel posts and DMs appear as they arrive."""


def _value(text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


class Playground:
    def __init__(self, local: LocalDiscord, out: TextIO, zone: ZoneInfo) -> None:
        self.local = local
        self.out = out
        self.zone = zone
        self.me: SimUser = local.sim.add_user("you", roles=["Organizer"])
        self.last: InteractionResult | None = None

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def show(self, result: InteractionResult) -> None:
        self.say(result.text(tz=self.zone) or "(no visible answer)")

    def on_event(self, event: str, data: dict[str, Any]) -> None:
        """Posts the bot makes on its own (announcements, DMs), not replies to the prompt."""
        if event != "MESSAGE_CREATE" or data.get("interaction_metadata") or data.get("webhook_id"):
            return
        channel = self.local.sim.state.channels.get(int(data["channel_id"]))
        where = (
            "DM" if channel is not None and channel.is_dm else f"#{getattr(channel, 'name', '?')}"
        )
        self.say(f"\n--- new message in {where} ---")
        self.say(render_message(data, tz=self.zone, names=self.local.sim.names()))

    def command_names(self) -> list[str]:
        out: list[str] = []
        for command in self.local.sim.commands():
            subs = [o for o in command.get("options", []) if o.get("type") in (1, 2)]
            if not subs:
                out.append(f"/{command['name']}")
            for sub in subs:
                out.append(f"/{command['name']} {sub['name']}")
        return sorted(out)

    async def handle(self, line: str) -> bool:
        """Run one line; False means leave."""
        line = line.strip()
        if not line:
            return True
        if line in ("exit", "quit"):
            return False
        if line == "help":
            self.say(HELP)
            return True
        if line == "commands":
            self.say("\n".join(self.command_names()))
            return True
        try:
            if line.startswith("click "):
                if self.last is None:
                    self.say("Nothing to click yet.")
                    return True
                self.last = await self.last.click(line.removeprefix("click ").strip())
                self.show(self.last)
            elif line.startswith("/"):
                path, options = self._parse(line[1:])
                self.last = await self.me.slash(path, options=options)
                self.show(self.last)
            else:
                self.say("Commands start with '/'; type help.")
        except (SimulatorError, TimeoutError, ValueError, LookupError) as exc:
            self.say(f"! {exc}")
        return True

    def _parse(self, text: str) -> tuple[str, dict[str, Any]]:
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
        options: dict[str, Any] = {}
        loose: list[str] = []
        for token in rest:
            name, sep, value = token.partition(":")
            if sep and any(o["name"] == name for o in node.get("options", [])):
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
        return " ".join(path), options


async def _read_lines(queue: asyncio.Queue[str | None], stream: TextIO) -> None:
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, stream.readline)
        if not line:
            await queue.put(None)
            return
        await queue.put(line)


async def playground_main(settings: Settings, stdin: TextIO, out: TextIO) -> int:
    clock = make_clock(settings)
    async with DiscordSimulator() as sim, LocalDiscord(settings, clock, simulator=sim) as local:
        assert local.services is not None
        zone = (
            local.services.program.snapshot.workshop.zone
            if local.services.program.loaded
            else ZoneInfo("UTC")
        )
        pg = Playground(local, out, zone)
        sim.state.listeners.append(pg.on_event)
        pg.say(
            f"workshop-bot playground: a local Discord server '{sim.state.guild.name}' with "
            f"the bot and you. Type help, or /about."
        )
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        reader = asyncio.create_task(_read_lines(queue, stdin))
        try:
            while True:
                if out.isatty():
                    print("> ", end="", file=out, flush=True)
                line = await queue.get()
                if line is None or not await pg.handle(line):
                    break
        finally:
            reader.cancel()
        pg.say("bye")
    return 0


def run_playground(settings: Settings, db_path: Path = PLAYGROUND_DB) -> int:
    """Entry point of ``workshop-bot playground`` (and ``run`` without a token)."""
    if settings.database_url == Settings.model_fields["database_url"].default:
        # Keep play data (fake users' reminders) out of the real database.
        settings = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{db_path}"})
    configure_logging("WARNING" if settings.log_level.upper() == "INFO" else settings.log_level)
    try:
        return asyncio.run(playground_main(settings, sys.stdin, sys.stdout))
    except KeyboardInterrupt:
        return 0
