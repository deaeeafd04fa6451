"""The planner: the demo's history drawn from fixed seeds, as time-ordered actions.

Firms apply, are onboarded and go live (a few are suspended or leave); their staff join and
move, train, sit exams, pass labs and bring references; awards are issued, renewed, expire,
and a few are suspended or revoked; customer satisfaction surveys are imported and the tiers
published; the worker's weekly sweep runs throughout. Every draw comes from fixed seeds, so
the history is the same every time, dated relative to ``now``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from faker import Faker

from charter.demo import steps
from charter.demo.catalogue import (
    AT_RISK_AFTER_SURVEY,
    CERTIFICATIONS,
    CERTS,
    SURVEYS,
    TIERS_PUBLISHED,
    Cert,
)
from charter.demo.licensing_planner import LicensingPlanner
from charter.demo.people import (
    AWARD_REVOCATIONS,
    AWARD_SUSPENSIONS,
    COUNTRIES,
    CUSTOMERS,
    HEADCOUNT,
    NAME_CORES,
    NAME_PREFIXES,
    REGION_WEIGHTS,
    SUSPENSION_REASONS,
    TYPES,
    slug,
)
from charter.demo.plan import Action, AwardPlan, FirmPlan, PersonPlan, Step
from charter.demo.vocabulary import PartnerType, Track
from charter.partners.enums import OnboardingCheck, PartnerStatus
from charter.programs.enums import AssessmentKind

SEED = 20_230_601
HISTORY = timedelta(days=3 * 365)
DAY = timedelta(days=1)


class Planner:
    """Draws the demo's history and turns it into time-ordered actions."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.start = now - HISTORY
        self.random = random.Random(SEED)  # noqa: S311 - demo data, not secrets
        locales = sorted({locale for rows in COUNTRIES.values() for _, locale, _ in rows})
        self.faker = Faker(locales)
        self.faker.seed_instance(SEED)
        self.actions: list[Action] = []
        self.firms: list[FirmPlan] = []
        self.people: list[PersonPlan] = []
        self.awards: list[AwardPlan] = []
        self.emails: set[str] = set()
        self.partner_admin_email: str | None = None
        self._order = 0
        self._award_keys = 0
        self._exam_sittings = 0

    def at(self, when: datetime, step: Step) -> None:
        """Schedule ``step`` at ``when`` (ties run in the order scheduled)."""
        self._order += 1
        self.actions.append(Action(when, self._order, step))

    def between(self, low: datetime, high: datetime) -> datetime:
        """A random instant in [low, high], to the minute."""
        if high <= low:
            return low
        seconds = self.random.uniform(0, (high - low).total_seconds())
        return (low + timedelta(seconds=seconds)).replace(second=0, microsecond=0)

    def plan(self) -> list[Action]:
        """The whole history, sorted by time."""
        self._program()
        self._firms()
        for firm in self.firms:
            self._firm_lifecycle(firm)
            self._staff(firm)
        self._moves()
        for person in self.people:
            self._pursuits(person)
        self._forced_expiring()
        self._renewals()
        self._incidents()
        self._tiers()
        self._sweeps()
        LicensingPlanner(self).plan()
        return sorted(self.actions)

    def _program(self) -> None:
        launch = self.start - timedelta(days=45)
        self.at(launch, steps.program_staff)
        for offset, cert in enumerate(CERTIFICATIONS):
            self.at(launch + timedelta(hours=2 + offset), steps.create_certification(cert))
        announced = self.now - timedelta(days=400)
        self.at(announced, steps.publish_professional_v2(self.now - timedelta(days=365)))

    def _firms(self) -> None:
        sizes = ["small"] * 30 + ["mid"] * 20 + ["large"] * 10
        finals: dict[int, PartnerStatus] = {}
        # A few firms are not (or no longer) active, as in any real program.
        for index, status in (
            (3, PartnerStatus.APPLICANT),
            (17, PartnerStatus.APPLICANT),
            (8, PartnerStatus.ONBOARDING),
            (25, PartnerStatus.ONBOARDING),
            (41, PartnerStatus.ONBOARDING),
            (12, PartnerStatus.SUSPENDED),
            (36, PartnerStatus.SUSPENDED),
            (52, PartnerStatus.SUSPENDED),
            (21, PartnerStatus.TERMINATED),
        ):
            finals[index] = status
        names: set[str] = set()
        regions = list(REGION_WEIGHTS)
        weights = list(REGION_WEIGHTS.values())
        for index, size in enumerate(sizes):
            home = self.random.choices(regions, weights)[0]
            country, locale, suffix = self.random.choice(COUNTRIES[home])
            while True:
                prefix = self.random.choice(NAME_PREFIXES)
                core = self.random.choice(NAME_CORES[size])
                if f"{prefix} {core}" not in names:
                    break
            names.add(f"{prefix} {core}")
            extra = {"small": 0, "mid": self.random.choice((0, 0, 1)), "large": 2}[size]
            others = self.random.sample([r for r in regions if r is not home], extra)
            final = finals.get(index, PartnerStatus.ACTIVE)
            if final is PartnerStatus.APPLICANT:
                applied = self.between(self.now - 20 * DAY, self.now - 2 * DAY)
            elif final is PartnerStatus.ONBOARDING:
                applied = self.between(self.now - 70 * DAY, self.now - 30 * DAY)
            else:
                # Larger firms joined the program earlier, on the whole.
                latest = {"small": 150, "mid": 300, "large": 700}[size]
                if final is PartnerStatus.TERMINATED:
                    latest = 500
                applied = self.between(self.start, self.now - latest * DAY)
            self.firms.append(
                FirmPlan(
                    index=index,
                    size=size,
                    name=f"{prefix} {core} {suffix}",
                    slug=slug(f"{prefix} {core}", "-"),
                    type=self.random.choice(TYPES[size]),
                    regions=[home, *others],
                    country=country,
                    locale=locale,
                    final=final,
                    applied_at=applied,
                )
            )
        # Every type of firm is represented, whatever the draw.
        for firm, kind in zip(self.firms[-6:], PartnerType, strict=True):
            firm.type = kind

    def _firm_lifecycle(self, firm: FirmPlan) -> None:
        index = firm.index
        self.at(firm.applied_at, steps.create_partner(firm))
        if firm.final is PartnerStatus.APPLICANT:
            return
        accepted = firm.applied_at + self.random.randint(3, 10) * DAY
        self.at(
            accepted, steps.partner_status(index, PartnerStatus.ONBOARDING, "Application accepted")
        )
        checks = list(OnboardingCheck)
        if firm.final is PartnerStatus.ONBOARDING:
            checks = checks[: self.random.randint(1, 3)]
        done = accepted
        for check in checks:
            done = done + self.random.randint(2, 12) * DAY
            self.at(min(done, self.now - DAY), steps.onboarding(index, check))
        if firm.final is PartnerStatus.ONBOARDING:
            return
        firm.active_at = done + self.random.randint(1, 5) * DAY
        self.at(
            firm.active_at,
            steps.partner_status(
                index, PartnerStatus.ACTIVE, "Onboarding complete; welcome aboard"
            ),
        )
        # Most firms choose to be listed in the directory (no draw: the plan stays as it was).
        if firm.index % 4 != 3:
            self.at(firm.active_at + DAY, steps.list_in_directory(firm))
        if firm.final is PartnerStatus.SUSPENDED:
            firm.ends_at = self.between(
                max(firm.active_at + 30 * DAY, self.now - 120 * DAY), self.now - 10 * DAY
            )
            reason = SUSPENSION_REASONS[len([f for f in self.firms if f.ends_at]) % 3]
            self.at(firm.ends_at, steps.partner_status(index, PartnerStatus.SUSPENDED, reason))
        elif firm.final is PartnerStatus.TERMINATED:
            firm.ends_at = self.now - 75 * DAY
            self.at(
                firm.ends_at,
                steps.partner_status(
                    index,
                    PartnerStatus.TERMINATED,
                    "Partner agreement terminated at the partner's request (business closed)",
                ),
            )
        if (
            firm.size == "large"
            and firm.final is PartnerStatus.ACTIVE
            and self.partner_admin_email is None
        ):
            self.partner_admin_email = f"admin@{firm.slug}.example"
            self.at(
                firm.active_at + 2 * DAY,
                steps.partner_admin(index, self.partner_admin_email),
            )

    def _staff(self, firm: FirmPlan) -> None:
        if firm.final is PartnerStatus.APPLICANT:
            return
        if firm.final is PartnerStatus.ONBOARDING:
            # Staff are registered once the application is accepted.
            first = firm.applied_at + 11 * DAY
            count, last = self.random.randint(2, 4), self.now - DAY
        else:
            low, high = HEADCOUNT[firm.size]
            assert firm.active_at is not None
            count = self.random.randint(low, high)
            first, last = firm.active_at, (firm.ends_at or self.now) - 5 * DAY
        tracks = [Track.SALES, Track.TECHNICAL, Track.SUPPORT]
        for n in range(count):
            # Most staff are enrolled soon after the firm joins; the rest trickle in.
            share = self.random.random() ** 1.8
            joined = first + DAY + (last - first - DAY) * share if n else first + DAY
            joined = joined.replace(second=0, microsecond=0)
            track = self.random.choices(tracks, (35, 45, 20))[0]
            person = PersonPlan(len(self.people), firm.index, track, joined)
            self.people.append(person)
            given, family, email = self._name(firm)
            self.at(
                joined, steps.create_person(person.index, firm.index, track, given, family, email)
            )

    def _name(self, firm: FirmPlan) -> tuple[str, str, str]:
        local = self.faker[firm.locale]
        given, family = local.first_name(), local.last_name()
        base = f"{slug(given)}.{slug(family)}"
        email, n = f"{base}@{firm.slug}.example", 1
        while email in self.emails:
            n += 1
            email = f"{base}{n}@{firm.slug}.example"
        self.emails.add(email)
        return given, family, email

    def _moves(self) -> None:
        # People change jobs: some move to another active firm, a few leave the program.
        active = [f for f in self.firms if f.final is PartnerStatus.ACTIVE]
        movers = [
            p
            for p in self.people
            if self.firms[p.firm].final is PartnerStatus.ACTIVE
            and p.joined_at < self.now - 300 * DAY
        ]
        for person in self.random.sample(movers, min(18, len(movers))):
            when = self.between(person.joined_at + 120 * DAY, self.now - 30 * DAY)
            targets = [
                f for f in active if f.index != person.firm and f.active_at and f.active_at < when
            ]
            if targets and self.random.random() < 0.75:
                target = self.random.choice(targets)
                self.at(when, steps.join(person.index, target.index))
                person.firm = target.index
            else:
                self.at(when, steps.leave(person.index))

    def _limit(self, person: PersonPlan) -> datetime:
        firm = self.firms[person.firm]
        return (firm.ends_at or self.now) - 2 * DAY

    def _pursuits(self, person: PersonPlan) -> None:
        firm = self.firms[person.firm]
        if firm.final is PartnerStatus.ONBOARDING:
            # Not yet in the program: some have started their training.
            cert = {Track.SALES: "NCSP", Track.TECHNICAL: "NCSA-A", Track.SUPPORT: "NCSE"}
            training = CERTS[cert[Track(person.track)]].training
            if training and self.random.random() < 0.5:
                when = self.between(person.joined_at + DAY, self.now - DAY)
                self.at(
                    when, steps.assessment(person.index, AssessmentKind.TRAINING, training, None)
                )
            return
        if person.track is Track.SALES and self.random.random() < 0.75:
            self._pursue(person, CERTS["NCSP"])
        elif person.track is Track.SUPPORT and self.random.random() < 0.75:
            self._pursue(person, CERTS["NCSE"])
        elif person.track is Track.TECHNICAL and self.random.random() < 0.8:
            associate = self._pursue(person, CERTS["NCSA-A"])
            if associate is not None:
                for code, chance in (("NCSA-P", 0.35), ("NSEC", 0.2)):
                    if self.random.random() < chance:
                        self._pursue(person, CERTS[code], after=associate)

    def _pursue(
        self,
        person: PersonPlan,
        cert: Cert,
        *,
        after: AwardPlan | None = None,
        issue_at: datetime | None = None,
    ) -> AwardPlan | None:
        earliest = person.joined_at + 30 * DAY
        limit = self._limit(person)
        if after is not None:
            # The prerequisite must still be held when this award is issued.
            earliest = after.issued_at + 90 * DAY
            limit = min(limit, after.valid_until - 30 * DAY)
        if issue_at is None:
            if earliest >= limit:
                return None
            # Most people certify within months of starting; a few take much longer.
            mean_days = 200 if after is not None else 110
            delay = timedelta(days=self.random.expovariate(1 / mean_days))
            issue_at = (earliest + delay).replace(second=0, microsecond=0)
            if issue_at >= limit or self.random.random() < 0.05:
                if limit < self.now - 3 * DAY:
                    return None  # the firm left the program before they finished
                # Still working toward it: the evidence so far, no award yet.
                issue_at = self.now + self.random.randint(5, 45) * DAY
        professional_v2 = cert.code == "NCSA-P" and issue_at >= self.now - 365 * DAY
        evidence = self._evidence(person, cert, issue_at, v2=professional_v2)
        for when, step in evidence:
            if when < self.now - timedelta(hours=1):
                self.at(when, step)
        if issue_at >= self.now:
            return None
        self._award_keys += 1
        plan = AwardPlan(
            key=self._award_keys,
            person=person.index,
            cert=cert,
            issued_at=issue_at,
            valid_until=issue_at + cert.validity_days * DAY,
            renewable=after is None,
        )
        self.awards.append(plan)
        self.at(issue_at, steps.issue(plan))
        return plan

    def _evidence(
        self, person: PersonPlan, cert: Cert, issue_at: datetime, *, v2: bool
    ) -> list[tuple[datetime, Step]]:
        """The assessments leading to an award at ``issue_at``, oldest first."""
        room = max(issue_at - person.joined_at - DAY, 6 * DAY)

        def before(days: int) -> datetime:
            # Offsets shrink for people who certify soon after joining.
            span = min(days * DAY, room * days / 70)
            return (issue_at - span).replace(second=0, microsecond=0)

        p = person.index
        evidence: list[tuple[datetime, Step]] = []
        if cert.training:
            evidence.append(
                (before(60), steps.assessment(p, AssessmentKind.TRAINING, cert.training, None))
            )
        labs = list(cert.labs) + (["NCSA-P-LAB-RESILIENCE"] if v2 else [])
        for n, lab in enumerate(labs):
            evidence.append(
                (before(30 - 5 * n), steps.assessment(p, AssessmentKind.LAB, lab, None))
            )
        for n in range(cert.references + (1 if v2 else 0)):
            customer = self.random.choice(CUSTOMERS)
            evidence.append(
                (before(45 - 6 * n), steps.assessment(p, AssessmentKind.REFERENCE, customer, None))
            )
        pass_score = 78.0 if v2 else cert.pass_score
        if self.random.random() < 0.18:
            failed = float(self.random.randint(45, int(pass_score) - 1))
            evidence.append((before(40), steps.exam(p, cert.exam, failed, passed=False)))
        score = float(self.random.randint(int(pass_score) + 1, 98))
        evidence.append((before(3), steps.exam(p, cert.exam, score, passed=True)))
        return evidence

    def _forced_expiring(self) -> None:
        # A handful of awards run out within the next month, not yet renewed: what a program
        # manager chases first.
        held = {(plan.person, plan.cert.code) for plan in self.awards}
        candidates = [
            p
            for p in self.people
            if p.track in (Track.SALES, Track.SUPPORT)
            and self.firms[p.firm].final is PartnerStatus.ACTIVE
            and p.joined_at < self.now - 790 * DAY
        ]
        count = 0
        for person in candidates:
            code = "NCSP" if person.track is Track.SALES else "NCSE"
            if (person.index, code) in held:
                continue
            cert = CERTS[code]
            issue_at = self.between(
                self.now - (cert.validity_days - 3) * DAY,
                self.now - (cert.validity_days - 28) * DAY,
            )
            plan = self._pursue(person, cert, issue_at=issue_at)
            if plan is not None:
                plan.renewable = False
                count += 1
            if count == 8:
                return

    def _renewals(self) -> None:
        for plan in self.awards:
            if not plan.renewable:
                continue
            opens = plan.valid_until - plan.cert.renewal_window_days * DAY
            if opens >= self.now - 2 * DAY:
                continue
            chance = 0.5 if plan.valid_until < self.now else 0.3
            if self.random.random() >= chance:
                continue
            when = self.between(
                opens + DAY, min(plan.valid_until - DAY, self.now - DAY, self._limit_of(plan))
            )
            if when <= opens:
                continue
            plan.renewed = True
            self.at(when - 2 * DAY, steps.exam(plan.person, f"{plan.cert.exam}-RECERT", 85, True))
            self.at(when, steps.renew(plan))

    def _limit_of(self, plan: AwardPlan) -> datetime:
        return self._limit(self.people[plan.person])

    def _incidents(self) -> None:
        # Revocations and suspensions hit awards that nothing else depends on.
        simple = [
            plan
            for plan in self.awards
            if plan.cert.code in ("NCSP", "NCSE")
            and not plan.renewed
            and plan.renewable
            and plan.issued_at < self.now - 120 * DAY
        ]
        self.random.shuffle(simple)
        revocable = [p for p in simple if p.valid_until > p.issued_at + 60 * DAY][:6]
        for plan, reason in zip(revocable, AWARD_REVOCATIONS, strict=False):
            plan.touched = True
            end = min(plan.valid_until, self.now) - 2 * DAY
            self.at(self.between(plan.issued_at + 20 * DAY, end), steps.revoke(plan, reason))
        current = [p for p in simple if not p.touched and p.valid_until > self.now + 60 * DAY]
        for n, plan in enumerate(current[:6]):
            plan.touched = True
            if n < 4:
                when = self.between(self.now - 50 * DAY, self.now - 3 * DAY)
                self.at(when, steps.suspend(plan, AWARD_SUSPENSIONS[n]))
            else:
                when = self.between(self.now - 120 * DAY, self.now - 70 * DAY)
                self.at(when, steps.suspend(plan, AWARD_SUSPENSIONS[n % 4]))
                self.at(
                    when + self.random.randint(10, 30) * DAY,
                    steps.reinstate(plan, "Investigation closed: no wrongdoing found"),
                )

    def _tiers(self) -> None:
        # Drawn from a generator of its own, so the rest of the history stays as it was.
        draw = random.Random(SEED + 1)  # noqa: S311 - demo data, not secrets
        level = {"small": 4.15, "mid": 4.3, "large": 4.45}
        usual = {firm.index: level[firm.size] + draw.uniform(-0.35, 0.3) for firm in self.firms}
        for number, ago in enumerate(SURVEYS, start=1):
            when = self.now - ago
            figures = {
                firm.index: round(
                    min(5.0, max(3.0, usual[firm.index] + draw.uniform(-0.15, 0.15))), 1
                )
                for firm in self.firms
                if firm.active_at is not None
                and firm.active_at < when
                and (firm.ends_at is None or firm.ends_at > when)
            }
            dips = AT_RISK_AFTER_SURVEY if number == len(SURVEYS) else 0
            self.at(when, steps.survey(number, figures, dips))
        self.at(self.now - TIERS_PUBLISHED, steps.publish_tiers)

    def _sweeps(self) -> None:
        # The worker stores expiries as they happen; here, once a week and once more today.
        when = self.start + 7 * DAY
        while when < self.now:
            self.at(when, steps.sweep)
            when += 7 * DAY
        self.at(self.now, steps.sweep)
