"""Typed settings, read from `HELIOGRAPH_*` environment variables and validated at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from heliograph.storage import CLICKHOUSE_SCHEMES, single_process_only

__all__ = ["DEFAULT_DATABASE_URL", "MIN_SECRET_KEY_CHARS", "Settings"]

DEFAULT_DATABASE_URL = "sqlite:///.heliograph/heliograph.db"
MIN_SECRET_KEY_CHARS = 32
MIN_ADMIN_TOKEN_CHARS = 16


class Settings(BaseSettings):
    """Every knob of the server; each field is one `HELIOGRAPH_<NAME>` variable."""

    model_config = SettingsConfigDict(env_prefix="HELIOGRAPH_", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="Where data lives: `sqlite:///path/to.db`, `postgresql://user@host:port/db`, "
        "`clickhouse://user:password@host:8123/database` (`clickhouses://` for TLS) or `chdb:///abs/dir`.",
    )
    host: str = Field("127.0.0.1", description="Address the server listens on.")
    port: int = Field(8585, ge=1, le=65535, description="Port the server listens on.")
    max_body_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Largest request body accepted; larger bodies get 413."
    )
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Server processes; each takes connections, parses and prices; who commits is "
        "`HELIOGRAPH_INGEST_WRITER`'s choice (`/metrics` counts per process).",
    )
    ingest_writer: Literal["auto", "shared", "per-process"] = Field(
        "auto",
        description="With more than one worker: `shared` runs one writer process that commits every "
        "worker's records (one group commit, one warm SQLite cache); `per-process` has each worker commit "
        "its own. `auto` is `shared` on SQLite, `per-process` on PostgreSQL (faster there, by "
        "bench/ingest.py) and ClickHouse (where a worker's reads wait for the rollups of its own writes).",
    )
    ingest_writer_socket: str | None = Field(
        None,
        description="Set by `serve` for its workers, not by hand: the shared writer's Unix socket.",
    )
    header_timeout: float = Field(
        10.0,
        gt=0,
        description="Seconds a request's head may take to arrive (then 408 and the connection closes).",
    )
    body_timeout: float = Field(
        60.0, gt=0, description="Seconds a request's body may take to arrive after its head (then 408)."
    )
    max_connections: int = Field(
        1000,
        ge=1,
        description="Open connections (or requests in progress) per process past which new requests get 503.",
    )
    ingest_queue_size: int = Field(
        10_000, ge=1, description="Records waiting for commit before ingestion answers 503."
    )
    ingest_batch_size: int = Field(500, ge=1, description="Most records written in one transaction.")
    log_level: str = Field("info", description="Server log level: debug, info, warning or error.")
    openai_base_url: str = Field(
        "https://api.openai.com/v1",
        description="Where the gateway sends /openai/v1/* (with its /v1, as the SDK).",
    )
    anthropic_base_url: str = Field(
        "https://api.anthropic.com",
        description="Where the gateway sends /anthropic/v1/* (without /v1, as the SDK).",
    )
    gateway_allowed_hosts: str | None = Field(
        None,
        description="Internal hosts `/gateway/*` may forward to, comma-separated names, addresses or "
        "networks (`vllm.lan,10.0.0.0/8`). Unset: targets resolving to loopback, private, link-local, "
        "multicast or unspecified addresses get 403. The configured OpenAI and Anthropic base URLs are "
        "always allowed.",
    )
    upstream_connect_timeout: float = Field(
        10.0, gt=0, description="Seconds to connect to an upstream (then 504)."
    )
    upstream_read_timeout: float = Field(
        600.0, gt=0, description="Seconds an upstream may stay silent mid-answer (then 504)."
    )

    admin_token: SecretStr | None = Field(
        None,
        description="Enables `POST /v1/admin/keys` for callers that send `Authorization: Bearer <token>` "
        "(16+ characters): creates organizations and keys over HTTP, as `heliograph keys create` does, for "
        "a chdb store that only the server's process can open. Unset: the endpoint answers 404.",
    )

    dashboard_idle_timeout: float = Field(
        43_200.0,
        gt=0,
        description="Seconds a dashboard sign-in may go unused before it ends (at most a week in all).",
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token a Prometheus scrape of `/metrics` sends from anywhere. Unset: `/metrics` "
        "answers loopback clients only (403 for others).",
    )
    public_url: str | None = Field(
        None,
        description="The dashboard's address as browsers see it (`https://heliograph.example.com`); form "
        "posts from any other origin get 403. Unset: the request's own scheme and Host.",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Signs dashboard sign-in cookies and feedback links (32+ characters). Unset: generated "
        "once and kept in "
        "`secret-key` next to the SQLite database (mode 0600), or in memory for PostgreSQL (a restart then "
        "signs everyone out and voids every feedback link).",
    )
    feedback_origins: str | None = Field(
        None,
        description="Comma-separated origins (`https://app.example.com`) whose pages may send feedback "
        "with a signed link (CORS on `/v1/feedback/public/*`). Unset: any origin (the links carry no "
        "cookie or key).",
    )
    feedback_link_sends_per_minute: int = Field(
        10,
        ge=1,
        le=10_000,
        description="Most feedback sends one link token may make in 60 seconds (429 past it).",
    )

    monitor_interval_s: float = Field(
        60.0, gt=0, le=86_400, description="Seconds between evaluations of the feedback monitors."
    )
    webhook_backoff_s: float = Field(
        30.0,
        gt=0,
        le=3_600,
        description="Seconds before a failed monitor webhook's first retry; each retry waits twice the last, "
        "and a delivery not made within 120 times this (1 hour at the default) is marked failed.",
    )
    webhook_timeout_s: float = Field(
        10.0, gt=0, le=300, description="Seconds a monitor webhook's receiver has to answer one attempt."
    )
    webhook_allow_private: bool = Field(
        False,
        description="Let monitor webhooks go to loopback, private, link-local and other internal addresses "
        "(refused by default, as the gateway refuses them).",
    )
    webhook_allowed_hosts: str | None = Field(
        None,
        description="When set, the only hosts monitor webhooks may go to: comma-separated names, addresses "
        "or networks, checked before any name is resolved (listed internal hosts are allowed).",
    )

    def shares_a_writer(self) -> bool:
        """Whether `serve` runs one writer process for its workers (see `ingest_writer`)."""
        if self.workers == 1 or self.ingest_writer == "per-process":
            return False
        return self.ingest_writer == "shared" or self.database_url.startswith("sqlite")

    def feedback_origin_list(self) -> list[str]:
        """The origins allowed to send feedback with a link; `["*"]` for any."""
        listed = [o.strip().rstrip("/") for o in (self.feedback_origins or "").split(",") if o.strip()]
        return listed or ["*"]

    def environment(self, **overrides: str) -> dict[str, str]:
        """These settings as `HELIOGRAPH_*` variables (secrets in clear), for a process that reads them."""
        values = {name: getattr(self, name) for name in type(self).model_fields}
        for secret in ("secret_key", "admin_token", "metrics_token"):
            value = getattr(self, secret)
            values[secret] = None if value is None else value.get_secret_value()
        values.update(overrides)
        return {
            f"HELIOGRAPH_{name.upper()}": str(value) for name, value in values.items() if value is not None
        }

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(
            (
                "sqlite:",
                "sqlite+aiosqlite:",
                "postgresql:",
                "postgresql+asyncpg:",
                "postgres:",
                *CLICKHOUSE_SCHEMES,
            )
        ):
            raise ValueError(
                "HELIOGRAPH_DATABASE_URL must start with sqlite:///, postgresql://, clickhouse://, "
                f"clickhouses:// or chdb:/// (got {value.split(':', 1)[0]!r})"
            )
        if value.startswith("chdb:") and not value.startswith("chdb:///"):
            raise ValueError("a chdb URL names an absolute directory: chdb:///absolute/path")
        return value

    @model_validator(mode="after")
    def _one_process_for_chdb(self) -> Settings:
        if self.workers > 1 and single_process_only(self.database_url):
            raise ValueError(
                "embedded ClickHouse (chdb://) opens its directory from one process only: use --workers 1, "
                "or a ClickHouse server (clickhouse://) for several processes"
            )
        return self

    @field_validator("openai_base_url", "anthropic_base_url", "public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"URLs must start with http:// or https:// (got {value[:40]!r})")
        return value.rstrip("/")

    @field_validator("metrics_token")
    @classmethod
    def _no_empty_token(cls, value: SecretStr | None) -> SecretStr | None:
        return None if value is None or value.get_secret_value() == "" else value

    @field_validator("secret_key")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None  # `HELIOGRAPH_SECRET_KEY=` means "generate one", as unset does
        if len(value.get_secret_value()) < MIN_SECRET_KEY_CHARS:
            raise ValueError(
                f"HELIOGRAPH_SECRET_KEY must be at least {MIN_SECRET_KEY_CHARS} characters "
                "(or unset it to have one generated)"
            )
        return value

    @field_validator("admin_token")
    @classmethod
    def _long_admin_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        if len(value.get_secret_value()) < MIN_ADMIN_TOKEN_CHARS:
            raise ValueError(f"HELIOGRAPH_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_CHARS} characters")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.lower() not in {"debug", "info", "warning", "error"}:
            raise ValueError("HELIOGRAPH_LOG_LEVEL must be one of debug, info, warning, error")
        return value.lower()

    def sqlite_path(self) -> Path | None:
        """The SQLite file this configuration points at, or None for other databases."""
        if not self.database_url.startswith("sqlite"):
            return None
        return Path(self.database_url.split(":///", 1)[1])
