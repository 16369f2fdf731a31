"""The exit form behind a leaver's one-time link: `GET /exit-form/{token}` shows it (HTML, in the
leaver's language), `POST /exit-form/{token}` records the answers (an HTML form post, or JSON).
Before the departure date the answers ride on the completion; after it they update the alumnus.
A used or expired link is refused with 410, an unknown one with 404.
"""

from html import escape

import pydantic
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from services.offboarding.domain import CaseClosed, ExitCase, ExitInvitation, LinkRefused, token_digest
from services.offboarding.repository import ExitCases, Invitations
from shared.events.offboarding import ExitProfile
from shared.events.types import Purpose, Willingness
from shared.messaging.failures import describe
from shared.messaging.uow import UnitOfWork

TEXT = {
    "en": {
        "title": "Staying in touch",
        "intro": "Hello {name}, tell us how to reach you after you leave, and what you would like to hear about.",
        "personal_email": "Personal email", "phone": "Mobile phone (international format, e.g. +447700900123)",
        "linkedin_url": "LinkedIn profile", "profile_urls": "Other public profiles (one per line)",
        "skills": "Your expertise (comma separated)", "willing_to": "You would be glad to",
        "consents": "You agree that we", "submit": "Send", "thanks": "Thank you, your answers are recorded.",
        Willingness.MENTOR: "mentor colleagues", Willingness.SPEAK_AT_EVENTS: "speak at our events",
        Willingness.REFER_CANDIDATES: "refer candidates", Willingness.REFER_CLIENTS: "refer clients",
        Willingness.ANSWER_MARKET_QUESTIONS: "answer questions about your market",
        Purpose.DIRECTORY: "list you in the alumni directory", Purpose.NEWSLETTER: "send you the newsletter",
        Purpose.EVENTS: "invite you to alumni events", Purpose.JOB_OPPORTUNITIES: "tell you about job opportunities",
        Purpose.REFERRAL_PROGRAMME: "include you in the referral programme",
    },
    "fr": {
        "title": "Restons en contact",
        "intro": "Bonjour {name}, dites-nous comment vous joindre après votre départ, et ce qui vous intéresse.",
        "personal_email": "E-mail personnel", "phone": "Téléphone mobile (format international, ex. +33612345678)",
        "linkedin_url": "Profil LinkedIn", "profile_urls": "Autres profils publics (un par ligne)",
        "skills": "Vos expertises (séparées par des virgules)", "willing_to": "Vous seriez prêt·e à",
        "consents": "Vous acceptez que nous", "submit": "Envoyer", "thanks": "Merci, vos réponses sont enregistrées.",
        Willingness.MENTOR: "accompagner des collègues", Willingness.SPEAK_AT_EVENTS: "intervenir lors de nos événements",
        Willingness.REFER_CANDIDATES: "recommander des candidats", Willingness.REFER_CLIENTS: "recommander des clients",
        Willingness.ANSWER_MARKET_QUESTIONS: "répondre à des questions sur votre marché",
        Purpose.DIRECTORY: "vous fassions figurer dans l'annuaire des anciens", Purpose.NEWSLETTER: "vous envoyions la lettre d'information",
        Purpose.EVENTS: "vous invitions aux événements des anciens", Purpose.JOB_OPPORTUNITIES: "vous signalions des offres d'emploi",
        Purpose.REFERRAL_PROGRAMME: "vous incluions dans le programme de recommandation",
    },
}
REFUSALS = {
    "en": {404: "This link is not known.", 409: "This departure was cancelled: there is nothing to fill in.",
           "used": "This link was already used: your answers are recorded.", "expired": "This link has expired."},
    "fr": {404: "Ce lien est inconnu.", 409: "Ce départ a été annulé : il n'y a rien à remplir.",
           "used": "Ce lien a déjà servi : vos réponses sont enregistrées.", "expired": "Ce lien a expiré."},
}


def _page(title: str, body: str, lang: str, status: int = 200) -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title></head>'
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status)


def _form(case: ExitCase, lang: str) -> str:
    t = TEXT[lang]
    d = case.departure
    answers = case.answers or ExitProfile()

    def field(name: str, value: object, kind: str = "text") -> str:
        shown = escape(str(value)) if value else ""
        return f'<p><label>{escape(t[name])}<br><input type="{kind}" name="{name}" value="{shown}"></label></p>'

    def boxes(name: str, options, chosen) -> str:
        return "".join(
            f'<label><input type="checkbox" name="{name}" value="{o.value}"{" checked" if o in chosen else ""}> {escape(t[o])}</label><br>'
            for o in options
        )

    consented = {p for p, granted in answers.consents.items() if granted}
    return (
        f"<p>{escape(t['intro'].format(name=d.first_name))}</p><form method=\"post\">"
        + field("personal_email", answers.personal_email or d.personal_email, "email")
        + field("phone", answers.phone or d.phone, "tel")
        + field("linkedin_url", answers.linkedin_url, "url")
        + f'<p><label>{escape(t["profile_urls"])}<br><textarea name="profile_urls">'
        + escape("\n".join(str(u) for u in answers.profile_urls))
        + "</textarea></label></p>"
        + field("skills", ", ".join(answers.skills))
        + f"<fieldset><legend>{escape(t['willing_to'])}</legend>{boxes('willing_to', Willingness, set(answers.willing_to))}</fieldset>"
        + f"<fieldset><legend>{escape(t['consents'])}</legend>{boxes('consent', Purpose, consented)}</fieldset>"
        + f'<p><button type="submit">{escape(t["submit"])}</button></p></form>'
    )


def _answers_from_form(form) -> dict:
    def text(name: str) -> str | None:
        return (form.get(name) or "").strip() or None

    consented = set(form.getlist("consent"))
    return {
        "personal_email": text("personal_email"),
        "phone": text("phone"),
        "linkedin_url": text("linkedin_url"),
        "profile_urls": [u.strip() for u in (form.get("profile_urls") or "").splitlines() if u.strip()],
        "skills": [s.strip() for s in (form.get("skills") or "").split(",") if s.strip()],
        "willing_to": form.getlist("willing_to"),
        "consents": {p.value: p.value in consented for p in Purpose},
    }


async def _case_behind(uow: UnitOfWork, token: str) -> tuple[ExitCase, ExitInvitation]:
    invitation = await Invitations(uow).get(token_digest(token))
    if invitation is None:
        raise LinkRefused("this link is not known", 404)
    case = await ExitCases(uow).get(invitation.case_id)
    if case is None:  # erased meanwhile
        raise LinkRefused("this link is not known", 404)
    return case, invitation


def _refusal(exc: LinkRefused | CaseClosed, lang: str, wants_json: bool) -> Response:
    status = exc.status if isinstance(exc, LinkRefused) else 409
    key = status if status != 410 else ("used" if "used" in str(exc) else "expired")
    if wants_json:
        return JSONResponse({"detail": str(exc)}, status_code=status)
    return _page(TEXT[lang]["title"], f"<p>{escape(REFUSALS[lang][key])}</p>", lang, status)


def exit_form_router() -> APIRouter:
    router = APIRouter(tags=["exit form"])

    @router.get("/exit-form/{token}", response_class=HTMLResponse, summary="The exit form, in the leaver's language")
    async def show(token: str, request: Request) -> Response:
        runtime = request.app.state.runtime
        lang = _language(request)

        async def load(uow: UnitOfWork) -> ExitCase:
            nonlocal lang
            case, invitation = await _case_behind(uow, token)
            lang = case.departure.locale.value  # a refusal, from here on, speaks the leaver's language
            invitation.check(uow.now())
            return case

        try:
            case = await runtime.transactions.run(load)
        except LinkRefused as exc:
            return _refusal(exc, lang, wants_json=False)
        return _page(TEXT[lang]["title"], _form(case, lang), lang)

    @router.post("/exit-form/{token}", summary="Record the leaver's answers (form post or JSON)")
    async def submit(token: str, request: Request) -> Response:
        runtime = request.app.state.runtime
        wants_json = request.headers.get("content-type", "").startswith("application/json")
        lang = _language(request)
        try:
            data = await request.json() if wants_json else _answers_from_form(await request.form())
            answers = ExitProfile.model_validate(data)
        except pydantic.ValidationError as exc:
            if wants_json:
                raise HTTPException(422, f"invalid answers: {describe(exc)}") from None
            return _page(TEXT[lang]["title"], f"<p>{escape(describe(exc))}</p>", lang, 422)
        except ValueError as exc:
            raise HTTPException(422, f"the body is not JSON: {exc}") from None

        async def record(uow: UnitOfWork) -> str:
            nonlocal lang
            case, invitation = await _case_behind(uow, token)
            lang = case.departure.locale.value
            invitation.use(uow.now())
            if submitted := case.record_answers(answers, uow.now()):
                uow.publish(submitted, subject=case.employee_id)
            await Invitations(uow).save(invitation)
            await ExitCases(uow).save(case)
            return case.departure.locale.value

        try:
            lang = await runtime.transactions.run(record)
        except (LinkRefused, CaseClosed) as exc:
            return _refusal(exc, lang, wants_json)
        if wants_json:
            return JSONResponse({"status": "recorded"})
        return _page(TEXT[lang]["title"], f"<p>{escape(TEXT[lang]['thanks'])}</p>", lang)

    return router


def _language(request: Request) -> str:
    return "fr" if request.headers.get("accept-language", "").lower().startswith("fr") else "en"
