"""What can go wrong when software checks its license, as exceptions it can act on."""

from __future__ import annotations


class LicenseError(Exception):
    """Base of the client's errors; ``str()`` is a sentence a person can read."""


class Unreachable(LicenseError):
    """The license server could not be reached (network, timeout, or it answered 5xx/429)."""


class SignatureRejected(LicenseError):
    """A server answer whose signature, digest, nonce or key does not hold: not believed."""


class TokenRejected(LicenseError):
    """An offline token that does not verify; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"license token rejected: {reason}")
        self.reason = reason


class Refused(LicenseError):
    """The server refused a request: ``status`` (HTTP), ``code`` (the problem's ``code``, such
    as ``TOO_MANY_ACTIVATIONS``, or the problem type's last segment) and ``detail``."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
