"""Configured HRIS sources (`HRIS_SOURCES`, JSON), one per HR system that posts webhooks:

    {"workday": {"kind": "generic", "secret": "..."},
     "bamboo":  {"kind": "bamboohr", "secret": "...", "api_base_url": "https://api.bamboohr.com",
                 "company_domain": "acme", "api_key": "..."},
     "bob":     {"kind": "hibob", "secret": "...", "api_base_url": "https://api.hibob.com",
                 "service_user_id": "...", "api_token": "..."}}
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, SecretStr

from shared.events.types import Locale


class HrisSource(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["generic", "bamboohr", "hibob"]
    secret: SecretStr
    api_base_url: str = ""
    # BambooHR API: company subdomain and an API key (HTTP basic, key as user).
    company_domain: str = ""
    api_key: SecretStr = SecretStr("")
    # HiBob API: a service user (HTTP basic: id and token).
    service_user_id: str = ""
    api_token: SecretStr = SecretStr("")
    # Vendors seldom say which language a leaver reads: the source's default.
    default_locale: Locale = Locale.EN
