"""A vendor's termination reason (free text, French or English) mapped to the contract's reason.

Matched on whole words and phrases, accents and case aside: "Resigned because…" is a
resignation (not "cause"), "licenciement pour cause réelle et sérieuse" (the ordinary legal
ground for any personal dismissal in France) is not a dismissal for cause, while "faute grave"
(gross misconduct) is. The first reason, in the order below, with a phrase in the text wins;
then the kind of termination when that is all a vendor gives (Voluntary / Involuntary).
"""

import re
import unicodedata

from shared.events.types import DepartureReason as R

PHRASES: list[tuple[R, tuple[str, ...]]] = [
    (R.TERMINATION_FOR_CAUSE, (
        "for cause", "gross misconduct", "serious misconduct", "misconduct", "violation of company policy",
        "violation of policy", "policy violation", "faute grave", "faute lourde", "licenciement disciplinaire",
    )),
    (R.RETIREMENT, ("retirement", "retired", "retire", "retiring", "retraite")),
    (R.MUTUAL_AGREEMENT, (
        "mutual agreement", "mutual consent", "mutually agreed", "rupture conventionnelle", "accord mutuel", "commun accord",
    )),
    (R.END_OF_CONTRACT, (
        "end of contract", "contract end", "contract ended", "contract expired", "end of season contract", "end of fixed term",
        "fixed term contract ended", "end of internship", "fin de contrat", "fin de cdd", "fin de stage", "fin de mission",
    )),
    (R.LAYOFF, (
        "layoff", "laid off", "lay off", "redundancy", "redundant", "reduction in force", "rif", "position eliminated",
        "restructuring", "licenciement economique", "licenciement pour motif economique", "plan social", "suppression de poste",
    )),
    (R.RESIGNATION, ("resignation", "resigned", "resign", "resigns", "quit", "other employment", "demission", "demissionne")),
]
KINDS: list[tuple[R, tuple[str, ...]]] = [(R.LAYOFF, ("involuntary", "non volontaire")), (R.RESIGNATION, ("voluntary", "volontaire"))]


def _words(text: str) -> str:
    """Lower case, accents dropped, everything but letters and digits a single space, padded."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return f" {' '.join(re.findall(r'[a-z0-9]+', plain))} "


_TABLE = [(reason, tuple(_words(p) for p in phrases)) for reason, phrases in PHRASES + KINDS]


def departure_reason(text: str | None) -> R:
    words = _words(text or "")
    for reason, phrases in _TABLE:
        if any(phrase in words for phrase in phrases):
            return reason
    return R.OTHER
