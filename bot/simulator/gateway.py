"""The websocket gateway: HELLO, IDENTIFY/READY, RESUME, heartbeats and dispatches with sequences."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .core import SimState
from .models import Stats

_log = logging.getLogger(__name__)

GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
GUILD_SCHEDULED_EVENTS = 1 << 16

# Dispatches kept per session for RESUME (Discord keeps a bounded backlog too).
BACKLOG = 2000


@dataclass
class GatewaySession:
    session_id: str
    intents: int
    seq: int = 0
    ws: web.WebSocketResponse | None = None
    backlog: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=BACKLOG))
    invalid: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))


class Gateway:
    """Serves the bot's websocket connections; one session per IDENTIFY."""

    def __init__(
        self,
        state: SimState,
        stats: Stats,
        *,
        token: Callable[[], str],
        url: Callable[[], str],
        heartbeat_interval: float,
        problem: Callable[[str], None],
        notify: Callable[[], None],
    ) -> None:
        self._state = state
        self._stats = stats
        self._token = token
        self._url = url
        self._heartbeat_ms = int(heartbeat_interval * 1000)
        self._problem = problem
        self._notify = notify
        self.sessions: dict[str, GatewaySession] = {}
        self._sockets: set[web.WebSocketResponse] = set()
        self._tasks: set[asyncio.Task[int]] = set()
        self.ready = asyncio.Event()
        self.resumed = asyncio.Event()
        state.listeners.append(self._on_state_event)

    # -- connection handling ----------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        # compress=zlib-stream is requested but discord.py only inflates binary frames:
        # plain text frames are always understood.
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        self._sockets.add(ws)
        session: GatewaySession | None = None
        try:
            await ws.send_str(
                _dumps(
                    {
                        "op": 10,
                        "d": {"heartbeat_interval": self._heartbeat_ms},
                        "s": None,
                        "t": None,
                    }
                )
            )
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                payload = json.loads(msg.data)
                op = payload.get("op")
                data = payload.get("d")
                if op == 1:
                    await ws.send_str(_dumps({"op": 11}))
                elif op == 2:
                    session = await self._identify(ws, data)
                elif op == 6:
                    session = await self._resume(ws, data)
                elif op == 8:
                    await self._chunk(session, data)
                elif op in (3, 4):
                    continue  # presence and voice state updates: accepted, nothing to do
                else:
                    self._problem(f"gateway: unexpected opcode {op}")
        finally:
            self._sockets.discard(ws)
            if session is not None and session.ws is ws:
                session.ws = None
                # A clean close (1000/1001) ends the session; anything else stays resumable.
                if ws.close_code in (1000, 1001):
                    session.invalid = True
        return ws

    async def _identify(
        self, ws: web.WebSocketResponse, data: dict[str, Any]
    ) -> GatewaySession | None:
        if data.get("token") != self._token():
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        self._stats.identifies += 1
        session = GatewaySession(
            session_id=secrets.token_hex(16), intents=int(data.get("intents", 0))
        )
        self.sessions[session.session_id] = session
        session.ws = ws
        state = self._state
        ready: dict[str, Any] = {
            "v": 10,
            "user": {
                **state.bot.user_payload(),
                "verified": True,
                "mfa_enabled": False,
                "email": None,
            },
            "guilds": [{"id": str(state.guild.id), "unavailable": True}],
            "session_id": session.session_id,
            "session_type": "normal",
            # Must point back here: discord.py resumes at this URL, and it stays on loopback.
            "resume_gateway_url": self._url(),
            "application": {"id": str(state.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
        }
        if "shard" in data:
            ready["shard"] = data["shard"]
        await self._send_dispatch(session, "READY", ready)
        if session.intents & GUILDS:
            guild = state.guild_create_payload(with_members=bool(session.intents & GUILD_MEMBERS))
            await self._send_dispatch(session, "GUILD_CREATE", guild)
        self.ready.set()
        self._notify()
        return session

    async def _resume(
        self, ws: web.WebSocketResponse, data: dict[str, Any]
    ) -> GatewaySession | None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or session.invalid or data.get("token") != self._token():
            # Not resumable: discord.py answers by identifying again.
            await ws.send_str(_dumps({"op": 9, "d": False}))
            return None
        old = session.ws
        session.ws = ws
        if old is not None and not old.closed:
            await old.close(code=4000)
        since = int(data.get("seq") or 0)
        async with session.lock:
            for payload in list(session.backlog):
                if payload["s"] > since:
                    await ws.send_str(_dumps(payload))
        await self._send_dispatch(session, "RESUMED", {})
        self._stats.resumes += 1
        self.resumed.set()
        self._notify()
        return session

    async def _chunk(self, session: GatewaySession | None, data: dict[str, Any]) -> None:
        if session is None:
            return
        members = self._state.guild_members()
        # op 8 filters: a username prefix ("" = everyone) or explicit ids, capped by limit.
        if data.get("user_ids"):
            wanted = {int(u) for u in data["user_ids"]}
            members = [m for m in members if m.id in wanted]
        else:
            query = str(data.get("query") or "").lower()
            members = [
                m
                for m in members
                if m.username.lower().startswith(query)
                or (m.global_name or "").lower().startswith(query)
            ]
        if data.get("limit"):
            members = members[: int(data["limit"])]
        chunk: dict[str, Any] = {
            "guild_id": str(self._state.guild.id),
            "members": [m.member_payload() for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        await self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)

    # -- dispatching ------------------------------------------------------------------------------

    async def _send_dispatch(
        self, session: GatewaySession, event: str, data: dict[str, Any]
    ) -> None:
        async with session.lock:
            session.seq += 1
            payload = {"op": 0, "t": event, "s": session.seq, "d": data}
            session.backlog.append(payload)
            self._stats.gateway_dispatches[event] += 1
            ws = session.ws
            if ws is not None and not ws.closed:
                try:
                    await ws.send_str(_dumps(payload))
                except ConnectionError:
                    # The backlog still has it: a RESUME replays it.
                    _log.debug("gateway send failed for %s", event)

    def live_sessions(self) -> list[GatewaySession]:
        return [s for s in self.sessions.values() if not s.invalid]

    def connected(self) -> bool:
        return any(s.ws is not None and not s.ws.closed for s in self.live_sessions())

    async def dispatch(self, event: str, data: dict[str, Any], *, intent: int | None = None) -> int:
        """Send an event to every live session (buffered for resume while disconnected)."""
        sent = 0
        for session in self.live_sessions():
            if intent is not None and not session.intents & intent:
                continue
            await self._send_dispatch(session, event, self._for_session(session, event, data))
            sent += 1
        return sent

    def _for_session(
        self, session: GatewaySession, event: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        if event not in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
            return data
        state = self._state
        channel = state.channels.get(int(data["channel_id"]))
        out = dict(data)
        author_id = int(data["author"]["id"])
        if channel is not None and channel.guild_id is not None:
            out["guild_id"] = str(channel.guild_id)
            author = state.members.get(author_id)
            if author is not None and "webhook_id" not in data:
                out["member"] = author.member_payload(with_user=False)
        # Without the privileged MESSAGE_CONTENT intent Discord blanks other people's messages,
        # except DMs and messages mentioning the bot.
        mentioned = any(int(m["id"]) == state.bot.id for m in data.get("mentions", []))
        is_dm = channel is not None and channel.is_dm
        if (
            not session.intents & MESSAGE_CONTENT
            and author_id != state.bot.id
            and not is_dm
            and not mentioned
        ):
            out.update(content="", embeds=[], attachments=[], components=[])
        return out

    def _on_state_event(self, event: str, data: dict[str, Any]) -> None:
        if event.startswith("SIM_") or not self.live_sessions():
            return
        intent = _intent_for(event, self._state, data)
        task = asyncio.get_running_loop().create_task(self.dispatch(event, data, intent=intent))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until state-change dispatches queued so far are sent (keeps event order testable)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- faults -----------------------------------------------------------------------------------

    async def drop(self, code: int = 4000) -> int:
        """Close every live socket with ``code`` (4000 = unknown error: discord.py resumes)."""
        self.resumed.clear()
        closed = 0
        for session in self.live_sessions():
            ws = session.ws
            if ws is not None and not ws.closed:
                session.ws = None
                await ws.close(code=code, message=b"simulated disconnect")
                closed += 1
        return closed

    async def send_op(self, op: int, data: Any) -> None:
        for session in self.live_sessions():
            ws = session.ws
            if ws is not None and not ws.closed:
                await ws.send_str(_dumps({"op": op, "d": data, "s": None, "t": None}))

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"simulator stopping")
        for task in list(self._tasks):
            task.cancel()


def _intent_for(event: str, state: SimState, data: dict[str, Any]) -> int | None:
    if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "CHANNEL_PINS_UPDATE"):
        channel = state.channels.get(int(data["channel_id"]))
        if event == "CHANNEL_PINS_UPDATE":
            return DIRECT_MESSAGES if channel is not None and channel.is_dm else GUILDS
        return DIRECT_MESSAGES if channel is not None and channel.is_dm else GUILD_MESSAGES
    if event == "THREAD_MEMBERS_UPDATE":
        # Without the members intent Discord only tells the bot about its own membership.
        changed = [m["user_id"] for m in data.get("added_members", [])]
        changed += data.get("removed_member_ids", [])
        return GUILDS if changed == [str(state.bot.id)] else GUILD_MEMBERS
    if event.startswith("THREAD_"):
        return GUILDS
    if event.startswith("GUILD_SCHEDULED_EVENT_"):
        return GUILD_SCHEDULED_EVENTS
    if event.startswith("GUILD_MEMBER_"):
        return GUILD_MEMBERS
    if event.startswith(("CHANNEL_", "GUILD_ROLE_", "GUILD_")):
        return GUILDS
    return None
