"""Bonuses, without I/O: the rules (data, `bonus_rules.toml`), the milestones a hire or a won
deal creates, their approval, and the clawback when a hire leaves before a milestone.

A milestone due now is a bonus `pending_approval`; one due later is `scheduled` until its day
(the scheduler moves it), unless the hire left before: then it is `cancelled` with the reason.
Approval publishes `ReferralBonusEarned`; payroll marks it `paid`.
"""

import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from services.referrals.domain import CANDIDATE, CLIENT, Referral, amount
from shared.events.referrals import ReferralBonusEarned

RULES_FILE = Path(__file__).with_name("bonus_rules.toml")
SCHEDULED, PENDING, APPROVED, REJECTED, PAID, CANCELLED = "scheduled", "pending_approval", "approved", "rejected", "paid", "cancelled"
STATUSES = (SCHEDULED, PENDING, APPROVED, REJECTED, PAID, CANCELLED)
# What each decision may follow.
DECISIONS = {APPROVED: (PENDING,), REJECTED: (PENDING,), PAID: (APPROVED,)}


class BonusRulesError(Exception):
    pass


class DecisionRefused(Exception):
    """A bonus that cannot take this decision in its status (approving a paid one, ...)."""


@dataclass(frozen=True)
class Milestone:
    after_days: int  # after the hire (or the won deal); 0: at once
    share: Decimal  # percent of the bonus


@dataclass(frozen=True)
class BonusRule:
    kind: str
    currency: str
    milestones: tuple[Milestone, ...]
    amount: Decimal | None = None  # candidates: a fixed sum
    percent: Decimal | None = None  # clients: a share of the deal...
    cap: Decimal | None = None  # ...at most this much
    country: str | None = None
    job_level: str | None = None

    def matches(self, referral: Referral) -> bool:
        d = referral.details
        return (self.kind == referral.kind and self.country in (None, d.get("country"))
                and self.job_level in (None, d.get("job_level")))

    @property
    def specificity(self) -> int:
        return (self.country is not None) + (self.job_level is not None)

    def total(self, referral: Referral) -> Decimal | None:
        if self.kind == CANDIDATE:
            return self.amount
        deal = referral.deal_value or {}
        if deal.get("currency") != self.currency or self.percent is None:
            return None  # a deal in another currency is for a person to judge
        value = Decimal(str(deal["amount"])) * self.percent / 100
        return amount(min(value, self.cap) if self.cap is not None else value)


@dataclass
class Bonus:
    bonus_id: str
    referral_id: str
    alumnus_id: str | None
    milestone: int
    due_on: date
    amount: Decimal
    currency: str
    status: str
    created_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    reason: str | None = None
    clawed_back: bool = False  # cancelled by a departure, which may still be rescinded

    def decide(self, decision: str, now: datetime, by: str, reason: str | None = None) -> ReferralBonusEarned | None:
        if self.status not in DECISIONS[decision]:
            raise DecisionRefused(f"a {self.status} bonus cannot be {decision}")
        self.status, self.decided_at, self.decided_by, self.reason = decision, now, by, reason or self.reason
        if decision == APPROVED and self.alumnus_id is not None:
            return ReferralBonusEarned(referral_id=self.referral_id, alumnus_id=self.alumnus_id, amount=self.amount,
                                       currency=self.currency, earned_at=now)
        return None

    def fall_due(self, today: date) -> bool:
        if self.status != SCHEDULED or self.due_on > today:
            return False
        self.status = PENDING
        return True

    def claw_back(self, left_on: date, now: datetime) -> bool:
        """The hire left on `left_on`: a milestone not yet due then is cancelled."""
        if self.status != SCHEDULED or self.due_on <= left_on:
            return False
        self.status, self.decided_at, self.reason = CANCELLED, now, f"the hire left on {left_on.isoformat()}, before this milestone"
        self.clawed_back = True
        return True

    def departure_rescinded(self, today: date) -> bool:
        """The departure that clawed this milestone back was cancelled: it is due again."""
        if self.status != CANCELLED or not self.clawed_back:
            return False
        self.status, self.decided_at, self.reason, self.clawed_back = SCHEDULED, None, None, False
        self.fall_due(today)
        return True

    def referrer_erased(self, now: datetime) -> None:
        """An erased referrer: pending and scheduled bonuses are cancelled; an approved or paid
        one keeps what payroll needs (its alumnus id, amount and currency), nothing personal."""
        if self.status in (SCHEDULED, PENDING):
            self.status, self.decided_at, self.reason = CANCELLED, now, "the referrer was erased"


@dataclass(frozen=True)
class BonusRules:
    rules: tuple[BonusRule, ...]

    def rule_for(self, referral: Referral) -> BonusRule | None:
        matching = [r for r in self.rules if r.matches(referral)]
        return max(matching, key=lambda r: r.specificity) if matching else None

    def milestones(self, referral: Referral, new_id, now: datetime) -> list[Bonus]:
        """The bonuses a hire (or a won deal) creates, one per milestone of its rule."""
        rule = self.rule_for(referral)
        total = rule.total(referral) if rule else None
        if rule is None or total is None or referral.hired_at is None:
            return []
        start = referral.hired_at.date()
        bonuses = []
        for index, milestone in enumerate(rule.milestones):
            due = start + timedelta(days=milestone.after_days)
            bonuses.append(Bonus(
                bonus_id=new_id(), referral_id=referral.referral_id, alumnus_id=referral.alumnus_id, milestone=index,
                due_on=due, amount=amount(total * milestone.share / 100), currency=rule.currency,
                status=PENDING if due <= now.date() else SCHEDULED, created_at=now,
            ))
        return bonuses


def _rule(raw: dict[str, Any]) -> BonusRule:
    milestones = tuple(Milestone(int(m["after_days"]), Decimal(str(m["share"]))) for m in raw["milestones"])
    if not milestones or sum(m.share for m in milestones) != 100 or any(m.after_days < 0 for m in milestones):
        raise BonusRulesError(f"the milestones of a rule share 100 percent, from day 0 on: {raw}")
    rule = BonusRule(
        kind=raw["kind"], currency=raw["currency"], milestones=milestones,
        amount=Decimal(str(raw["amount"])) if "amount" in raw else None,
        percent=Decimal(str(raw["percent"])) if "percent" in raw else None,
        cap=Decimal(str(raw["cap"])) if "cap" in raw else None,
        country=raw.get("country"), job_level=raw.get("job_level"),
    )
    if rule.kind not in (CANDIDATE, CLIENT) or (rule.kind == CANDIDATE) != (rule.amount is not None) or (rule.kind == CLIENT) != (rule.percent is not None):
        raise BonusRulesError(f"a candidate rule has an amount, a client rule a percent (and an optional cap): {raw}")
    return rule


def load_rules(path: Path = RULES_FILE) -> BonusRules:
    try:
        return BonusRules(tuple(_rule(raw) for raw in tomllib.loads(path.read_text()).get("rule", [])))
    except (KeyError, ValueError, ArithmeticError) as exc:
        raise BonusRulesError(f"{path.name}: a rule is malformed ({type(exc).__name__}: {exc})") from None
