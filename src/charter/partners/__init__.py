"""Partner firms, their people, onboarding and lifecycle."""
