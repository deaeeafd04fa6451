"""Settings read from the environment (``CHARTER_*``), in one object."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Deployment settings; every field can be set with ``CHARTER_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CHARTER_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/charter.db",
        description="SQLAlchemy URL; SQLite by default, PostgreSQL via postgresql+psycopg://",
    )
    secret_key: str | None = Field(
        default=None,
        description="Signs web sessions; when unset a key file is generated under data_dir",
    )
    data_dir: Path = Field(default=Path("var"), description="Where local state lives")
    public_url: str = Field(default="http://127.0.0.1:8000", description="Public base URL")
    session_max_age_seconds: int = 8 * 3600
    idempotency_wait_seconds: float = 10.0
    log_level: str = "info"
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
