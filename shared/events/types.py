"""Value types shared by the payloads."""

import hashlib
import secrets
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AnyHttpUrl, Field, StringConstraints, UrlConstraints, WithJsonSchema
from pydantic.networks import validate_email

# ISO 3166-1 alpha-2, officially assigned codes.
_COUNTRIES = frozenset(
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ "
    "BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM "
    "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS "
    "GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ "
    "MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
    "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV "
    "SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
    "VN VU WF WS YE YT ZA ZM ZW".split()
)


def _country(code: str) -> str:
    code = code.upper()
    if code not in _COUNTRIES:
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return code


CountryCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=2), AfterValidator(_country)]
# E.164: a plus, then up to 15 digits, the first not zero.
E164Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+[1-9]\d{1,14}$")]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Url = Annotated[AnyHttpUrl, UrlConstraints(max_length=2083)]
# A calendar day a person's working life can fall on: a date the HRIS got wrong by centuries
# (year 9999) is refused at the edge instead of overflowing a computation later.
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2199, 12, 31))]
# A sum of money: up to ten digits before the point, two after.
Amount = Annotated[Decimal, Field(max_digits=12, decimal_places=2)]


class Locale(StrEnum):
    FR = "fr"
    EN = "en"


class DepartureReason(StrEnum):
    RESIGNATION = "resignation"
    RETIREMENT = "retirement"
    LAYOFF = "layoff"
    END_OF_CONTRACT = "end_of_contract"
    MUTUAL_AGREEMENT = "mutual_agreement"
    TERMINATION_FOR_CAUSE = "termination_for_cause"
    OTHER = "other"


class Purpose(StrEnum):
    """What an alumnus consents to, one purpose at a time."""

    DIRECTORY = "directory"
    NEWSLETTER = "newsletter"
    EVENTS = "events"
    JOB_OPPORTUNITIES = "job_opportunities"
    REFERRAL_PROGRAMME = "referral_programme"


class Willingness(StrEnum):
    """What an alumnus is willing to do for the company."""

    MENTOR = "mentor"
    SPEAK_AT_EVENTS = "speak_at_events"
    REFER_CANDIDATES = "refer_candidates"
    REFER_CLIENTS = "refer_clients"
    ANSWER_MARKET_QUESTIONS = "answer_market_questions"


# Addresses already found valid and normal, by digest: an event's addresses are checked again by
# every model they pass through (read, then written into the next event), at some 40 us each.
# Digests keyed by a secret of the process, not the addresses: a dump of its memory cannot be
# matched against guessed addresses.
_CHECKED_EMAILS: set[bytes] = set()
_CHECKED_EMAILS_KEY = secrets.token_bytes(32)
_CHECKED_EMAILS_MAX = 4096


def _email_address(value: str) -> str:
    key = hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=16, key=_CHECKED_EMAILS_KEY).digest()
    if key in _CHECKED_EMAILS:
        return value
    normal = validate_email(value)[1]  # pydantic's EmailStr check: email-validator's syntax, no DNS
    if normal == value:
        if len(_CHECKED_EMAILS) >= _CHECKED_EMAILS_MAX:
            _CHECKED_EMAILS.clear()
        _CHECKED_EMAILS.add(key)
    return normal


# pydantic's EmailStr, each address checked once while it is recent.
EmailAddress = Annotated[str, AfterValidator(_email_address), WithJsonSchema({"type": "string", "format": "email"})]
