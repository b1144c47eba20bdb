"""Specific Character Set (0008,0005): decoding and encoding of text values.

PS3.5 §6.1 (character repertoires and ISO 2022 code extensions) and PS3.3 §C.12.1.1.2
(Defined Terms). The package holds:

* :mod:`.terms`  the Defined Terms and the graphic sets (ISO-IR registrations) they name,
* :mod:`.iso2022`  escape sequences: the decoder state machine and the encoder,
* :mod:`.specific_character_set`  :class:`Charset`, the API the data set uses.

::

    cs = Charset.from_value(["", "ISO 2022 IR 87"])
    cs.decode(b"Yamada^Tarou=\\x1b$B;3ED\\x1b(B^...", "PN")   # 'Yamada^Tarou=山田^...'
    cs.encode("Yamada^Tarou=山田^太郎", "PN")                  # escape sequences per group
"""

from .specific_character_set import DEFAULT_CHARSET, TEXT_VRS, Charset, charset_for_encoding

__all__ = ["DEFAULT_CHARSET", "TEXT_VRS", "Charset", "charset_for_encoding"]
