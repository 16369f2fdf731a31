"""What engagement holds about an alumnus, for the GDPR export (`GET /personal-data`): the
projection audiences are chosen by, their answers and check-ins, and the events naming them as a
speaker; nothing is kept by employee id."""

import pytest

from shared.web.auth import TokenVerifier
from tests.unit.engagement.events import erased, registered
from tests.unit.engagement.fakes import Engagement
from tests.unit.engagement.test_events_api import hosted, rsvp


async def world() -> tuple[Engagement, str, str]:
    """a answers yes to the first event and comes, b answers maybe; a speaks at the second."""
    service = Engagement()
    await service.receive(registered("a", country="FR", department="Data", skills=["Python"]))
    await service.receive(registered("b"))
    first = await hosted(service)
    second = await hosted(service, title="Talk: data at scale", speaker_alumni_ids=["a"])
    assert (await rsvp(service, first, "a", "yes")).status_code == 200
    assert (await rsvp(service, first, "b", "maybe")).status_code == 200
    async with service.api("events:write") as api:
        assert (await api.post(f"/events/{first}/check-ins", json={"alumnus_ids": ["a"]})).json()["recorded"] == ["a"]
    return service, first, second


async def test_the_projection_answers_check_ins_and_talks_of_the_alumnus_are_gathered_and_no_one_elses() -> None:
    service, first, second = await world()
    async with service.api(alumnus="a") as api:
        response = await api.get("/personal-data", params={"alumnus_id": "a"})
    assert response.status_code == 200 and response.json()["service"] == "engagement"
    held = response.json()["records"]
    known = held["known_alumnus"]
    assert (known["alumnus_id"], known["country"], known["department"], known["skills"]) == ("a", "FR", "data", ["python"])
    assert known["consents"] == {"events": True}
    assert [(a["event_id"], a["alumnus_id"], a["response"], a["status"]) for a in held["answers"]] == [(first, "a", "yes", "going")]
    assert [c["event_id"] for c in held["check_ins"]] == [first] and held["check_ins"][0]["checked_in_at"]
    assert [(t["event_id"], t["title"]) for t in held["speaker_at"]] == [(second, "Talk: data at scale")]
    assert "maybe" not in response.text  # b's answer


async def test_an_erased_alumnus_is_a_tombstone_with_nothing_else_and_employee_ids_find_nothing() -> None:
    service, first, _ = await world()
    await service.receive(erased("b"))
    async with service.api("alumni:admin") as api:
        gone = (await api.get("/personal-data", params={"alumnus_id": "b"})).json()["records"]
        by_employee = (await api.get("/personal-data", params={"employee_id": "E-a-2024"})).json()["records"]
        stranger = (await api.get("/personal-data", params={"alumnus_id": "nobody"})).json()["records"]
    assert gone["known_alumnus"] == {"alumnus_id": "b", "erased_at": "2026-11-22T09:00:00+00:00"}
    assert (gone["answers"], gone["check_ins"], gone["speaker_at"]) == ([], [], [])
    assert by_employee == stranger == {"known_alumnus": None, "answers": [], "check_ins": [], "speaker_at": []}


FORGED = {"Authorization": "Bearer " + TokenVerifier("a-forger-secret-of-32-characters!").issue("x", ["alumni:admin"])}


@pytest.mark.parametrize(
    ("as_", "params", "headers", "status"),
    [
        ({"alumnus": "a"}, {"alumnus_id": "b"}, {}, 403),
        ({"alumnus": "a"}, {"alumnus_id": "a", "employee_id": "E-a-2024"}, {}, 403),
        ({"scopes": ("events:write",)}, {"alumnus_id": "a"}, {}, 403),
        ({"scopes": ("alumni:admin",)}, {"alumnus_id": "a"}, FORGED, 401),
        ({"scopes": ("alumni:admin",)}, {"alumnus_id": "a" * 129}, {}, 422),
        ({"scopes": ("alumni:admin",)}, {"alumnus_id": "a\nb"}, {}, 422),
        ({"scopes": ("alumni:admin",)}, [("employee_id", f"E-{i}") for i in range(21)], {}, 422),
    ],
    ids=["another alumnus", "an employee id with an alumnus's token", "an events writer", "forged", "oversized", "a control character", "21 employee ids"],
)
async def test_hostile_requests_get_nothing(as_: dict, params, headers: dict, status: int) -> None:
    service, _, _ = await world()
    async with service.api(*as_.get("scopes", ()), alumnus=as_.get("alumnus")) as api:
        response = await api.get("/personal-data", params=params, headers=headers)
    assert response.status_code == status
    assert "going" not in response.text and "checked_in_at" not in response.text
