"""Webhook endpoints and their delivery log over HTTP."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["webhooks"])
