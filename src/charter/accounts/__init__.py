"""Accounts: users, API keys and sign-in sessions (above partners: a user may belong to a firm)."""
