"""Answers on the real stack: one click from the invitation email (a page on GET, recorded on
POST, confirmed by email with the calendar file), 50 concurrent yeses for 10 seats (10 going,
40 waitlisted in order, never more), a seat given up going to the first waitlisted, who is
told by email."""

import asyncio

import httpx
import pytest

from tests.integration.engagement.conftest import Engagement, calendar_of, rsvp_link, text_of

pytestmark = pytest.mark.integration


async def test_one_click_from_the_invitation_records_the_answer_and_confirms_it(world: Engagement) -> None:
    alumnus = await world.alumnus(department="Légal")
    await world.known_to_engagement([alumnus])
    event_id = await world.hosted_event(title="Brown-bag juridique", audience={"departments": ["légal"]}, capacity=5)
    [invitation] = await world.mail_to(alumnus.address, subject="Vous êtes invité")
    link = rsvp_link(invitation, "yes")
    async with httpx.AsyncClient(timeout=30) as http:
        page = await http.get(link)  # what a mail scanner does: nothing is recorded
        assert page.status_code == 200 and "Confirmer ma réponse : oui" in page.text
        assert (await world.attendees(event_id))["counts"]["going"] == 0
        recorded = await http.post(link)
        assert recorded.status_code == 200 and "votre place est réservée" in recorded.text
        assert (await http.post(link)).status_code == 200  # a second click changes nothing
        assert (await http.get(link[:-3] + "abc")).status_code == 404  # forged
    assert (await world.attendees(event_id))["going"] == [alumnus.alumnus_id]
    [confirmation] = await world.mail_to(alumnus.address, subject="Votre place est réservée", settle=2.0)
    assert "Brown-bag juridique" in text_of(confirmation) and int(calendar_of(confirmation)["SEQUENCE"]) == 0


async def test_fifty_concurrent_yeses_for_ten_seats_then_a_promotion(world: Engagement) -> None:
    alumni = await world.many_alumni(50, department="Capacity")
    await world.known_to_engagement(alumni)
    event_id = await world.hosted_event(title="Conférence annuelle", kind="conference", audience={"departments": ["capacity"]}, capacity=10)

    async with httpx.AsyncClient(timeout=120) as http:
        answers = await asyncio.gather(*(
            http.put(f"{world.url()}/events/{event_id}/rsvp", json={"response": "yes"}, headers=world.as_alumnus(a.alumnus_id)) for a in alumni
        ))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers if a.status_code != 200]
    statuses = [a.json() for a in answers]
    assert sum(s["status"] == "going" for s in statuses) == 10
    waitlisted = {a.alumnus_id: s["waitlist_position"] for a, s in zip(alumni, statuses) if s["status"] == "waitlisted"}
    assert sorted(waitlisted.values()) == list(range(1, 41))  # each place once: the order of arrival
    attendees = await world.attendees(event_id)
    assert attendees["counts"]["going"] == 10 and attendees["counts"]["waitlisted"] == 40
    assert attendees["waitlisted"] == sorted(waitlisted, key=waitlisted.get)

    going = attendees["going"][0]
    first_waiting = attendees["waitlisted"][0]
    async with httpx.AsyncClient(timeout=30) as http:
        declined = await http.put(f"{world.url()}/events/{event_id}/rsvp", json={"response": "no"}, headers=world.as_alumnus(going))
    assert declined.json() == {"status": "declined"}
    attendees = await world.attendees(event_id)
    assert first_waiting in attendees["going"] and attendees["counts"]["going"] == 10 and attendees["counts"]["waitlisted"] == 39
    address = next(a.address for a in alumni if a.alumnus_id == first_waiting)
    [promotion] = await world.mail_to(address, subject="Une place s'est libérée")
    assert "Conférence annuelle" in text_of(promotion) and calendar_of(promotion)["UID"]
    [waiting] = await world.mail_to(address, subject="liste d'attente")
    assert "numéro 1" in text_of(waiting)
