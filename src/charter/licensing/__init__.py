"""Licensing: products, agreement templates and signed agreements, licenses and their keys."""
