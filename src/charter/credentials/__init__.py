"""Awards (credentials) to people and, later, firms."""
