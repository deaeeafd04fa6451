"""Serving: ``charter demo`` seeds the demo database, prints how to sign in, and serves."""

from __future__ import annotations

import os
import sys
import time

import uvicorn

from charter.app import create_app
from charter.config import get_settings
from charter.demo.people import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    AUDITOR_EMAIL,
    AUDITOR_PASSWORD,
    GOVERNANCE_EMAIL,
    GOVERNANCE_PASSWORD,
    MANAGER_EMAIL,
    MANAGER_PASSWORD,
    PARTNER_ADMIN_PASSWORD,
    PARTNER_MEMBER_PASSWORD,
)
from charter.demo.seeding import LicensingSummary, SeedSummary, seed
from charter.demo.steps import member_email


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


class _Progress:
    """Prints how far seeding is, every tenth of the way (to standard error)."""

    def __init__(self) -> None:
        self.shown = -1
        self.started = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        tenth = done * 10 // total
        if tenth > self.shown:
            self.shown = tenth
            seconds = time.perf_counter() - self.started
            print(
                f"  seeding: {tenth * 10:3d}% ({done:,} of {total:,} steps, {seconds:.0f} s)",
                file=sys.stderr,
                flush=True,
            )


def run_demo(host: str = "127.0.0.1", port: int = 8000, serve: bool = True) -> None:
    """Seed the demo database (first run only), print how to sign in, and serve the app.

    Credentials name the public URL they are served from: unless ``CHARTER_PUBLIC_URL`` says
    otherwise, it is the address served here, so ``--port`` changes it too.
    """
    base = f"http://{host}:{port}"
    if "CHARTER_PUBLIC_URL" not in os.environ:
        os.environ["CHARTER_PUBLIC_URL"] = base
        get_settings.cache_clear()
    settings = get_settings()
    print(f"Seeding the Nimbus Cloud demo program in {settings.database_url}", file=sys.stderr)
    summary = seed(settings.database_url, progress=_Progress())
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
    for role, email, password in sign_ins(summary):
        print(f"  {role:<17}{email:<40} {password}")
    print()
    print(f"  Dashboard  {base}/dashboard")
    print(f"  API docs   {base}/api/docs")
    print(f"  Health     {base}/api/v1/health")
    if not serve:
        return
    uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level)


def sign_ins(summary: SeedSummary) -> list[tuple[str, str, str]]:
    """One user of each role: what to call them, their address and password."""
    found = [
        ("admin", ADMIN_EMAIL, ADMIN_PASSWORD),
        ("program manager", MANAGER_EMAIL, MANAGER_PASSWORD),
        ("governance owner", GOVERNANCE_EMAIL, GOVERNANCE_PASSWORD),
        ("auditor", AUDITOR_EMAIL, AUDITOR_PASSWORD),
    ]
    if summary.partner_admin_email:
        found.append(("partner admin", summary.partner_admin_email, PARTNER_ADMIN_PASSWORD))
        member = member_email(summary.partner_admin_email)
        found.append(("partner member", member, PARTNER_MEMBER_PASSWORD))
    return found
