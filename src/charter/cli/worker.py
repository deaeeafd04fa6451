"""``charter worker``: processes the events log (emails, webhooks, expiry, tiers, reminders)."""

from __future__ import annotations
