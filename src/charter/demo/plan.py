"""What the plan is made of: the firms, people and awards the planner draws, each action at
its time, and the world of ids its steps fill in as the history is replayed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from charter.core.auth import Principal
from charter.demo.catalogue import Cert
from charter.demo.vocabulary import PartnerType, Region, Track
from charter.partners.enums import PartnerStatus


@dataclass
class World:
    """Ids of what has been created so far, by plan key."""

    manager: Principal
    worker: Principal
    certs: dict[str, str] = field(default_factory=dict)
    firms: dict[int, str] = field(default_factory=dict)
    people: dict[int, str] = field(default_factory=dict)
    awards: dict[int, str] = field(default_factory=dict)
    products: dict[str, str] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)
    # The firm's agreement in force on a template: (firm index, template code) -> id.
    agreements: dict[tuple[int, str], str] = field(default_factory=dict)
    # Licenses by plan index, and their keys (shown once, at issue) by license id.
    licenses: dict[int, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    # Deployments made: (license id, fingerprint).
    deployed: set[tuple[str, str]] = field(default_factory=set)
    # The licenses the last day's story happens to, by role (chosen when it happens).
    story: dict[str, str] = field(default_factory=dict)


Step = Callable[[Session, World], None]


@dataclass(order=True)
class Action:
    """A step of the history at its time; ties run in the order they were planned."""

    at: datetime
    order: int
    step: Step = field(compare=False)


@dataclass
class FirmPlan:
    """A partner firm as planned: who it is, and when it applied, went live and left."""

    index: int
    size: str
    name: str
    slug: str
    type: PartnerType
    regions: list[Region]
    country: str
    locale: str
    final: PartnerStatus
    applied_at: datetime
    active_at: datetime | None = None
    ends_at: datetime | None = None  # suspension or termination


@dataclass
class PersonPlan:
    """A member of a firm's staff as planned (``firm`` is where they work now)."""

    index: int
    firm: int
    track: Track
    joined_at: datetime


@dataclass
class AwardPlan:
    """An award as planned, and what happens to it later."""

    key: int
    person: int
    cert: Cert
    issued_at: datetime
    valid_until: datetime
    renewable: bool
    renewed: bool = False
    touched: bool = False  # suspended or revoked


@dataclass
class ActivationPlan:
    """A deployment of a licensed product as planned: where, when, and whether it still
    heartbeats today."""

    fingerprint: str
    region: str
    customer: str
    at: datetime
    alive: bool = True


@dataclass
class LicensePlan:
    """A license as planned: the firm's agreement it is issued under, and what happens to it."""

    index: int
    firm: int
    template: str
    issued_at: datetime
    seats: int
    seat_model: str
    regions: list[str]
    valid_until: datetime | None = None  # None: the agreement's term
    fate: str = "active"  # active, suspended, revoked or expired
    fate_at: datetime | None = None
    activations: list[ActivationPlan] = field(default_factory=list)
    usage_base: int = 0  # weekly API calls at issue (usage-metered licenses only)
