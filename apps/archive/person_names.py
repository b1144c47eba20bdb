"""Search keys for Person Name (PN) values, so name matching ignores case and accents.

PS3.4 C.2.2.2.1.1 leaves case sensitivity of PN matching to the implementation
(C.2.2.2.1.2, "should be case insensitive" for Modality Worklist and customary for Q/R).
The index stores the decoded Unicode value as received and, next to it, this key:
upper case, Latin accents removed (``Müller^Jörg`` -> ``MULLER^JORG``). Ideographic and
phonetic groups keep their characters (kana voicing marks are not accents). Prefix queries
(``DOE*``) compare keys with ``LIKE 'DOE%'``, served by a ``varchar_pattern_ops`` index on
PostgreSQL.
"""

from __future__ import annotations

import unicodedata

__all__ = ["person_name_search_key"]

# Base characters whose combining marks are accents to drop: Latin, Greek and Cyrillic
# letters (up to U+04FF).
_ACCENTED_BASES_END = 0x0500


def person_name_search_key(text: str) -> str:
    """The case- and accent-insensitive form of a PN value (or of a query on one)."""
    out: list[str] = []
    base = 0
    for char in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(char):
            if base < _ACCENTED_BASES_END:
                continue
        else:
            base = ord(char)
        out.append(char)
    return unicodedata.normalize("NFC", "".join(out)).upper()
