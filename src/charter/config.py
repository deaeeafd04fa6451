"""Settings read from the environment (``CHARTER_*``), in one object."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import pycountry
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Deployment settings; every field can be set with ``CHARTER_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CHARTER_", extra="ignore")

    database_url: str = Field(
        default="",
        description="SQLAlchemy URL; PostgreSQL via postgresql+psycopg://; unset, the SQLite "
        "file charter.db in data_dir",
    )
    secret_key: str | None = Field(
        default=None,
        description="Signs web sessions; when unset a key file is generated under data_dir",
    )
    data_dir: Path = Field(default=Path("var"), description="Where local state lives")
    public_url: str = Field(default="http://127.0.0.1:8000", description="Public base URL")
    session_max_age_seconds: int = 8 * 3600
    # Sign-in throttling: past this many failed sign-ins to one account, or from one client
    # address, each further attempt must wait, twice as long as the one before, up to the cap
    # (so an attacker cannot lock a real user out for longer). Failures are forgotten a window
    # after the last one (and its wait); a successful sign-in forgets the account's.
    sign_in_account_failures: int = Field(default=5, ge=1, le=1000)
    sign_in_address_failures: int = Field(default=20, ge=1, le=100_000)
    sign_in_window_seconds: float = Field(default=900.0, gt=0, le=86_400)
    sign_in_first_wait_seconds: float = Field(default=2.0, gt=0, le=3600)
    sign_in_max_wait_seconds: float = Field(default=300.0, gt=0, le=3600)
    idempotency_wait_seconds: float = 10.0
    # A creating call's outcome is replayed to repeats of its Idempotency-Key for the lifetime,
    # then pruned by the worker. A claim whose request never finished (its process died) stops
    # blocking retries after the claim timeout: longer than any request runs.
    idempotency_lifetime_hours: float = Field(
        default=24, gt=0, description="How long a repeated Idempotency-Key is answered the same"
    )
    idempotency_claim_timeout_seconds: float = Field(
        default=60, gt=0, description="When a retry takes over a key whose request never ended"
    )
    log_level: str = "info"
    access_log: bool = Field(default=True, description="Log every request (charter serve)")
    telemetry: bool = Field(
        default=False,
        description="FastAPI's OpenTelemetry traces, metrics, logs (needs a provider)",
    )
    # The server under load. Each worker process answers at most read_slots safe requests
    # (GET, HEAD) and write_slots others at once; every admitted request holds at most one
    # thread and one database connection at a time, and the thread pool and the connection
    # pool are sized from these, so neither ever waits for the other. Past the slots, requests
    # queue for up to queue_seconds and are then answered 503 with Retry-After. Reads and
    # writes have slots of their own, so writers queued on a lock never starve reads.
    server_read_slots: int = Field(default=24, ge=1, le=512, description="Reads at once")
    server_write_slots: int = Field(default=8, ge=1, le=512, description="Writes at once")
    server_queue_seconds: float = Field(
        default=5.0, gt=0, le=120, description="How long a request waits for a slot before 503"
    )
    database_lock_timeout_seconds: float = Field(
        default=5.0, gt=0, le=300, description="How long a write waits for a lock before 503"
    )
    # The issuer profile carried in every credential (OB 3.0 Profile) and shown on public pages.
    issuer_name: str = Field(default="Charter demo issuer", description="Issuing organisation")
    issuer_url: str | None = Field(
        default=None, description="Issuer's web site; the public URL when unset"
    )
    issuer_email: str | None = Field(default=None, description="Issuer's contact address")
    issuer_image_url: str | None = Field(default=None, description="Issuer's logo (absolute URL)")
    linkedin_organization_id: str | None = Field(
        default=None, description="Numeric LinkedIn company page id, for 'Add to profile' links"
    )
    # The worker (charter worker): jobs are claimed for a lease; a worker that dies loses its
    # claim when the lease runs out and another worker takes the job over.
    worker_poll_seconds: float = Field(default=1.0, gt=0, description="Idle wait between polls")
    worker_lease_seconds: float = Field(default=60.0, gt=0, description="How long a claim lasts")
    worker_batch_size: int = Field(default=10, ge=1, le=500, description="Jobs claimed at once")
    # Email over SMTP; without a host, mail is recorded as skipped rather than sent.
    smtp_host: str | None = Field(default=None, description="SMTP server; unset: no mail sent")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(default=True, description="Upgrade with STARTTLS before login")
    smtp_ssl: bool = Field(default=False, description="Implicit TLS (port 465) instead")
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    mail_from: str = Field(default="Charter <charter@localhost>", description="From: of all mail")
    reminder_days: Annotated[list[int], NoDecode] = Field(
        default=[60, 30, 7], description="Renewal reminders, in days before expiry (60,30,7)"
    )
    notice_horizon_days: int = Field(
        default=14, ge=1, description="No notice is mailed for an event older than this (days)"
    )
    license_grace_days: int = Field(
        default=30, ge=0, description="Days a license stays valid once its firm falls short"
    )
    default_locale: str = Field(default="en", description="Language of mail without a choice")
    locale_dir: Path | None = Field(
        default=None, description="gettext catalogs (<dir>/<lang>/LC_MESSAGES/charter.mo)"
    )
    # Webhooks: only public addresses are called unless this is set (tests, local development).
    webhook_allow_private: bool = False
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Signed checkpoints of the events log (charter.crypto.checkpoints): the worker signs one
    # this often while the log grows; 0 leaves them to `charter audit checkpoint`.
    audit_checkpoint_minutes: int = Field(
        default=60, ge=0, le=7 * 24 * 60, description="Minutes between signed checkpoints"
    )
    # Signed tokens (charter.crypto.tokens): none is signed to live longer than this, and a
    # retired token key stays in the JWKS this long after its retirement, so every token it
    # signed keeps verifying until it expires. Lowering it unpublishes retired keys sooner.
    token_max_lifetime_days: float = Field(
        default=30, gt=0, le=400, description="Longest lifetime of a signed token (days)"
    )
    # License activations (charter.licensing.activations): a deployment heartbeats this often;
    # a floating seat whose last heartbeat is older than interval x grace is reaped.
    license_heartbeat_interval_seconds: int = Field(
        default=600, ge=60, le=7 * 86_400, description="How often deployments heartbeat"
    )
    license_heartbeat_grace: float = Field(
        default=2.0, ge=1.0, le=10.0, description="Missed intervals before a seat is reaped"
    )

    # License validation (charter.licensing.validation): rates are per worker process, per
    # license key (its keyed hash) and per client address, in requests a minute; a deployment
    # into an embargoed territory (ISO 3166-1 alpha-2 countries, ISO 3166-2 subdivisions) is
    # always refused. Offline license tokens live this long (at most the token maximum).
    license_validation_per_key_per_minute: int = Field(
        default=120, ge=1, le=1_000_000, description="Validations of one key a minute"
    )
    license_validation_per_address_per_minute: int = Field(
        default=600, ge=1, le=1_000_000, description="Validations from one address a minute"
    )
    license_embargoed_regions: Annotated[list[str], NoDecode] = Field(
        default=["CU", "IR", "KP", "SY", "UA-09", "UA-14", "UA-40", "UA-43"],
        description="Embargoed countries and subdivisions (CU,IR,KP,SY,UA-43,...)",
    )
    license_token_lifetime_days: float = Field(
        default=7, gt=0, le=400, description="Lifetime of an offline license token (days)"
    )

    # License anomaly alerts (charter.licensing.anomalies): validations are buffered in each
    # server process and written every few seconds, kept this many days; the rules look back
    # over their windows, with limits relative to a license's seats and its own usage.
    license_check_buffer: int = Field(
        default=50_000, ge=100, le=10_000_000, description="Validations buffered a process"
    )
    license_check_flush_seconds: float = Field(
        default=5.0, gt=0, le=300, description="Seconds between writes of the buffer"
    )
    license_check_retention_days: int = Field(
        default=30, ge=1, le=3650, description="Days recorded validations are kept"
    )
    license_alert_sharing_hours: float = Field(
        default=24, gt=0, le=24 * 90, description="Window of the key-sharing rule (hours)"
    )
    license_alert_sharing_multiple: float = Field(
        default=2.0, gt=0, le=1000, description="Distinct machines or addresses per seat"
    )
    license_alert_burst_minutes: float = Field(
        default=60, gt=0, le=24 * 60 * 7, description="Window of the activation-burst rule"
    )
    license_alert_burst_multiple: float = Field(
        default=1.0, gt=0, le=1000, description="Activations per seat within the window"
    )
    license_alert_spike_k: float = Field(
        default=5.0, gt=0, le=100, description="Usage above median + k x MAD is a spike"
    )
    license_alert_spike_min_history: int = Field(
        default=6, ge=3, le=1000, description="Periods of history before spikes are judged"
    )

    @field_validator("license_embargoed_regions", mode="before")
    @classmethod
    def _split_regions(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("license_embargoed_regions")
    @classmethod
    def _known_regions(cls, value: list[str]) -> list[str]:
        codes = [code.strip().upper() for code in value]
        for code in codes:
            # pycountry's subdivision database has no type annotations.
            known = (
                pycountry.subdivisions.get(code=code)  # type: ignore[no-untyped-call]
                if "-" in code
                else pycountry.countries.get(alpha_2=code)
            )
            if known is None:
                raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 or ISO 3166-2 code")
        return sorted(set(codes))

    @field_validator("reminder_days", mode="before")
    @classmethod
    def _split_days(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.replace(" ", "").split(",") if part]
        return value

    @field_validator("reminder_days")
    @classmethod
    def _positive_days(cls, value: list[int]) -> list[int]:
        if any(day <= 0 for day in value):
            raise ValueError("reminder days must be positive")
        return sorted(set(value), reverse=True)

    @model_validator(mode="after")
    def _database_in_data_dir(self) -> Settings:
        # All local state lives in data_dir: the default database too.
        if not self.database_url.strip():
            self.database_url = f"sqlite:///{self.data_dir / 'charter.db'}"
        return self


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()


def secret_key(settings: Settings) -> str:
    """The secret key: from the environment, or a generated file kept with mode 0600."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    # Created with 0600 from the start: no window in which another user can read it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
