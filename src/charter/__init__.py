"""Charter: the partner program engine."""

__version__ = "0.1.0"
