"""The one settings object. Every value can be overridden by a ``LIANLUO_*`` environment variable."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIANLUO_", extra="ignore")

    # -- where things live
    data_dir: Path = Field(Path("var"), description="Folder for the SQLite file, generated keys, uploads.")
    database_url: str = Field(
        "",
        description="SQLAlchemy async URL. Empty: SQLite file `<data_dir>/lianluo.db`. "
        "Production: `postgresql+asyncpg://user:pass@host/db`.",
    )
    bus_url: str = Field("memory://", description="`memory://` (in-process) or `redis://host:6379/0` (Redis Streams).")
    bus_stream_prefix: str = Field("lianluo", description="Prefix of every Redis stream name.")
    bus_max_len: int = Field(1_000_000, description="Approximate number of events kept per stream for replay.")
    node_id: str = Field("pbx1", description="Id of the PBX node this process serves (CTI/IVR) or defaults to.")

    # -- HTTP
    host: str = Field("127.0.0.1", description="Address `serve` and `demo` listen on.")
    port: int = Field(8000, description="Port `serve` and `demo` listen on.")
    max_body_bytes: int = Field(1_048_576, description="Largest accepted request body for JSON APIs (bytes).")
    log_format: Literal["text", "json"] = Field("text", description="`text` for people, `json` (one object per line) for production.")
    log_level: str = Field("INFO", description="Python logging level.")

    # -- auth
    secret_key: SecretStr | None = Field(
        None,
        description="Key that signs access tokens. Empty: generated once into `<data_dir>/secret_key` (fine for one host only).",
    )
    token_ttl_minutes: int = Field(12 * 60, description="Lifetime of a login token (one shift).")
    lockout_threshold: int = Field(5, description="Failed logins in a row that lock an account.")
    lockout_minutes: int = Field(15, description="How long a locked account stays locked.")
    cookie_secure: bool = Field(False, description="Mark the session cookie `Secure` (set true behind HTTPS).")
    ws_token_check_seconds: float = Field(30.0, description="How often an open websocket re-checks its login session (logout/lockout close it).")

    # -- customer directory
    directory_backend: Literal["db", "http"] = Field("db", description="`db`: Lianluo's own tables; `http`: the insurer's policy system.")
    directory_http_base_url: str = Field("", description="Base URL of the insurer's directory API when `directory_backend=http`.")
    directory_http_token: SecretStr | None = Field(None, description="Bearer token for the insurer's directory API.")
    directory_http_timeout: float = Field(3.0, description="Seconds before a directory HTTP call gives up.")

    # -- telephony (used by cti and ivr)
    ami_host: str = Field("127.0.0.1", description="Asterisk AMI host.")
    ami_port: int = Field(5038, description="Asterisk AMI port.")
    ami_username: str = Field("cti", description="AMI user (manager.conf section).")
    ami_secret: SecretStr = Field(SecretStr("cti-secret"), description="AMI secret.")
    agi_host: str = Field("127.0.0.1", description="Address the FastAGI server listens on.")
    agi_port: int = Field(4573, description="Port the FastAGI server listens on.")
    ivr_flows_dir: Path | None = Field(None, description="Extra folder of IVR flow files (YAML); a flow here replaces the shipped one of the same name.")
    ivr_prompts_dir: Path | None = Field(
        None, description="Where `lianluo ivr prompts` writes prompt audio (Asterisk's sounds/lianluo). Empty: `<data_dir>/prompts`.")
    ivr_command_timeout_seconds: float = Field(5.0, description="How long the IVR waits for Asterisk's reply to an AGI command, beyond the command's own wait for digits.")
    wrapup_seconds: int = Field(30, description="After-call work (话后处理): seconds an agent stays paused after each call; 0 = none.")
    cti_command_timeout_seconds: float = Field(5.0, description="How long the backend waits for the PBX node's answer to a command.")
    cti_org_code: str = Field("", description="Org (code) whose subtree sees calls no agent answered. Empty: the root (总公司).")
    dial_context: str = Field("from-internal", description="Dialplan context a click-to-call continues in once the agent's phone answers.")
    dial_prefix: str = Field("9", description="Prefix the dialplan wants before an outside number (extensions.conf [from-internal]).")
    transfer_context: str = Field("transfer", description="Dialplan context transfers go to: a colleague's extension or a queue name.")
    cti_queues: list[str] = Field(
        ["complaints", "claims", "consultation", "callbacks", "vip", "general-service"],
        description="Queues (queues.conf) agents log in to from the console, as a JSON list.",
    )
    campaign_context: str = Field("dialer", description="Dialplan context of a campaign call's customer leg (Local/<number>@dialer).")
    agent_context: str = Field("outbound-agent", description="Dialplan context that connects the agent once a campaign customer answers.")
    recordings_dir: Path | None = Field(
        None, description="Folder where the PBX's call recordings (MixMonitor) can be read. Empty: `<data_dir>/recordings`.")

    # -- tickets, workflow, attachments, knowledge base
    attachments_dir: Path | None = Field(
        None, description="Folder where ticket, handling-record and article attachments are stored (by content hash). Empty: `<data_dir>/attachments`.")
    attachment_max_bytes: int = Field(20 * 1024 * 1024, description="Largest accepted attachment (bytes).")
    attachment_types: list[str] = Field(
        ["pdf", "jpg", "png", "gif", "docx", "xlsx", "doc", "xls", "txt", "wav", "mp3", "mp4", "zip"],
        description="File types accepted as attachments (checked by content, not by name).")
    virus_scan_command: str = Field(
        "", description="Command that scans an uploaded file before it is kept, e.g. `clamdscan --no-summary {path}`; exit 0 = clean. Empty: no scan.")
    import_max_bytes: int = Field(10 * 1024 * 1024, description="Largest accepted 12378 import file (bytes).")
    due_soon_hours: int = Field(48, description="A ticket or workflow step is 将超期 (due soon) this many hours before its deadline.")
    deadline_check_seconds: float = Field(60.0, description="How often `worker` looks for tickets and steps that are due soon or overdue.")

    # -- PBX simulator (embedded default)
    sim_calls_per_minute: float = Field(4.0, description="`demo`: simulated inbound calls per minute; 0 = no generated traffic.")
    sim_speed: float = Field(1.0, description="`demo`: how many times faster than real time the simulated PBX runs (rings, talk).")

    # -- demo
    demo_seed: int = Field(20261123, description="Seed number for `lianluo seed` / `lianluo demo` data.")
    demo_customers: int = Field(10_000, description="Customers created by the demo seed.")
    demo_policies: int = Field(20_000, description="Policies created by the demo seed.")
    demo_password: SecretStr = Field(SecretStr("Lianluo@2026"), description="Password of every seeded demo user.")

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and v.get_secret_value() and len(v.get_secret_value()) < 32:
            raise ValueError("LIANLUO_SECRET_KEY must be at least 32 characters")
        return v

    @property
    def effective_recordings_dir(self) -> Path:
        return self.recordings_dir if self.recordings_dir is not None else self.data_dir / "recordings"

    @property
    def effective_attachments_dir(self) -> Path:
        return self.attachments_dir if self.attachments_dir is not None else self.data_dir / "attachments"

    @property
    def effective_prompts_dir(self) -> Path:
        return self.ivr_prompts_dir if self.ivr_prompts_dir is not None else self.data_dir / "prompts"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'lianluo.db').resolve()}"

    @cached_property
    def signing_key(self) -> str:
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        key_file = self.data_dir / "secret_key"
        if key_file.exists():
            return key_file.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key

    def safe_dump(self) -> dict[str, object]:
        """Settings for logs and diagnostics: secrets stay masked by SecretStr, URLs lose their passwords."""
        out = self.model_dump()
        for name in ("database_url", "bus_url"):
            out[name] = redact_url(str(out[name]))
        return out


def redact_url(url: str) -> str:
    """Hide the password part of a URL (``scheme://user:secret@host`` → ``scheme://user:***@host``)."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    if ":" in creds:
        creds = creds.split(":", 1)[0] + ":***"
    return f"{scheme}://{creds}@{host}"
