"""Tiers: see the package's modules."""
