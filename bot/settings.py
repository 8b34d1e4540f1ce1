"""The one settings object: environment variables and `.env`, validated once at startup."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

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
    program_file: Path = Field(default=DEFAULT_PROGRAM)
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

    @field_validator("simulate_start")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("SIMULATE_START needs a UTC offset, e.g. 2022-07-23T08:40-04:00")
        return value
