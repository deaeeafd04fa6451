"""The types of approval request, and the appliers that carry out an approved change.

Approvals sit below the domains whose changes need approving (licensing, tiers, governance), so
they never import them: the domain that owns a type registers it, and its applier, when its
module is imported. :data:`TYPE_MODULES` lists those modules, and :func:`load` imports them
before any type is looked up, so that an API process and a worker know the same types whatever
they happened to import first (as :mod:`charter.worker.registry` does for handlers).

An applier is called with the session, a principal acting for the approval (the system,
named after the request: the approval is the authority for the change) and the request. It
makes the change in the caller's transaction and returns what it did (ids, values: JSON),
or raises a :class:`charter.core.errors.CharterError` when the change can no longer be made.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from charter.core.auth import Principal

if TYPE_CHECKING:
    from charter.approvals.models import ApprovalRequest

DEFAULT_SLA = timedelta(hours=72)
"""How long a request may wait for a decision before it is escalated, unless its type says."""

# Every module that registers approval types or appliers. Listed explicitly: a type nobody
# imports cannot be requested or applied.
TYPE_MODULES: tuple[str, ...] = ("charter.licensing.portability",)

TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")

Applier = Callable[[Session, Principal, "ApprovalRequest"], Mapping[str, Any] | None]
# Checks a request before it is stored (the subject exists, belongs to the firm...), raising
# Invalid, NotFound or Conflict; called with the requester as the principal.
Check = Callable[[Session, Principal, "ApprovalRequest"], None]


@dataclass(frozen=True, slots=True)
class ApprovalType:
    """A kind of exception that can be asked for, e.g. ``license.region``."""

    name: str
    title: str
    subject_type: str | None = None
    """The kind of subject every request of this type names; None: any."""
    change: type[BaseModel] | None = None
    """Validates ``proposed_change``; None: any JSON object."""
    direct: bool = False
    """Whether users may ask for it through the API; otherwise only its domain's own flows do."""
    sla: timedelta = DEFAULT_SLA
    """How long a decision may take before the request is escalated."""
    check: Check | None = None


_types: dict[str, ApprovalType] = {}
_appliers: dict[str, Applier] = {}


def register_type(
    name: str,
    *,
    title: str,
    subject_type: str | None = None,
    change: type[BaseModel] | None = None,
    direct: bool = False,
    sla: timedelta = DEFAULT_SLA,
    check: Check | None = None,
) -> ApprovalType:
    """Declare the type ``name`` (dotted, lower case: ``license.region``)."""
    if not TYPE_NAME.fullmatch(name) or len(name) > 64:
        raise ValueError(f"approval type {name!r} is not a dotted lower-case name")
    if sla <= timedelta(0):
        raise ValueError("an approval type's SLA must be positive")
    kind = ApprovalType(name, title, subject_type, change, direct, sla, check)
    _types[name] = kind
    return kind


def register_applier(name: str, applier: Applier) -> Applier:
    """Make ``applier`` carry out the approved changes of type ``name``."""
    _appliers[name] = applier
    return applier


def applies(name: str) -> Callable[[Applier], Applier]:
    """Decorator form of :func:`register_applier`."""

    def register(applier: Applier) -> Applier:
        return register_applier(name, applier)

    return register


def load() -> None:
    """Import every module that registers types, so that all of them are known."""
    for module in TYPE_MODULES:
        importlib.import_module(module)


def find_type(name: str) -> ApprovalType | None:
    """The registered type ``name``, or None."""
    load()
    return _types.get(name)


def types() -> list[ApprovalType]:
    """Every registered type, by name."""
    load()
    return [_types[name] for name in sorted(_types)]


def applier_for(name: str) -> Applier | None:
    """The applier of type ``name``, or None when approving it changes nothing by itself."""
    load()
    return _appliers.get(name)
