"""Domain errors, raised by services and rendered as RFC 9457 problem details.

Each error knows its HTTP status and a stable problem ``type``; the API turns it into an
``application/problem+json`` body, the CLI into a one-line message and a non-zero exit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from charter.core.i18n import N_

STANDARD_MEMBERS = frozenset({"type", "title", "status", "detail", "instance"})
"""RFC 9457's own members: an extension by one of these names would change what they mean."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """What is wrong with one input field (``field`` is a dotted path, or a CSV line)."""

    field: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        """The JSON shape used in problem details (with a JSON Pointer for tools)."""
        pointer = "#/" + "/".join(self.field.split(".")) if self.field else "#"
        return {"field": self.field, "pointer": pointer, "detail": self.detail}


class CharterError(Exception):
    """Base of every error a user can act on."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = N_("Bad request")

    def __init__(self, detail: str, **extensions: Any) -> None:
        clashing = STANDARD_MEMBERS.intersection(extensions)
        if clashing:
            names = ", ".join(sorted(clashing))
            raise TypeError(f"problem extensions may not be named {names} (RFC 9457 members)")
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    @property
    def type_uri(self) -> str:
        """The problem type, a URI relative to the deployment (documented at that path)."""
        return f"/problems/{self.slug}"

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 problem-details body; extensions never replace the standard members."""
        body: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(
            (name, value) for name, value in self.extensions.items() if name not in STANDARD_MEMBERS
        )
        return body


class NotFound(CharterError):
    """The thing asked for does not exist, or the caller may not know it exists."""

    status = 404
    slug = "not-found"
    title = N_("Not found")


class Conflict(CharterError):
    """The request clashes with the current state (a duplicate, a wrong transition)."""

    status = 409
    slug = "conflict"
    title = N_("Conflict")


class Invalid(CharterError):
    """Input that breaks a rule; names every field at fault."""

    status = 422
    slug = "validation"
    title = N_("Invalid input")

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or []
        self.extensions = {"errors": [error.as_dict() for error in self.errors]}

    @classmethod
    def field(cls, field: str, detail: str) -> Invalid:
        """One bad field."""
        return cls(f"{field}: {detail}", [FieldError(field, detail)])


class Unauthorized(CharterError):
    """No valid credentials were presented."""

    status = 401
    slug = "unauthorized"
    title = N_("Authentication required")


class Forbidden(CharterError):
    """The caller is known but may not do this."""

    status = 403
    slug = "forbidden"
    title = N_("Forbidden")


class CriteriaNotMet(CharterError):
    """An award was asked for but the criteria version in force is not met."""

    status = 422
    slug = "criteria-not-met"
    title = N_("Certification criteria not met")

    def __init__(self, detail: str, unmet: list[str]) -> None:
        super().__init__(detail, unmet=unmet)
        self.unmet = unmet


class RequirementsNotMet(CharterError):
    """A partner does not meet what an agreement requires of it (a tier, certified people)."""

    status = 422
    slug = "requirements-not-met"
    title = N_("Requirements not met")

    def __init__(self, detail: str, unmet: list[str]) -> None:
        super().__init__(detail, unmet=unmet)
        self.unmet = unmet


class Overloaded(CharterError):
    """The server cannot take this request now (at capacity, or a lock is held too long); the
    request changed nothing. Retry after the seconds ``Retry-After`` gives."""

    status = 503
    slug = "overloaded"
    title = N_("Service overloaded")

    def __init__(self, detail: str, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class TooManyAttempts(CharterError):
    """Too many failed attempts (at signing in) from this client or for this account; the
    attempt was not checked. Retry after the seconds ``Retry-After`` gives."""

    status = 429
    slug = "too-many-attempts"
    title = N_("Too many attempts")

    def __init__(self, detail: str, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


PROBLEM_TYPES: dict[str, type[CharterError]] = {
    cls.slug: cls
    for cls in (
        CharterError,
        NotFound,
        Conflict,
        Invalid,
        Unauthorized,
        Forbidden,
        CriteriaNotMet,
        RequirementsNotMet,
        Overloaded,
        TooManyAttempts,
    )
}
