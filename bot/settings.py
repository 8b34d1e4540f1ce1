"""The one settings object: environment variables and `.env`, validated once at startup."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROGRAM = PROJECT_ROOT / "data" / "haet2022.yaml"
DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'data' / 'workshop-bot.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        case_sensitive=False,
    )

    discord_token: SecretStr | None = Field(default=None, description="the bot user's token")
    database_url: str = Field(default=DEFAULT_DATABASE_URL)
    # The program: a program file, or a schedule the importers read (frab or pretalx JSON,
    # schedule2, iCalendar), as a path or an http(s) URL. A URL is followed: fetched at start
    # and every PROGRAM_REFRESH_SECONDS, and a change is applied as /program reload does.
    program_file: str = Field(default=str(DEFAULT_PROGRAM))
    program_format: Literal["auto", "program", "frab", "pretalx", "schedule2", "ics"] = "auto"
    program_refresh_seconds: float = Field(default=300.0, ge=1, le=86_400)
    dev_guild_id: int | None = Field(default=None, description="sync commands here at startup")

    discord_api_base: str = Field(default="https://discord.com/api/v10")
    discord_gateway_url: str = Field(default="wss://gateway.discord.gg/")

    simulate_start: datetime | None = None
    speed: float = Field(default=1.0, gt=0, le=10_000, allow_inf_nan=False)

    log_level: str = "INFO"

    # Reminder fan-out pace (requests/s), under Discord's global 50/s per bot. Split it between
    # processes sharing one token (DELIVERY_RATE=23 each for two); other servers allow more.
    delivery_rate: float = Field(default=46.0, gt=0, le=1000)
    # false: a delivery-only process (reminders, announcements) that never connects to the
    # gateway, so commands are answered once, by the one process that does.
    gateway: bool = True
    # A send claimed by a process that died is taken over after this many seconds (a live
    # process renews its claims every quarter lease while their sends are in flight).
    claim_lease_seconds: float = Field(default=60.0, gt=0)
    # The longest one timed send may take (Discord's answer, 429 waits and discord.py's own
    # retries included) before the engine gives up on it and tries it again later (same nonce,
    # so Discord does not post it twice). Keep it well below CLAIM_LEASE_SECONDS.
    send_timeout_seconds: float = Field(default=15.0, gt=0, le=300)

    # Until the organizer commands store these per server (see /setup).
    announce_channel_id: int | None = None
    announce_breaks: bool = False
    announce_lead_minutes: int = Field(default=0, ge=0, le=120)
    mention_role_id: int | None = None

    @field_validator("program_file", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, Path) else value

    @property
    def program_is_url(self) -> bool:
        return self.program_file.startswith(("http://", "https://"))

    @property
    def program_path(self) -> Path:
        """The program file's path (for a URL source, there is none: check program_is_url)."""
        return Path(self.program_file)

    @field_validator("simulate_start")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("SIMULATE_START needs a UTC offset, e.g. 2022-07-23T08:40-04:00")
        return value
