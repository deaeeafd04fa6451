"""The license client (``clients/python``, ``charter_client``) against the real server: a signed
validation verified, a seat taken, kept and freed, an offline token verified with the served
JWKS, and the grace period when the server goes away (time moved, never slept)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import uvicorn

from charter.core.auth import Role
from charter.licensing import service
from charter.licensing.models import Product
from charter_client import LicenseClient, Refused
from tests.conftest import free_port
from tests.licensing.factories import license
from tests.servers import uvicorn_serving

ISSUER = "http://127.0.0.1:8000"  # the test settings' public URL: the tokens' iss


@contextmanager
def serving(app) -> Iterator[uvicorn.Server]:
    """The app on a real Uvicorn that the test can stop (its port then refuses)."""
    port = free_port()
    with uvicorn_serving(app, port) as server:
        server.config.port = port
        yield server


@pytest.fixture
def issued(world, sessions, system):
    """An active two-seat license of the world's product: its id, key and product code."""
    with sessions() as db, db.begin():
        made, key = license(db, system, agreement_id=world.agreement, seats=2)
        return made.id, key, db.get(Product, made.product_id).code


def test_the_client_validates_activates_and_bridges_an_outage(
    app, issued, make, world, frozen_clock, tmp_path
):
    license_id, key, product = issued
    reader = make.login(Role.PARTNER_ADMIN, partner_id=world.firm)
    with serving(app) as server:
        client = LicenseClient(
            f"http://127.0.0.1:{server.config.port}",
            key,
            product,
            fingerprint="4f1c2a9e7b3d4c5e8f60718293a4b5c6",
            cache_dir=tmp_path / "license",
            issuer=ISSUER,
            clock=frozen_clock.now,
        )

        # Not activated yet: the signed answer says so, and the client believes it.
        refused = client.validate()
        assert (refused.valid, refused.code, refused.online) == (False, "NOT_ACTIVATED", True)

        activation = client.activate("emea", "Acme GmbH", country="DE")
        assert activation.license_id == license_id
        assert activation.state == "active"
        assert client.activate("emea", "Acme GmbH").id == activation.id  # idempotent
        assert client.heartbeat().id == activation.id

        answer = client.validate(feature="analytics", region="emea", country="DE")
        assert (answer.valid, answer.code, answer.online) == (True, "VALID", True)
        assert answer.license_id == license_id
        assert answer.checked_at == frozen_clock.now().replace(microsecond=0)

        claims = client.fetch_token(reader.token)
        assert claims.license_id == license_id
        assert claims.partner == world.firm
        assert claims.seats == 2
        assert client.verify_token(client.cached_token() or "").product == product

        # Freeing the seat makes the next answer a refusal; taking it again restores it.
        assert client.deactivate().state != "active"
        with pytest.raises(Refused) as raised:
            client.heartbeat()
        assert raised.value.code in {"NOT_ACTIVATED", "HEARTBEAT_DEAD"}
        client.activate("emea", "Acme GmbH")
        assert client.validate(feature="analytics", region="emea", country="DE").valid
        client.fetch_token(reader.token)

    # The server is gone: its port refuses. The cache bridges the grace period, then no more.
    frozen_clock.advance(timedelta(days=2))
    bridged = client.validate(feature="analytics", region="emea", country="DE")
    assert (bridged.valid, bridged.online, bridged.source) == (True, False, "answer")
    by_token = client.validate(feature="api_access")
    assert (by_token.valid, by_token.source) == (True, "token")
    assert not client.validate(feature="sso").valid  # not among the token's entitlements
    assert client.verify_token(client.cached_token() or "").license_id == license_id

    frozen_clock.advance(timedelta(days=1, minutes=1))
    ended = client.validate(feature="analytics", region="emea", country="DE")
    assert (ended.valid, ended.code) == (False, "UNREACHABLE")
    assert "grace period" in ended.detail
    client.close()


def test_a_revoked_license_is_refused_online_and_not_bridged(
    app, issued, world, frozen_clock, tmp_path, sessions, system
):
    license_id, key, product = issued
    with serving(app) as server:
        client = LicenseClient(
            f"http://127.0.0.1:{server.config.port}",
            key,
            product,
            cache_dir=tmp_path / "license",
            issuer=ISSUER,
            clock=frozen_clock.now,
        )
        assert client.validate().valid
        with sessions() as db, db.begin():
            service.revoke_license(db, system, license_id=license_id, reason="Breach of terms.")
        assert client.validate().code == "REVOKED"
    frozen_clock.advance(timedelta(hours=1))
    assert client.validate().code == "UNREACHABLE"
    client.close()
