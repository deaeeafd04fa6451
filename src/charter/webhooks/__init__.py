"""Webhooks: see the package's modules."""
