"""What follows a referral's move, wherever it comes from (the ATS, a person, the scheduler):
the move is announced and saved; an expired or withdrawn referral frees its claim; a hire or a
won deal creates its bonus milestones."""

from services.referrals.bonuses import CANCELLED
from services.referrals.dependencies import Dependencies
from services.referrals.domain import EXPIRED, HIRED, WITHDRAWN, WON, Referral
from shared.events.referrals import ReferralStatusChangedV2
from shared.messaging.uow import UnitOfWork


async def moved(deps: Dependencies, uow: UnitOfWork, referral: Referral, changed: ReferralStatusChangedV2 | None) -> None:
    """`changed`: what the move announces (None when the referrer was erased: no one to tell)."""
    if changed is not None:
        uow.publish(changed, subject=referral.referral_id)
    await deps.referrals(uow).save(referral)
    if referral.status in (EXPIRED, WITHDRAWN):
        await deps.referrals(uow).release(referral.referral_id)
    if referral.status in (HIRED, WON) and referral.alumnus_id is not None:  # an erased referrer earns nothing
        bonuses = deps.bonuses(uow)
        if not [b for b in await bonuses.of_referral(referral.referral_id) if b.status != CANCELLED]:
            await bonuses.add(deps.rules.milestones(referral, deps.new_bonus_id, uow.now()))
