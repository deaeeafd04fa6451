"""The licensing part of the demo's history, drawn from a seed of its own.

Ten months ago the program started licensing three products. Most active firms sign the Edge
reseller agreement (a second version, three months old, lowered the royalty; some firms
signed it again), about half the connectors' usage agreement, and those with a certified
security specialist the Security Toolkit's. A few hundred licenses follow, most active, some
suspended, revoked or expired; many are deployed (node-locked machines, floating leases) and
the connectors report their API calls every week, one firm past its monthly cap. In the last
days a proctoring review annuls some security exams (their firms' toolkit licenses enter
grace), a deployment asks to run outside its license's territory, and licensed software does
things the anomaly rules catch: a shared key, cycled seats, use from outside the territory
and after revocation, a usage spike.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from charter.demo import licensing_steps as steps
from charter.demo.catalogue import (
    EDGE_V2_EFFECTIVE,
    EDGE_V2_PUBLISHED,
    LICENSE_REVOCATIONS,
    LICENSE_SUSPENSIONS,
    LICENSING_LAUNCHED,
    TEMPLATE_BY_CODE,
)
from charter.demo.people import CUSTOMERS
from charter.demo.plan import ActivationPlan, FirmPlan, LicensePlan
from charter.demo.vocabulary import Region
from charter.licensing.enums import LicenseStatus
from charter.partners.enums import PartnerStatus

if TYPE_CHECKING:
    from charter.demo.planner import Planner

SEED = 20_230_603
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
USAGE_GROWTH = 0.015
"""Weekly growth of the connectors' API calls."""
HEAVY_USAGE = 650_000
"""Weekly API calls of the one license that passes its monthly cap."""
LICENSES_PER_FIRM = {"small": (2, 5), "mid": (4, 7), "large": (6, 11)}
SEATS = {"NEG-RESELL": (2, 3, 5, 10, 25), "NDC-USAGE": (1, 2, 3), "NST-SPECIALIST": (2, 3, 5)}
SIGNING_SHARE = {"NEG-RESELL": 0.9, "NDC-USAGE": 0.55, "NST-SPECIALIST": 0.5}
SIGNERS = ("Alex Moreau", "Dana Whitfield", "Kenji Watanabe", "Lucía Herrera", "Priya Menon")


class LicensingPlanner:
    """Draws the licensing history and schedules it on the main planner."""

    def __init__(self, planner: Planner) -> None:
        self.planner = planner
        self.now = planner.now
        self.launch = self.now - LICENSING_LAUNCHED
        self.random = random.Random(SEED)  # noqa: S311 - demo data, not secrets
        self.licenses: list[LicensePlan] = []

    def between(self, low: datetime, high: datetime) -> datetime:
        """A random instant in [low, high], to the minute."""
        if high <= low:
            return low
        seconds = self.random.uniform(0, (high - low).total_seconds())
        return (low + timedelta(seconds=seconds)).replace(second=0, microsecond=0)

    def plan(self) -> None:
        """Schedule the whole licensing history."""
        at = self.planner.at
        at(self.launch, steps.launch_licensing)
        at(self.now - EDGE_V2_PUBLISHED, steps.publish_edge_v2(self.now - EDGE_V2_EFFECTIVE))
        signed = self._agreements()
        self._draw_licenses(signed)
        for plan in self.licenses:
            self._schedule(plan)
        self._story()
        self._usage()
        self._sweeps()

    def _eligible(self) -> list[FirmPlan]:
        return [
            firm
            for firm in self.planner.firms
            if firm.final in (PartnerStatus.ACTIVE, PartnerStatus.SUSPENDED)
            and firm.active_at is not None
            and firm.active_at < self.now - 60 * DAY
            and (firm.ends_at is None or firm.ends_at > self.launch + 60 * DAY)
        ]

    def _end_of(self, firm: FirmPlan) -> datetime:
        return (firm.ends_at or self.now) - 2 * DAY

    def _agreements(self) -> dict[tuple[int, str], datetime]:
        """When each firm signs each template (a firm short of its requirements then does
        not); some sign the Edge agreement's second version again."""
        signed: dict[tuple[int, str], datetime] = {}
        v2_from = self.now - EDGE_V2_EFFECTIVE
        for firm in self._eligible():
            assert firm.active_at is not None
            signer = (
                self.random.choice(SIGNERS),
                f"legal@{firm.slug}.example",
            )
            first = max(self.launch + DAY, firm.active_at + 5 * DAY)
            for code in TEMPLATE_BY_CODE:
                if self.random.random() >= SIGNING_SHARE[code]:
                    continue
                when = self.between(first, min(self._end_of(firm), self.now - 60 * DAY))
                signed[(firm.index, code)] = when
                self.planner.at(when, steps.sign(firm.index, code, signer))
            edge = signed.get((firm.index, "NEG-RESELL"))
            if edge is not None and edge < v2_from and self.random.random() < 0.4:
                again = self.between(
                    v2_from + 5 * DAY, min(self._end_of(firm), self.now - 10 * DAY)
                )
                if again > v2_from:
                    self.planner.at(again, steps.sign(firm.index, "NEG-RESELL", signer))
        return signed

    def _draw_licenses(self, signed: dict[tuple[int, str], datetime]) -> None:
        for (index, code), when in sorted(signed.items(), key=lambda item: item[1]):
            firm = self.planner.firms[index]
            low, high = LICENSES_PER_FIRM[firm.size]
            count = (
                self.random.randint(low, high)
                if code == "NEG-RESELL"
                else (self.random.randint(1, 3))
            )
            for _ in range(count):
                issued = self.between(when + DAY, self._end_of(firm) - DAY)
                if issued >= self.now - DAY:
                    continue
                model = TEMPLATE_BY_CODE[code]["seat_model"]
                if code == "NEG-RESELL" and self.random.random() < 0.2:
                    model = "floating"
                plan = LicensePlan(
                    index=len(self.licenses),
                    firm=index,
                    template=code,
                    issued_at=issued,
                    seats=self.random.choice(SEATS[code]),
                    seat_model=model,
                    regions=[region.value for region in firm.regions],
                )
                self._fate(plan, firm)
                self._deployments(plan)
                if code == "NDC-USAGE":
                    plan.usage_base = self.random.randint(30_000, 150_000)
                self.licenses.append(plan)

    def _fate(self, plan: LicensePlan, firm: FirmPlan) -> None:
        draw = self.random.random()
        if draw < 0.07:
            plan.fate = "suspended"
        elif draw < 0.13:
            plan.fate = "revoked"
        elif draw < 0.25 and plan.issued_at < self.now - 100 * DAY:
            # Short evaluation licenses, ended weeks ago.
            plan.fate = "expired"
            plan.valid_until = plan.issued_at + self.random.randint(60, 90) * DAY
        if plan.fate in ("suspended", "revoked"):
            low = plan.issued_at + 20 * DAY
            plan.fate_at = self.between(low, max(low, self._end_of(firm)))
            if plan.fate_at >= self.now - DAY:
                plan.fate, plan.fate_at = "active", None

    def _deployments(self, plan: LicensePlan) -> None:
        if self.random.random() >= 0.7:
            return
        if plan.seat_model == "floating":
            if plan.fate != "active":
                return
            for n in range(self.random.randint(1, plan.seats)):
                alive = self.random.random() < 0.85
                # Leases: the running ones were taken minutes ago; the others went quiet.
                when = (
                    self.between(self.now - 18 * MINUTE, self.now - 8 * MINUTE)
                    if alive
                    else self.between(self.now - 3 * 60 * MINUTE, self.now - 60 * MINUTE)
                )
                plan.activations.append(self._deployment(plan, n, when, alive))
            return
        end = plan.fate_at or plan.valid_until or self.now
        for n in range(self.random.randint(1, min(plan.seats, 4))):
            when = self.between(plan.issued_at + DAY, end - DAY)
            if when <= plan.issued_at:
                continue
            # Most machines are online; a few have not been heard from since they activated.
            plan.activations.append(self._deployment(plan, n, when, self.random.random() < 0.8))

    def _deployment(self, plan: LicensePlan, n: int, when: datetime, alive: bool) -> ActivationPlan:
        return ActivationPlan(
            fingerprint=f"{plan.template.lower()}-{plan.index:04d}-node-{n + 1:02d}",
            region=self.random.choice(plan.regions),
            customer=self.random.choice(CUSTOMERS),
            at=when,
            alive=alive,
        )

    def _story(self) -> None:
        """The last day's story; its licenses are chosen as it happens (see the steps)."""
        at = self.planner.at
        now = self.now
        copies = [(f"copied-install-{n:02d}", None, 10 + n) for n in range(9)]
        at(
            now - 50 * MINUTE,
            steps.validations("shared", copies, product="NEG", max_seats=3),
        )
        for n in range(4):
            at(now - (25 - 3 * n) * MINUTE, steps.activation_cycle(f"rotating-kiosk-{n + 1:02d}"))
        away = Region.APAC.value
        field_units = [(f"field-unit-{n:02d}", away, 30 + n) for n in range(4)]
        at(
            now - 40 * MINUTE,
            steps.validations("outside", field_units, product="NEG", one_region=True),
        )
        at(
            now - 3 * 60 * MINUTE,
            steps.deploy_outside(
                away,
                "Southern Cross Logistics",
                "The customer's new distribution centre in Sydney needs the gateway on site.",
            ),
        )
        at(
            now - 35 * MINUTE,
            steps.validations("moving", [("moving-gateway-0001", away, 40)], product="NEG"),
        )
        still = [("still-running-01", None, 50 + n) for n in range(3)]
        at(
            now - 30 * MINUTE,
            steps.validations("revoked", still, product="NEG", status=LicenseStatus.REVOKED),
        )
        at(now - 12 * DAY, steps.issue_for_spike)
        for day in range(10, 0, -1):
            at(now - day * DAY, steps.daily_usage(day, 40_000 + (day * 3_700) % 9_000))
        at(now - 2 * 60 * MINUTE, steps.daily_usage(0, 420_000))

    def _schedule(self, plan: LicensePlan) -> None:
        at = self.planner.at
        at(plan.issued_at, steps.issue_license(plan))
        for deployment in plan.activations:
            at(deployment.at, steps.activate(plan, deployment))
        if plan.fate_at is not None:
            reasons = LICENSE_SUSPENSIONS if plan.fate == "suspended" else LICENSE_REVOCATIONS
            at(plan.fate_at, steps.license_fate(plan, reasons[plan.index % len(reasons)]))

    def _usage(self) -> None:
        metered = [plan for plan in self.licenses if plan.template == "NDC-USAGE"]
        week, when = 0, self.launch + 7 * DAY + 3 * 60 * MINUTE
        while when < self.now:
            self.planner.at(when, steps.report_usage(metered, week, USAGE_GROWTH, HEAVY_USAGE))
            week, when = week + 1, when + 7 * DAY

    def _sweeps(self) -> None:
        at = self.planner.at
        at(self.now - 12 * DAY, steps.annul_security_exams(2))
        when = self.launch + 7 * DAY + 30 * MINUTE
        while when < self.now:
            at(when, steps.licensing_sweep)
            when += 7 * DAY
        at(self.now - 5 * MINUTE, steps.heartbeats(self.licenses))
        at(self.now, steps.licensing_sweep)
        at(self.now, steps.reassess_licensed_firms)
        at(self.now, steps.scan_alerts)
