"""Serving: ``charter demo`` seeds the demo database, prints how to sign in, and serves."""

from __future__ import annotations

import uvicorn

from charter.app import create_app
from charter.config import get_settings
from charter.demo.people import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    MANAGER_EMAIL,
    MANAGER_PASSWORD,
    PARTNER_ADMIN_PASSWORD,
)
from charter.demo.seeding import seed


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
    print()
    print("Sign in (demo credentials, for this local demo only):")
    print(f"  admin            {ADMIN_EMAIL:<40} {ADMIN_PASSWORD}")
    print(f"  program manager  {MANAGER_EMAIL:<40} {MANAGER_PASSWORD}")
    if summary.partner_admin_email:
        print(f"  partner admin    {summary.partner_admin_email:<40} {PARTNER_ADMIN_PASSWORD}")
    print()
    print(f"  Dashboard  {base}/dashboard")
    print(f"  API docs   {base}/api/docs")
    print(f"  Health     {base}/api/v1/health")
    if not serve:
        return
    uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level)
