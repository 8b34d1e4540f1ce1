"""A local Discord (REST + gateway) for end-to-end tests of discord.py bots; see server.py."""

from .core import ApiError, SimMember, SimState, Upload
from .faults import Fault, Faults
from .models import (
    BOT_PERMISSIONS,
    ChannelType,
    InteractionRecord,
    Perm,
    SimChannel,
    SimMessage,
    SimRole,
    Stats,
    ThreadState,
)
from .ratelimit import RateLimitConfig, RouteLimit
from .render import format_timestamp, render_inline, render_message
from .server import DiscordSimulator
from .users import (
    CommandNotAvailable,
    InteractionResult,
    InteractionTimeout,
    SimulatorError,
    SimUser,
)
from .validation import SpecValidator, spec_template

__all__ = [
    "BOT_PERMISSIONS",
    "ApiError",
    "ChannelType",
    "CommandNotAvailable",
    "DiscordSimulator",
    "Fault",
    "Faults",
    "InteractionRecord",
    "InteractionResult",
    "InteractionTimeout",
    "Perm",
    "RateLimitConfig",
    "RouteLimit",
    "SimChannel",
    "SimMember",
    "SimMessage",
    "SimRole",
    "SimState",
    "SimUser",
    "SimulatorError",
    "SpecValidator",
    "Stats",
    "ThreadState",
    "Upload",
    "format_timestamp",
    "render_inline",
    "render_message",
    "spec_template",
]
