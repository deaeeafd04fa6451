"""Serving: ``charter demo`` seeds the demo database, prints how to sign in, and serves."""

from __future__ import annotations

import uvicorn

from charter.app import create_app
from charter.config import get_settings
from charter.demo.people import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    GOVERNANCE_EMAIL,
    GOVERNANCE_PASSWORD,
    MANAGER_EMAIL,
    MANAGER_PASSWORD,
    PARTNER_ADMIN_PASSWORD,
)
from charter.demo.seeding import LicensingSummary, seed


def _print_licensing(licensing: LicensingSummary, base: str) -> None:
    """The licensing counts, and a key to try against the validation route."""
    statuses = ", ".join(f"{n} {status}" for status, n in licensing.licenses_by_status.items())
    states = ", ".join(f"{n} {state}" for state, n in licensing.activations_by_state.items())
    alerts = ", ".join(f"{n} {rule}" for rule, n in licensing.alerts_by_rule.items())
    print(
        f"  Licensing: {licensing.products} products, {licensing.agreements} signed agreements,"
        f" {licensing.licenses} licenses ({statuses}; {licensing.licenses_in_grace} in grace)"
    )
    print(
        f"  Activations: {states} ({licensing.stale_activations} with stale heartbeats);"
        f" {licensing.usage_records} usage records, {licensing.licenses_over_cap} license"
        f" over its cap; {licensing.pending_approvals} approval pending; alerts: {alerts or 'none'}"
    )
    if licensing.try_key and licensing.try_product:
        body = (
            f'{{"key": "{licensing.try_key}", "product": "{licensing.try_product}",'
            ' "nonce": "try-it-0001"}'
        )
        print(f"  Try a license key: curl -s {base}/api/v1/licenses/validate \\")
        print(f"    -H 'Content-Type: application/json' -d '{body}'")


def run_demo(host: str = "127.0.0.1", port: int = 8000, serve: bool = True) -> None:
    """Seed the demo database (first run only), print how to sign in, and serve the app."""
    settings = get_settings()
    summary = seed(settings.database_url)
    base = f"http://{host}:{port}"
    verb = "Seeded" if summary.created else "Reusing"
    print(f"{verb} the Nimbus Cloud demo program in {settings.database_url}")
    print(
        f"  {summary.partners} partner firms, {summary.people} people, "
        f"{summary.certifications} certifications, {summary.assessments} assessments, "
        f"{summary.awards} awards ({summary.awards_expiring_within_30_days} expiring within "
        f"30 days), {summary.events} events"
        + (f" in {summary.seconds:.1f} s" if summary.created else "")
    )
    tiers = ", ".join(f"{count} {tier}" for tier, count in summary.firms_by_tier.items())
    print(
        f"  Partner tiers: {tiers or 'none'} ({summary.firms_at_risk} at risk), "
        f"{summary.firm_badges} firm badges"
    )
    _print_licensing(summary.licensing, base)
    print()
    print("Sign in (demo credentials, for this local demo only):")
    print(f"  admin            {ADMIN_EMAIL:<40} {ADMIN_PASSWORD}")
    print(f"  program manager  {MANAGER_EMAIL:<40} {MANAGER_PASSWORD}")
    print(f"  governance owner {GOVERNANCE_EMAIL:<40} {GOVERNANCE_PASSWORD}")
    if summary.partner_admin_email:
        print(f"  partner admin    {summary.partner_admin_email:<40} {PARTNER_ADMIN_PASSWORD}")
    print()
    print(f"  Dashboard  {base}/dashboard")
    print(f"  API docs   {base}/api/docs")
    print(f"  Health     {base}/api/v1/health")
    if not serve:
        return
    uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level)
