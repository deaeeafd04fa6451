"""Issuing credentials for many awards at once: signed in worker processes, stored in bulk."""
