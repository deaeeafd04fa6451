"""Storage: engine, sessions, base model and migrations."""
