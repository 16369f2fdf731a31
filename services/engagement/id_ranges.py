"""Walking the alumni in id order by bounded ranges of the id space, so that the query for a
chunk of a mailing reads one range and not everything after the last alumnus told (the local
database reads a whole unbounded range before it applies a limit). Alumni ids are `alm_` and 32
random hex digits, so a share of the id space holds about that share of them; any other id still
falls in exactly one range, and a range holding more than a chunk is cut at the chunk's last id,
so no alumnus is skipped or told twice whatever the ids look like; only the ranges' sizes are off."""

PREFIX = "alm_"
DIGITS = 12  # hex digits of an id that place it: 16**12 places, far finer than any audience
HEX = frozenset("0123456789abcdef")
SMALLEST_SPAN = 16.0**-DIGITS
GROWTH = 4.0  # at most, from one chunk to the next


def position(alumnus_id: str) -> float:
    """Where an id lies in the id space, from 0 to 1 (`alm_<hex>` ids exactly, others coarsely)."""
    if alumnus_id < PREFIX:
        return 0.0
    if not alumnus_id.startswith(PREFIX):
        return 1.0
    digits = ""
    for character in alumnus_id[len(PREFIX):len(PREFIX) + DIGITS]:
        if character not in HEX:
            break
        digits += character
    return int(digits.ljust(DIGITS, "0"), 16) / 16**DIGITS


def range_end(after: str, span: float) -> str | None:
    """The last id (inclusive) of the range that starts after `after` and spans `span` of the id
    space; None: the range runs to the end."""
    end = position(after) + span
    if end >= 1.0:
        return None
    bound = PREFIX + format(int(end * 16**DIGITS), f"0{DIGITS}x")
    return bound if bound > after else None


def next_span(span: float, after: str, told: list[str], limit: int) -> float:
    """The share of the id space the next range spans: what the last `limit` alumni took when the
    range held more than a chunk, else the range grown towards a chunk's worth."""
    if len(told) >= limit:
        return max(SMALLEST_SPAN, position(told[-1]) - position(after))
    return min(1.0, span * (GROWTH if not told else min(GROWTH, limit / len(told))))
