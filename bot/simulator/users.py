"""Simulated people: slash commands, autocomplete, clicks, selects and modals, and what they see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import threads
from .core import SimMember, SimState
from .models import InteractionRecord, Perm, SimAttachment, SimChannel, SimMessage
from .render import render_message

if TYPE_CHECKING:
    from .server import DiscordSimulator


class SimulatorError(Exception):
    """A test drove the simulator into something a real Discord client could not do."""


class CommandNotAvailable(SimulatorError):
    """The command does not exist for this user here (Discord would not even show it)."""


class InteractionTimeout(SimulatorError, TimeoutError):
    """The bot did not answer (or did not finish a deferred answer) in time."""


# Application command option types.
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = range(3, 12)
SELECT_TYPES = (3, 5, 6, 7, 8)
# What the values of typed select menus (user, role, mentionable, channel) resolve as.
SELECT_VALUE_TYPE = {5: USER, 6: ROLE, 7: MENTIONABLE, 8: CHANNEL}


def _walk(components: Sequence[Any]) -> Iterator[dict[str, Any]]:
    for component in components:
        if not isinstance(component, dict):
            continue
        yield component
        yield from _walk(component.get("components") or [])
        for key in ("component", "accessory"):
            if isinstance(component.get(key), dict):
                yield from _walk([component[key]])


@dataclass
class SimUser:
    """A member of the simulated guild, driven by a test."""

    member: SimMember
    sim: DiscordSimulator

    # -- identity -------------------------------------------------------------------------------

    @property
    def id(self) -> int:
        return self.member.id

    @property
    def name(self) -> str:
        return self.member.global_name or self.member.username

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    @property
    def roles(self) -> list[str]:
        state = self.sim.state
        return [state.guild.roles[r].name for r in self.member.role_ids if r in state.guild.roles]

    @property
    def dms_open(self) -> bool:
        return self.member.dms_open

    @dms_open.setter
    def dms_open(self, value: bool) -> None:
        self.member.dms_open = value

    @property
    def dm_channel(self) -> SimChannel:
        return self.sim.state.dm_channel_for(self.member)

    @property
    def dms(self) -> list[dict[str, Any]]:
        """Messages the bot sent this user in DMs, oldest first."""
        if self.member.dm_channel_id is None:
            return []
        channel = self.sim.state.channels[self.member.dm_channel_id]
        return [
            m.data
            for m in self.sim.state.channel_messages(channel, viewer=self.id)
            if int(m.data["author"]["id"]) == self.sim.state.bot.id
        ]

    def __repr__(self) -> str:
        return f"<SimUser {self.name} id={self.id}>"

    # -- actions --------------------------------------------------------------------------------

    async def slash(
        self,
        command: str,
        /,
        *,
        channel: str | int | None = None,
        dm: bool = False,
        options: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        wait: bool = True,
        **kwargs: Any,
    ) -> InteractionResult:
        """Run ``/command [group] [sub]`` with typed options (``options=`` for names that clash)."""
        values = {**(options or {}), **kwargs}
        target = self._channel(channel, dm)
        data = build_command_data(
            self.sim.state,
            self,
            command,
            values,
            channel=target,
            focused=None,
            claimed={"channel": channel is not None, "dm": dm, "timeout": timeout is not None},
        )
        return await self.sim.interact(self, 2, target, data, timeout=timeout, wait=wait)

    async def autocomplete(
        self,
        command: str,
        /,
        *,
        focused: str | None = None,
        channel: str | int | None = None,
        dm: bool = False,
        options: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> list[dict[str, Any]]:
        """Type into an autocomplete option; returns the choices the bot offered."""
        values = {**(options or {}), **kwargs}
        target = self._channel(channel, dm)
        data = build_command_data(
            self.sim.state,
            self,
            command,
            values,
            channel=target,
            focused=focused or "",
            claimed={"channel": channel is not None, "dm": dm, "timeout": timeout is not None},
        )
        result = await self.sim.interact(self, 4, target, data, timeout=timeout, wait=True)
        return result.choices or []

    async def click(
        self,
        target: InteractionResult | SimMessage | Mapping[str, Any],
        label: str | None = None,
        *,
        custom_id: str | None = None,
        timeout: float | None = None,
        wait: bool = True,
    ) -> InteractionResult:
        """Press a button (by label or custom_id) on a message or an interaction's messages."""
        message, button = self._find_component(target, label=label, custom_id=custom_id, kinds=(2,))
        if button.get("disabled"):
            raise SimulatorError(f"button {button.get('label')!r} is disabled")
        if button.get("style") in (5, 6):
            raise SimulatorError(
                f"button {button.get('label')!r} is a link/premium button, not an interaction"
            )
        data = {"custom_id": button["custom_id"], "component_type": 2}
        channel = self.sim.state.channels[message.channel_id]
        return await self.sim.interact(
            self, 3, channel, data, source=message, timeout=timeout, wait=wait
        )

    async def select(
        self,
        target: InteractionResult | SimMessage | Mapping[str, Any],
        custom_id: str,
        values: Sequence[Any],
        *,
        timeout: float | None = None,
        wait: bool = True,
    ) -> InteractionResult:
        """Choose ``values`` in the select menu ``custom_id``."""
        message, menu = self._find_component(
            target, label=None, custom_id=custom_id, kinds=SELECT_TYPES
        )
        if menu.get("disabled"):
            raise SimulatorError(f"select {custom_id!r} is disabled")
        lo, hi = int(menu.get("min_values", 1)), int(menu.get("max_values", 1))
        if not lo <= len(values) <= hi:
            raise SimulatorError(f"select {custom_id!r} takes {lo}..{hi} values, got {len(values)}")
        kind = int(menu["type"])
        state = self.sim.state
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": kind}
        if kind == 3:
            allowed = [o["value"] for o in menu.get("options", [])]
            for value in values:
                if value not in allowed:
                    raise SimulatorError(f"{value!r} is not an option of {custom_id!r}: {allowed}")
            data["values"] = [str(v) for v in values]
        else:
            channel = state.channels[message.channel_id]
            resolved: dict[str, dict[str, Any]] = {}
            ids = [
                _resolve_value(state, self, SELECT_VALUE_TYPE[kind], v, resolved, channel)
                for v in values
            ]
            data["values"] = [str(i) for i in ids]
            data["resolved"] = resolved
        channel = state.channels[message.channel_id]
        return await self.sim.interact(
            self, 3, channel, data, source=message, timeout=timeout, wait=wait
        )

    async def submit_modal(
        self,
        result: InteractionResult,
        values: Mapping[str, Any],
        *,
        timeout: float | None = None,
        wait: bool = True,
    ) -> InteractionResult:
        """Fill the modal ``result`` opened (text inputs by custom_id) and submit it."""
        modal = result.modal
        if modal is None:
            raise SimulatorError("that interaction did not open a modal")
        components = [_submitted(c, values) for c in modal.get("components", [])]
        unknown = set(values) - {
            c["custom_id"] for c in _walk(modal.get("components", [])) if "custom_id" in c
        }
        if unknown:
            raise SimulatorError(
                f"modal {modal.get('custom_id')!r} has no inputs {sorted(unknown)}"
            )
        data = {
            "custom_id": modal["custom_id"],
            "components": [c for c in components if c is not None],
        }
        origin = result.record
        channel = self.sim.state.channels[origin.channel_id]
        source = self.sim.state.messages.get(origin.source_message_id or 0)
        return await self.sim.interact(
            self, 5, channel, data, source=source, opened_by=origin, timeout=timeout, wait=wait
        )

    async def say(self, channel: str | int, content: str) -> SimMessage:
        """Post a plain message as this user (dispatched to the bot as MESSAGE_CREATE)."""
        state = self.sim.state
        target = state.channel(channel)
        if target.is_thread:
            threads.before_post(state, target, self.member)
        message = state.create_message(target, self.member, {"content": content})
        await self.sim.gateway.drain()
        return message

    # -- helpers --------------------------------------------------------------------------------

    def _channel(self, channel: str | int | None, dm: bool) -> SimChannel:
        state = self.sim.state
        if dm:
            return state.dm_channel_for(self.member)
        if channel is None:
            names = [state.channels[c].name for c in state.guild.channel_ids]
            channel = "general" if "general" in names else state.guild.channel_ids[0]
        return state.channel(channel)

    def _find_component(
        self,
        target: InteractionResult | SimMessage | Mapping[str, Any],
        *,
        label: str | None,
        custom_id: str | None,
        kinds: tuple[int, ...],
    ) -> tuple[SimMessage, dict[str, Any]]:
        if label is None and custom_id is None:
            raise SimulatorError("give a label or a custom_id")
        state = self.sim.state
        if isinstance(target, InteractionResult):
            candidates = [m for m in target.messages_newest_first()]
        elif isinstance(target, SimMessage):
            candidates = [target]
        else:
            candidates = [state.messages[int(target["id"])]]
        seen: list[str] = []
        for message in candidates:
            if message.deleted:
                continue
            for component in _walk(message.data.get("components") or []):
                if component.get("type") not in kinds:
                    continue
                seen.append(str(component.get("label") or component.get("custom_id")))
                if custom_id is not None and component.get("custom_id") != custom_id:
                    continue
                if label is not None and component.get("label") != label:
                    continue
                return message, component
        raise SimulatorError(
            f"no component label={label!r} custom_id={custom_id!r}; the message has {seen}"
        )


def _submitted(component: dict[str, Any], values: Mapping[str, Any]) -> dict[str, Any] | None:
    """What Discord sends back for one modal component (same nesting, values filled in)."""
    kind = component.get("type")
    if kind == 1:
        children = [_field(c, values) for c in component.get("components", [])]
        out: dict[str, Any] = {"type": 1, "components": [c for c in children if c is not None]}
    elif kind == 18:
        inner = _field(component["component"], values)
        if inner is None:
            return None
        out = {"type": 18, "component": inner}
    else:
        return None
    if "id" in component:
        out["id"] = component["id"]
    return out


def _field(component: dict[str, Any], values: Mapping[str, Any]) -> dict[str, Any] | None:
    custom_id = component.get("custom_id")
    if custom_id is None:
        return None
    kind = component.get("type")
    out: dict[str, Any] = {"type": kind, "custom_id": custom_id}
    if "id" in component:
        out["id"] = component["id"]
    required = component.get("required", True)
    if kind == 4:
        value = str(values.get(custom_id, component.get("value") or ""))
        if required and not value:
            raise SimulatorError(f"text input {custom_id!r} is required")
        lo, hi = component.get("min_length"), component.get("max_length")
        if value and ((lo is not None and len(value) < lo) or (hi is not None and len(value) > hi)):
            raise SimulatorError(
                f"text input {custom_id!r} needs {lo}..{hi} characters, got {len(value)}"
            )
        out["value"] = value
    elif kind in SELECT_TYPES:
        chosen = values.get(custom_id, [])
        out["values"] = [str(v) for v in ([chosen] if isinstance(chosen, str) else chosen)]
    else:
        return None
    return out


# -- application command payloads --------------------------------------------------------------


def command_available(
    state: SimState, member: SimMember, command: dict[str, Any], channel: SimChannel
) -> bool:
    if channel.is_dm:
        contexts = command.get("contexts")
        if command.get("guild_id") is not None or command.get("dm_permission") is False:
            return False
        return contexts is None or 1 in contexts
    contexts = command.get("contexts")
    if contexts is not None and 0 not in contexts:
        return False
    needed = command.get("default_member_permissions")
    if needed is None:
        return True
    perms = state.base_permissions(member)
    # "0" hides the command from everyone but administrators.
    return bool(perms & Perm.ADMINISTRATOR) or (
        (perms & int(needed)) == int(needed) and int(needed) != 0
    )


def find_command(
    state: SimState, user: SimUser, qualified: str, channel: SimChannel
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The top-level command and the chain of subcommand-group/subcommand options below it."""
    parts = qualified.strip().lstrip("/").split()
    if not parts:
        raise SimulatorError("empty command name")
    pools = (
        [state.global_commands] if channel.is_dm else [state.guild_commands, state.global_commands]
    )
    command = None
    for pool in pools:
        command = next((c for c in pool if c["name"] == parts[0] and c.get("type", 1) == 1), None)
        if command is not None:
            break
    if command is None:
        known = sorted({c["name"] for pool in pools for c in pool})
        where = (
            "in DMs (guild commands are not available there)" if channel.is_dm else "in the guild"
        )
        raise CommandNotAvailable(f"no slash command {parts[0]!r} {where}; synced: {known}")
    if not command_available(state, user.member, command, channel):
        raise CommandNotAvailable(f"/{parts[0]} is not available to {user.name} here")
    chain: list[dict[str, Any]] = []
    node = command
    for part in parts[1:]:
        found = next(
            (
                o
                for o in node.get("options", [])
                if o["name"] == part and o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)
            ),
            None,
        )
        if found is None:
            subs = [
                o["name"]
                for o in node.get("options", [])
                if o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)
            ]
            raise SimulatorError(f"/{qualified}: no subcommand {part!r}; has {subs}")
        chain.append(found)
        node = found
    if any(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in node.get("options", [])):
        subs = [o["name"] for o in node.get("options", [])]
        raise SimulatorError(f"/{qualified} needs a subcommand: {subs}")
    return command, chain


def _resolve_value(
    state: SimState,
    user: SimUser,
    kind: int,
    value: Any,
    resolved: dict[str, dict[str, Any]],
    channel: SimChannel,
) -> int:
    """Turn a user/role/channel reference into its id and add it to ``resolved``."""
    if kind in (USER, MENTIONABLE):
        member: SimMember | None = None
        if isinstance(value, SimUser):
            member = value.member
        elif isinstance(value, SimMember):
            member = value
        elif isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            member = state.members.get(int(value))
        elif isinstance(value, str):
            try:
                member = state.member_by_name(value.lstrip("@"))
            except KeyError:
                member = None
        if member is not None:
            resolved.setdefault("users", {})[str(member.id)] = member.user_payload()
            if member.in_guild and not channel.is_dm:
                payload = member.member_payload(with_user=False)
                payload["permissions"] = str(state.permissions_in(member, channel))
                resolved.setdefault("members", {})[str(member.id)] = payload
            return member.id
        if kind == USER:
            raise SimulatorError(f"no user {value!r}")
    if kind in (ROLE, MENTIONABLE):
        try:
            role = state.role(value if isinstance(value, (str, int)) else str(value))
        except KeyError as exc:
            raise SimulatorError(f"no role or user {value!r}") from exc
        resolved.setdefault("roles", {})[str(role.id)] = role.to_payload()
        return role.id
    if kind == CHANNEL:
        try:
            target = state.channel(
                value if isinstance(value, (str, int, SimChannel)) else str(value)
            )
        except KeyError as exc:
            raise SimulatorError(str(exc)) from exc
        payload = state.channel_payload(target)
        payload["permissions"] = str(state.permissions_in(user.member, target))
        resolved.setdefault("channels", {})[str(target.id)] = payload
        return target.id
    raise SimulatorError(f"cannot resolve {value!r} as option type {kind}")


def _typed(
    state: SimState,
    user: SimUser,
    option: dict[str, Any],
    value: Any,
    resolved: dict[str, dict[str, Any]],
    channel: SimChannel,
) -> Any:
    kind = option["type"]
    name = option["name"]
    if kind == STRING:
        value = str(value)
        lo, hi = option.get("min_length"), option.get("max_length")
        if (lo is not None and len(value) < lo) or (hi is not None and len(value) > hi):
            raise SimulatorError(f"option {name!r} needs {lo}..{hi} characters")
    elif kind == INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SimulatorError(f"option {name!r} is an integer, got {value!r}")
    elif kind == NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SimulatorError(f"option {name!r} is a number, got {value!r}")
    elif kind == BOOLEAN:
        if not isinstance(value, bool):
            raise SimulatorError(f"option {name!r} is a boolean, got {value!r}")
    elif kind in (USER, ROLE, CHANNEL, MENTIONABLE):
        target = _resolve_value(state, user, kind, value, resolved, channel)
        if kind == CHANNEL and option.get("channel_types"):
            ctype = state.channels[target].type
            if ctype not in option["channel_types"]:
                raise SimulatorError(
                    f"option {name!r} accepts channel types {option['channel_types']}"
                )
        return str(target)
    elif kind == ATTACHMENT:
        filename, blob = value
        attachment = SimAttachment(
            id=state.ids.next(),
            filename=filename,
            data=bytes(blob),
            content_type="application/octet-stream",
        )
        state.uploads[attachment.id] = attachment
        resolved.setdefault("attachments", {})[str(attachment.id)] = state.attachment_payload(
            channel.id, attachment
        )
        return str(attachment.id)
    if kind in (INTEGER, NUMBER):
        lo, hi = option.get("min_value"), option.get("max_value")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise SimulatorError(f"option {name!r} must be within {lo}..{hi}, got {value}")
    choices = option.get("choices")
    if choices and value not in [c["value"] for c in choices]:
        raise SimulatorError(
            f"option {name!r} must be one of {[c['value'] for c in choices]}, got {value!r}"
        )
    return value


def build_command_data(
    state: SimState,
    user: SimUser,
    qualified: str,
    values: Mapping[str, Any],
    *,
    channel: SimChannel,
    focused: str | None,
    claimed: Mapping[str, bool] | None = None,
) -> dict[str, Any]:
    """``data`` of an APPLICATION_COMMAND (focused None) or AUTOCOMPLETE interaction.

    ``claimed`` names the keyword arguments the caller consumed itself (``channel=`` is where the
    command runs): if the command has an option of that name, the call is ambiguous.
    """
    command, chain = find_command(state, user, qualified, channel)
    leaf = chain[-1] if chain else command
    definitions = {o["name"]: o for o in leaf.get("options", [])}
    for name, given in (claimed or {}).items():
        if given and name in definitions and name not in values:
            raise SimulatorError(
                f"/{qualified} has an option {name!r}, but {name}= is the simulator's own argument: "
                f"pass the option as options={{{name!r}: ...}}"
            )
    unknown = set(values) - set(definitions)
    if unknown:
        raise SimulatorError(
            f"/{qualified} has no options {sorted(unknown)}; it has {list(definitions)}"
        )
    if focused is not None:
        candidates = [n for n in values if definitions[n].get("autocomplete")]
        focused = focused or (candidates[-1] if candidates else "")
        if focused not in definitions or not definitions[focused].get("autocomplete"):
            raise SimulatorError(f"/{qualified}: option {focused!r} has no autocomplete")
    resolved: dict[str, dict[str, Any]] = {}
    options: list[dict[str, Any]] = []
    for name, option in definitions.items():
        if name not in values:
            if option.get("required") and focused is None:
                raise SimulatorError(f"/{qualified}: option {name!r} is required")
            continue
        if name == focused:
            # While typing, Discord sends the raw text of the focused option.
            options.append(
                {"name": name, "type": option["type"], "value": str(values[name]), "focused": True}
            )
            continue
        typed = _typed(state, user, option, values[name], resolved, channel)
        options.append({"name": name, "type": option["type"], "value": typed})
    for node in reversed(chain):
        options = [{"name": node["name"], "type": node["type"], "options": options}]
    data: dict[str, Any] = {
        "id": command["id"],
        "name": command["name"],
        "type": 1,
        "options": options,
    }
    if command.get("guild_id") is not None:
        data["guild_id"] = command["guild_id"]
    if resolved:
        data["resolved"] = resolved
    return data


def interaction_payload(
    state: SimState,
    record: InteractionRecord,
    user: SimMember,
    channel: SimChannel,
    data: dict[str, Any],
    source: SimMessage | None,
) -> dict[str, Any]:
    """The INTERACTION_CREATE body Discord sends for ``record``."""
    payload: dict[str, Any] = {
        "id": str(record.id),
        "application_id": str(state.application_id),
        "type": record.type,
        "data": data,
        "token": record.token,
        "version": 1,
        "locale": "en-US",
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": 10 * 1024 * 1024,
        "app_permissions": str(state.permissions_in(state.bot, channel)),
        "authorizing_integration_owners": {"0": str(state.guild.id)},
        "channel_id": str(channel.id),
    }
    channel_data = state.channel_payload(channel)
    if channel.is_dm:
        payload["user"] = user.user_payload()
        payload["context"] = 1
    else:
        member = user.member_payload()
        member["permissions"] = str(state.permissions_in(user, channel))
        channel_data["permissions"] = member["permissions"]
        payload.update(
            guild_id=str(state.guild.id),
            guild_locale="en-US",
            guild={"id": str(state.guild.id), "locale": "en-US", "features": []},
            member=member,
            context=0,
        )
    payload["channel"] = channel_data
    if source is not None:
        payload["message"] = source.data
    return payload


class InteractionResult:
    """What the user saw after one interaction; live (later edits and followups show up)."""

    def __init__(self, sim: DiscordSimulator, record: InteractionRecord, user: SimUser) -> None:
        self.sim = sim
        self.record = record
        self.user = user

    def __repr__(self) -> str:
        return f"<InteractionResult type={self.type} content={self.content!r}>"

    @property
    def type(self) -> int | None:
        """The callback type the bot answered with (4 message, 5 deferred, 7 update, 9 modal...)."""
        return self.record.response_type

    @property
    def latency(self) -> float | None:
        """Seconds from INTERACTION_CREATE to the bot's callback."""
        r = self.record
        return None if r.responded_at is None else r.responded_at - r.created_at

    @property
    def completion_latency(self) -> float | None:
        """Seconds until the answer was complete (for deferred answers: the edit or followup)."""
        r = self.record
        return None if r.completed_at is None else r.completed_at - r.created_at

    @property
    def message_object(self) -> SimMessage | None:
        mid = self.record.original_message_id
        return None if mid is None else self.sim.state.messages.get(mid)

    @property
    def message(self) -> dict[str, Any] | None:
        """The response message as it is now (None after deletion or for modals/autocomplete)."""
        msg = self.message_object
        return None if msg is None or msg.deleted else msg.data

    @property
    def deleted(self) -> bool:
        msg = self.message_object
        return msg is not None and msg.deleted

    @property
    def content(self) -> str | None:
        return None if self.message is None else self.message.get("content")

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return [] if self.message is None else list(self.message.get("embeds") or [])

    @property
    def components(self) -> list[dict[str, Any]]:
        return [] if self.message is None else list(self.message.get("components") or [])

    @property
    def flags(self) -> int:
        return 0 if self.message is None else int(self.message.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & 64)

    @property
    def modal(self) -> dict[str, Any] | None:
        return self.record.response_data if self.record.response_type == 9 else None

    @property
    def choices(self) -> list[dict[str, Any]] | None:
        if self.record.response_type != 8:
            return None
        return list((self.record.response_data or {}).get("choices") or [])

    @property
    def attachments(self) -> dict[str, bytes]:
        """Files of the response message, by filename."""
        msg = self.message_object
        return {} if msg is None or msg.deleted else msg.files

    @property
    def followups(self) -> list[dict[str, Any]]:
        """Followup messages (excluding the response itself), oldest first."""
        state = self.sim.state
        result = []
        for mid in self.record.followup_ids:
            msg = state.messages.get(mid)
            if msg is not None and not msg.deleted and mid != self.record.original_message_id:
                result.append(msg.data)
        return result

    def followup_files(self) -> dict[str, bytes]:
        files: dict[str, bytes] = {}
        for mid in self.record.followup_ids:
            msg = self.sim.state.messages.get(mid)
            if msg is not None and not msg.deleted:
                files.update(msg.files)
        return files

    def messages_newest_first(self) -> list[SimMessage]:
        state = self.sim.state
        ids = [*self.record.followup_ids[::-1]]
        if self.record.original_message_id is not None:
            ids.append(self.record.original_message_id)
        return [state.messages[i] for i in ids if i in state.messages]

    async def wait_for_followups(
        self, count: int = 1, *, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        await self.sim.wait_until(
            lambda: len(self.followups) >= count, timeout, f"{count} followup(s)"
        )
        return self.followups

    async def click(
        self, label: str | None = None, *, custom_id: str | None = None, **kwargs: Any
    ) -> InteractionResult:
        return await self.user.click(self, label, custom_id=custom_id, **kwargs)

    async def select(
        self, custom_id: str, values: Sequence[Any], **kwargs: Any
    ) -> InteractionResult:
        return await self.user.select(self, custom_id, values, **kwargs)

    async def submit_modal(self, values: Mapping[str, Any], **kwargs: Any) -> InteractionResult:
        return await self.user.submit_modal(self, values, **kwargs)

    def text(self, *, tz: dt.tzinfo = dt.UTC) -> str:
        """Everything the user sees, as plain text."""
        names = self.sim.names()
        parts: list[str] = []
        if self.modal is not None:
            parts.append(render_modal(self.modal))
        if self.choices is not None:
            parts.append(
                "\n".join(f"  > {c.get('name')}" for c in self.choices) or "  (no choices)"
            )
        msg = self.message_object
        if msg is not None and not msg.deleted:
            parts.append(
                render_message(
                    msg.data, ephemeral=msg.ephemeral_for is not None, tz=tz, names=names
                )
            )
        for mid in self.record.followup_ids:
            follow = self.sim.state.messages.get(mid)
            if follow is not None and not follow.deleted and mid != self.record.original_message_id:
                parts.append(
                    render_message(
                        follow.data, ephemeral=follow.ephemeral_for is not None, tz=tz, names=names
                    )
                )
        return "\n\n".join(parts)


def render_modal(modal: Mapping[str, Any]) -> str:
    lines = [f"[modal] {modal.get('title')}"]
    for component in _walk(modal.get("components") or []):
        if component.get("type") == 4:
            lines.append(f"  {component.get('label') or component.get('custom_id')}: ____")
        elif component.get("type") == 18:
            lines.append(f"  {component.get('label')}")
        elif component.get("type") == 10:
            lines.append(f"  {component.get('content')}")
    return "\n".join(lines)
