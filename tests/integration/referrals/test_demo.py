"""The demo's referrals part (devstack/demo_referrals.py), played against the test stack: what it
prints is what happened."""

from devstack import demo_referrals
from tests.integration.referrals.conftest import ATS, SECRET, Programme


async def test_the_demo_refers_moves_and_approves(world: Programme) -> None:
    alumni = [(await world.alumnus())[0] for _ in range(3)]
    result = await demo_referrals.play(world.referrals, SECRET, "ats", ATS["ats"], alumni, clock=world.now)
    assert result["submitted"] == 7 and result["duplicates refused"] == 1
    assert result["ats movements"] == 9
    assert result["bonuses approved"] == 2  # the hire's first milestone, the won deal's whole bonus
    assert result["statuses"] == {"hired": 1, "interviewing": 1, "rejected": 1, "submitted": 2, "won": 1}
