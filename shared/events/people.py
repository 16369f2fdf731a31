"""A person as the contracts describe them, each field defined once: a departure, the leaver an
eligible outcome carries, an alumnus's profile and the exit form's answers are made of these
parts (and a profile change of the profile's fields, all optional). A model lists its parts in
reverse: pydantic takes the fields of the last base first."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from shared.events.base import personal
from shared.events.types import CountryCode, EmailAddress, E164Phone, Locale, NonEmpty, Url, Willingness


MAX_SKILLS = 50
MAX_PROFILE_URLS = 10


class Part(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Name(Part):
    first_name: NonEmpty = personal()
    last_name: NonEmpty = personal()


class WorkContact(Part):
    work_email: EmailAddress = personal()


class PersonalContact(Part):
    personal_email: EmailAddress | None = personal(default=None)
    phone: E164Phone | None = personal(default=None)


class PublicProfiles(Part):
    linkedin_url: Url | None = personal(default=None)
    profile_urls: list[Url] = personal(default_factory=list, max_length=MAX_PROFILE_URLS)


class Position(Part):
    department: NonEmpty | None = None
    job_title: NonEmpty | None = None
    country: CountryCode | None = None
    city: NonEmpty | None = None


class Expertise(Part):
    skills: list[NonEmpty] = Field(default_factory=list, max_length=MAX_SKILLS)
    willing_to: list[Willingness] = Field(default_factory=list, max_length=len(Willingness))


class Language(Part):
    locale: Locale = Locale.EN


def all_optional(model: type[BaseModel], name: str, doc: str) -> type[BaseModel]:
    """`model`'s fields, each optional and absent by default, with the same rules; unknown fields
    are refused. For a change: what is left out stays as it is."""
    fields: dict[str, Any] = {}
    for field_name, field in model.model_fields.items():
        annotation = Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
        fields[field_name] = (annotation | None, Field(default=None))
    return create_model(name, __config__=ConfigDict(extra="forbid"), __doc__=doc, **fields)
