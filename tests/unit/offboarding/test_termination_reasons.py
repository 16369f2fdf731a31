"""Termination reasons as HR systems write them, mapped to the contract: whole words and phrases,
French and English. The values are those of vendors' default lists (BambooHR's termination
reasons, HiBob's, Workday's termination categories) and of French HR practice."""

import pytest

from services.offboarding.intake.reasons import departure_reason
from shared.events.types import DepartureReason as R

VENDOR_VALUES = [
    # BambooHR's default termination reasons
    ("Attendance", R.OTHER),
    ("End of Season/Contract", R.END_OF_CONTRACT),
    ("Other employment", R.RESIGNATION),
    ("Performance", R.OTHER),
    ("Relocation", R.OTHER),
    ("Retirement", R.RETIREMENT),
    ("Return to school", R.OTHER),
    ("Violation of Company Policy", R.TERMINATION_FOR_CAUSE),
    # HiBob and others
    ("Resignation", R.RESIGNATION),
    ("Dismissal", R.OTHER),
    ("Redundancy", R.LAYOFF),
    ("End of contract", R.END_OF_CONTRACT),
    ("Mutual agreement", R.MUTUAL_AGREEMENT),
    ("Death", R.OTHER),
    # Workday-style categories
    ("Voluntary > Resignation > Personal reasons", R.RESIGNATION),
    ("Voluntary - new job", R.RESIGNATION),
    ("Involuntary", R.LAYOFF),
    ("Involuntary > Reduction in Force", R.LAYOFF),
    ("Involuntary > Termination for Cause > Misconduct", R.TERMINATION_FOR_CAUSE),
    ("Involuntary - gross misconduct", R.TERMINATION_FOR_CAUSE),
    ("Terminated without cause", R.OTHER),
    ("Terminated for cause", R.TERMINATION_FOR_CAUSE),
    # Free text that substring matching got wrong
    ("Resigned because of a long commute", R.RESIGNATION),
    ("Because of relocation", R.OTHER),
    ("Retired early", R.RETIREMENT),
    # French HR practice
    ("Démission", R.RESIGNATION),
    ("Rupture conventionnelle", R.MUTUAL_AGREEMENT),
    ("Licenciement pour faute grave", R.TERMINATION_FOR_CAUSE),
    ("Licenciement pour faute lourde", R.TERMINATION_FOR_CAUSE),
    ("Licenciement pour cause réelle et sérieuse", R.OTHER),
    ("Licenciement pour motif économique", R.LAYOFF),
    ("Licenciement pour inaptitude", R.OTHER),
    ("Fin de CDD", R.END_OF_CONTRACT),
    ("Fin de période d'essai", R.OTHER),
    ("Départ à la retraite", R.RETIREMENT),
    ("Mise à la retraite", R.RETIREMENT),
    ("Plan social", R.LAYOFF),
    ("", R.OTHER),
    (None, R.OTHER),
]


@pytest.mark.parametrize(("text", "reason"), VENDOR_VALUES, ids=[str(text) for text, _ in VENDOR_VALUES])
def test_a_vendor_value_maps_to_the_contract(text: str | None, reason: R) -> None:
    assert departure_reason(text) is reason


def test_case_accents_and_punctuation_do_not_matter() -> None:
    assert departure_reason("LICENCIEMENT POUR FAUTE GRAVE!") is R.TERMINATION_FOR_CAUSE
    assert departure_reason("demission") is departure_reason("Démission") is R.RESIGNATION
