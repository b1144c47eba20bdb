"""Expected answers over the generated archive's records, computed in plain Python.

Written from PS3.4 C.2.2.2 without the query engine: wild cards become ``re.fullmatch``
patterns, names are folded with ``unicodedata``, dates compare as ``datetime`` objects.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from typing import TypeVar


def fold(text: str) -> str:
    """Upper case without Latin accents (the documented PN matching)."""
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(c for c in decomposed if not (unicodedata.combining(c) and ord(c) < 0x0370))
    return unicodedata.normalize("NFC", kept).upper()


def wildcard(pattern: str, value: str, *, inside_group: bool = False) -> bool:
    """DICOM wild card matching of a whole value: '*' any run, '?' one character."""
    any_run, one = ("[^=]*", "[^=]") if inside_group else (".*", ".")
    regex = "".join(any_run if c == "*" else one if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def pn_matches(stored: str, query: str, *, case_insensitive: bool = True) -> bool:
    """PN matching as docs/query.md specifies it (component groups, fold when insensitive)."""
    if case_insensitive:
        stored, query = fold(stored), fold(query)
    groups = stored.split("=")
    if "=" in query:
        wanted = query.split("=")
        return all(
            not want or want == "*" or (i < len(groups) and wildcard(want, groups[i], inside_group=True))
            for i, want in enumerate(wanted)
        )
    candidates = groups[:1] if query.isascii() else groups
    return any(wildcard(query, group, inside_group=True) for group in candidates)


_Moment = TypeVar("_Moment", datetime.date, datetime.time)


def in_range(value: _Moment | None, low: _Moment | None, high: _Moment | None) -> bool:
    if value is None:
        return False
    return (low is None or low <= value) and (high is None or value <= high)
