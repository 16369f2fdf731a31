"""The exit form's use cases over in-memory repositories (answers before and after completion,
refused links), its pages in both languages, and hostile answers. The same flows on the real
broker and database: tests/integration/lifecycle/test_exit_form.py."""

import pytest
from starlette.datastructures import FormData, UploadFile

from services.offboarding.domain import (
    DepartureCancelled,
    EligibilityPolicy,
    ExitCase,
    InvalidAnswers,
    LinkAlreadyUsed,
    LinkExpired,
    UnknownLink,
)
from services.offboarding.exit_form import answers_from_form, read_answers, record_answers, show_form
from services.offboarding.pages import PAGES, TEMPLATES, ExitFormPages
from shared.events.alumni import AlumnusErased
from shared.events.hris import EmployeeDepartureCancelled
from shared.events.offboarding import ExitFormSubmitted, ExitProfile, OffboardingCompleted
from shared.events.types import Locale
from tests.unit.offboarding.fakes import Offboarding, departure

ANSWERS = ExitProfile.model_validate({"personal_email": "lea@home.example", "skills": ["Kafka"], "consents": {"events": True}})


async def show(offboarding: Offboarding, token: str):
    return await offboarding.transactions.run(lambda uow: show_form(uow, offboarding.deps, token))


async def answer(offboarding: Offboarding, token: str, answers: ExitProfile = ANSWERS):
    return await offboarding.transactions.run(lambda uow: record_answers(uow, offboarding.deps, token, answers))


async def test_answers_before_completion_ride_on_the_completion() -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure(departure_date="2026-12-10"))
    token = offboarding.token()
    assert (await show(offboarding, token)).case_id == "E-1/2020-01-01"

    await answer(offboarding, token)
    assert offboarding.published(ExitFormSubmitted) == []
    offboarding.clock.move(days=18)
    await offboarding.complete_due_cases()

    [completed] = offboarding.published(OffboardingCompleted)
    assert completed.profile == ANSWERS and completed.leaver.personal_email == "lea@home.example"


async def test_answers_after_completion_are_published_for_the_alumnus() -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure())
    await answer(offboarding, offboarding.token())

    [submitted] = offboarding.published(ExitFormSubmitted)
    assert (submitted.case_id, submitted.profile) == ("E-1/2020-01-01", ANSWERS)
    assert offboarding.store.cases["E-1/2020-01-01"].answers == ANSWERS


async def test_a_used_link_is_refused_in_the_leavers_language() -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure())
    token = offboarding.token()
    await answer(offboarding, token)

    for use in (show, answer):
        with pytest.raises(LinkAlreadyUsed) as refused:
            await use(offboarding, token)
        assert refused.value.locale is Locale.FR
    assert len(offboarding.published(ExitFormSubmitted)) == 1


async def test_an_expired_link_is_refused_and_records_nothing() -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure(departure_date="2026-12-01"))
    offboarding.clock.move(days=39)  # 2026-12-31 09:00, past 2026-12-01 + 30 days

    for use in (show, answer):
        with pytest.raises(LinkExpired, match="this link has expired"):
            await use(offboarding, offboarding.token())
    assert offboarding.store.cases["E-1/2020-01-01"].answers is None


async def test_an_unknown_link_and_the_link_of_an_erased_case_are_refused() -> None:
    offboarding = Offboarding()
    with pytest.raises(UnknownLink) as unknown:
        await show(offboarding, "not-a-token")
    assert unknown.value.locale is None  # no case: no leaver's language

    await offboarding.handle(departure())
    token = offboarding.token()
    offboarding.store.invitations.clear()  # as if erased between two reads
    with pytest.raises(UnknownLink):
        await answer(offboarding, token)


async def test_answers_for_a_cancelled_departure_are_refused_and_the_link_stays_unused() -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure(departure_date="2026-12-31"))
    await offboarding.handle(EmployeeDepartureCancelled(employee_id="E-1"))

    with pytest.raises(DepartureCancelled):
        await answer(offboarding, offboarding.token())
    [invitation] = offboarding.store.invitations.values()
    assert invitation.used_at is None  # the unit of work rolled back


async def test_an_erasure_leaves_no_link_to_open() -> None:
    offboarding = Offboarding()
    await offboarding.handle(departure())
    await offboarding.handle(AlumnusErased(alumnus_id="alm_1", employee_ids=["E-1"], version=2, erased_at=offboarding.clock()))
    with pytest.raises(UnknownLink):
        await show(offboarding, offboarding.token())


# --- the pages -----------------------------------------------------------------------------


def case_in(locale: str, **fields) -> ExitCase:
    return ExitCase.open(departure(locale=locale, **fields), EligibilityPolicy(), Offboarding().clock())


@pytest.mark.parametrize("page", PAGES)
def test_every_exit_form_page_renders_in_both_languages(page: str) -> None:
    pages = ExitFormPages()
    rendered = {
        locale: pages.form(case_in(locale)) if page == "exit_form" else pages.render(page, locale, message="phone: String should match pattern")
        for locale in Locale
    }
    for locale, html in rendered.items():
        assert f'<html lang="{locale.value}">' in html
    assert rendered[Locale.FR] != rendered[Locale.EN]


def test_every_template_is_a_page_in_both_languages_or_a_part() -> None:
    names = {path.name.removesuffix(".html.j2") for path in TEMPLATES.glob("*.html.j2")}
    pages = {f"{page}.{locale.value}" for page in (*PAGES, "layout") for locale in Locale}
    assert names - pages == {"form_fields"} and pages <= names


def test_the_form_keeps_its_field_names_and_shows_earlier_answers_escaped() -> None:
    case = case_in("en", first_name="<b>Léa</b>")
    case.answers = ExitProfile.model_validate({"skills": ["<script>alert(1)</script>"], "willing_to": ["mentor"], "consents": {"events": True}})
    html = ExitFormPages().form(case)
    for name in ("personal_email", "phone", "linkedin_url", "profile_urls", "skills", "willing_to", "consent"):
        assert f'name="{name}"' in html
    assert "<script>" not in html and "&lt;script&gt;" in html and "Hello &lt;b&gt;Léa&lt;/b&gt;" in html
    assert 'value="mentor" checked' in html and 'value="events" checked' in html and 'value="newsletter">' in html


# --- hostile answers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (["not", "an", "object"], "(payload): Input should be a valid dictionary"),
        (None, "(payload): Input should be a valid dictionary"),
        ({"skills": ["x" * 10_000]}, "skills.0: String should have at most 500 characters"),
        ({"skills": "Kafka"}, "skills: Input should be a valid list"),
        ({"personal_email": "a" * 300 + "@example.org"}, "personal_email: value is not a valid email address"),
        ({"phone": "+33 6 12 34 56 78; DROP TABLE"}, "phone: String should match pattern"),
        ({"linkedin_url": "javascript:alert(1)"}, "linkedin_url: URL scheme should be 'http' or 'https'"),
        ({"consents": {"everything": True}}, "consents.everything.[key]: Input should be"),
        ({"consents": {"newsletter": "perhaps"}}, "consents.newsletter: Input should be a valid boolean"),
        ({"willing_to": ["juggle"]}, "willing_to.0: Input should be"),
    ],
)
def test_hostile_answers_are_refused_naming_the_field_not_the_value(data: object, error: str) -> None:
    with pytest.raises(InvalidAnswers) as refused:
        read_answers(data)
    assert error in str(refused.value)
    for value in ("xxxxxxxxxx", "DROP TABLE", "javascript", "perhaps", "juggle", "aaaaaaaaaa"):
        assert value not in str(refused.value)


def test_a_file_where_the_form_expects_text_is_refused() -> None:
    upload = UploadFile(file=None, filename="skills.txt")  # type: ignore[arg-type]
    with pytest.raises(InvalidAnswers, match="skills: a text value is expected"):
        answers_from_form(FormData([("skills", upload)]))
    with pytest.raises(InvalidAnswers, match="consent: a text value is expected"):
        answers_from_form(FormData([("consent", "events"), ("consent", upload)]))


def test_a_posted_form_becomes_the_contracts_answers() -> None:
    form = FormData([
        ("personal_email", " late@example.org "), ("phone", ""), ("skills", "Negotiation, , Mandarin"),
        ("profile_urls", "https://a.example\n\n https://b.example "), ("willing_to", "refer_clients"),
        ("consent", "newsletter"), ("consent", "job_opportunities"), ("consent", "not-a-purpose"),
    ])
    answers = read_answers(answers_from_form(form))
    assert answers.personal_email == "late@example.org" and answers.phone is None
    assert answers.skills == ["Negotiation", "Mandarin"] and [str(u) for u in answers.profile_urls] == ["https://a.example/", "https://b.example/"]
    assert {p.value: g for p, g in answers.consents.items() if g} == {"newsletter": True, "job_opportunities": True}
    assert len(answers.consents) == 5
