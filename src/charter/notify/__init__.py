"""Notify: see the package's modules."""
