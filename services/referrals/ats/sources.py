"""Configured ATS sources (`ATS_SOURCES`, JSON), one per applicant tracking system posting webhooks:

    {"ats":        {"kind": "generic", "secret": "..."},
     "greenhouse": {"kind": "greenhouse", "secret": "<the web hook's secret key>",
                    "stage_map": {"phone screen": "screening"}},
     "lever":      {"kind": "lever", "secret": "<the webhook's signature token>",
                    "stage_map": {"<stage id>": "interviewing"},
                    "api_base_url": "https://api.lever.co", "api_key": "..."}}

`stage_map` names the ATS's stages (Greenhouse: by name, any case; Lever: by stage id) as
application statuses; a stage it does not name is read by keyword (Greenhouse) or as screening.
A Lever source with an API key reads the candidate's email of an opportunity from Lever's API.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from shared.events.referrals import ApplicationStatus


class AtsSource(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["generic", "greenhouse", "lever"]
    secret: SecretStr
    stage_map: dict[str, ApplicationStatus] = Field(default_factory=dict, max_length=500)
    api_base_url: str = ""
    api_key: SecretStr = SecretStr("")
