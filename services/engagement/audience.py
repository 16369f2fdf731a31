"""Who an event is for, without I/O: the service's own projection of identity's alumni (only what
an audience is chosen by, and the language of the pages: no name, no address), and the audience
an event names.

The projection is applied in version order: the profile keeps the version it was set at, each
consent its own, and only a newer change applies (profile and consent changes travel on
different topics). Stints only add up (a boomerang's departure years). An erased alumnus is a
tombstone with nothing but when, so that a late or replayed event never brings them back."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from shared.events.alumni import AlumnusProfile
from shared.events.types import Purpose


def _lowered(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({v.strip().lower() for v in values if v and v.strip()}))


@dataclass
class KnownAlumnus:
    alumnus_id: str
    locale: str = "en"
    country: str | None = None
    department: str | None = None  # lower-cased
    skills: tuple[str, ...] = ()  # lower-cased
    willing_to: tuple[str, ...] = ()
    departure_years: tuple[int, ...] = ()
    boomerang: bool = False
    profile_version: int = 0
    consents: dict[str, bool] = field(default_factory=dict)
    consent_versions: dict[str, int] = field(default_factory=dict)
    erased_at: datetime | None = None

    @classmethod
    def tombstone(cls, alumnus_id: str, erased_at: datetime) -> "KnownAlumnus":
        return cls(alumnus_id, erased_at=erased_at)

    @property
    def erased(self) -> bool:
        return self.erased_at is not None

    @property
    def invitable(self) -> bool:
        """May be invited: not erased, and consented to events."""
        return not self.erased and self.consents.get(Purpose.EVENTS.value, False)

    def register(self, version: int, profile: AlumnusProfile, departure_year: int, boomerang: bool, consents: Mapping[Purpose, bool]) -> bool:
        if self.erased:
            return False
        changed = departure_year not in self.departure_years or (boomerang and not self.boomerang)
        self.departure_years = tuple(sorted({*self.departure_years, departure_year}))
        self.boomerang = self.boomerang or boomerang
        changed = self.update_profile(version, profile) or changed
        for purpose, granted in consents.items():
            changed = self.set_consent(purpose, granted, version) or changed
        return changed

    def update_profile(self, version: int, profile: AlumnusProfile) -> bool:
        if self.erased or version <= self.profile_version:
            return False
        self.locale, self.country = profile.locale.value, profile.country
        self.department = profile.department.strip().lower() if profile.department else None
        self.skills = _lowered(profile.skills)
        self.willing_to = tuple(sorted(w.value for w in profile.willing_to))
        self.profile_version = version
        return True

    def set_consent(self, purpose: Purpose, granted: bool, version: int) -> bool:
        if self.erased or version <= self.consent_versions.get(purpose.value, 0):
            return False
        self.consents[purpose.value] = granted
        self.consent_versions[purpose.value] = version
        return True


@dataclass(frozen=True)
class Audience:
    """Whom an event is for. Each criterion given must hold (any of its values); none given: every
    alumnus. Departments and skills are compared without case."""

    countries: tuple[str, ...] = ()
    departure_years: tuple[int, ...] = ()
    departments: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    willing_to: tuple[str, ...] = ()
    boomerangs_only: bool = False

    @classmethod
    def of(cls, countries: Iterable[str] = (), departure_years: Iterable[int] = (), departments: Iterable[str] = (),
           skills: Iterable[str] = (), willing_to: Iterable[str] = (), boomerangs_only: bool = False) -> "Audience":
        return cls(
            tuple(sorted({c.upper() for c in countries})), tuple(sorted(set(departure_years))), _lowered(departments),
            _lowered(skills), tuple(sorted(set(willing_to))), boomerangs_only,
        )

    def includes(self, alumnus: KnownAlumnus | None) -> bool:
        if alumnus is None or alumnus.erased:
            return False
        return (
            (not self.countries or alumnus.country in self.countries)
            and (not self.departure_years or bool(set(self.departure_years) & set(alumnus.departure_years)))
            and (not self.departments or alumnus.department in self.departments)
            and (not self.skills or bool(set(self.skills) & set(alumnus.skills)))
            and (not self.willing_to or bool(set(self.willing_to) & set(alumnus.willing_to)))
            and (not self.boomerangs_only or alumnus.boomerang)
        )

    def invites(self, alumnus: KnownAlumnus | None) -> bool:
        """Included, and may be invited (consented to events, not erased)."""
        return alumnus is not None and alumnus.invitable and self.includes(alumnus)

    def as_dict(self) -> dict:
        return {
            "countries": list(self.countries), "departure_years": list(self.departure_years), "departments": list(self.departments),
            "skills": list(self.skills), "willing_to": list(self.willing_to), "boomerangs_only": self.boomerangs_only,
        }
