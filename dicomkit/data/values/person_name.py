"""Person Name (PN) values: component groups and components (PS3.5 §6.2.1).

Layer: ``dicomkit.data`` value helpers; input is one PN value (no backslash),
already decoded from its character set.

::

    Yamada^Tarou=山田^太郎=やまだ^たろう
    \\__________/ \\_______/ \\___________/
     alphabetic  ideographic  phonetic        component groups, '=' between
    family^given^middle^prefix^suffix         components, '^' between

Trailing empty components and groups are dropped together with their
delimiters, so ``str()`` gives the canonical form (``"Doe^John^^^"`` becomes
``"Doe^John"``). Structure is checked on parsing: more than five components or
three groups is a DecodeError unless ``strict=False``, in which case the extra
text stays in the last component or group, delimiters included, so nothing is
lost and ``validate()`` reports it. Lengths and characters are checked only by
``validate()``, for strict writers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dicomkit.errors import DecodeError

__all__ = ["ComponentGroup", "PersonName"]

_MAX_GROUP_LENGTH = 64  # characters per component group (PS3.5 Table 6.2-1, PN)
_COMPONENT_NAMES = ("family name", "given name", "middle name", "name prefix", "name suffix")
_GROUP_NAMES = ("alphabetic", "ideographic", "phonetic")
# Control characters are excluded, except ESC (code extensions); backslash separates values.
_FORBIDDEN = re.compile(r"[\x00-\x1a\x1c-\x1f\x7f\\]")


@dataclass(frozen=True, slots=True)
class ComponentGroup:
    """One component group: up to five components, '' when absent."""

    family: str = ""
    given: str = ""
    middle: str = ""
    prefix: str = ""
    suffix: str = ""

    @classmethod
    def from_str(cls, text: str, *, strict: bool = True) -> ComponentGroup:
        """Split ``family^given^middle^prefix^suffix`` (trailing components optional)."""
        if strict and "=" in text:
            raise DecodeError("a person name component group cannot contain '='")
        parts = text.split("^", 4)
        if strict and "^" in parts[-1] and len(parts) == 5:
            raise DecodeError(f"person name component group has {text.count('^') + 1} components, max 5")
        parts += [""] * (5 - len(parts))
        return cls(*parts)

    @property
    def components(self) -> tuple[str, str, str, str, str]:
        return (self.family, self.given, self.middle, self.prefix, self.suffix)

    @property
    def is_empty(self) -> bool:
        return not any(self.components)

    def __str__(self) -> str:
        parts = list(self.components)
        while parts and not parts[-1]:
            parts.pop()
        return "^".join(parts)

    def validate(self) -> list[str]:
        """Findings for strict writers; empty when the group is valid."""
        findings: list[str] = []
        length = len(str(self))
        if length > _MAX_GROUP_LENGTH:
            findings.append(f"component group is {length} characters long, max {_MAX_GROUP_LENGTH}")
        for name, component in zip(_COMPONENT_NAMES, self.components):
            for delimiter in "^=":
                if delimiter in component:
                    findings.append(f"{name} contains the delimiter {delimiter!r}")
            bad = sorted({f"U+{ord(char):04X}" for char in _FORBIDDEN.findall(component)})
            if bad:
                findings.append(f"{name} contains characters not allowed in PN: {', '.join(bad)}")
        return findings


@dataclass(frozen=True, slots=True)
class PersonName:
    """A PN value: alphabetic, ideographic and phonetic component groups.

    ``PersonName(ComponentGroup("Doe", "John"))`` or
    ``PersonName.from_str("Yamada^Tarou=山田^太郎=やまだ^たろう")``.
    """

    alphabetic: ComponentGroup = field(default_factory=ComponentGroup)
    ideographic: ComponentGroup = field(default_factory=ComponentGroup)
    phonetic: ComponentGroup = field(default_factory=ComponentGroup)

    @classmethod
    def from_str(cls, text: str, *, strict: bool = True) -> PersonName:
        """Parse one PN value; trailing padding spaces are ignored."""
        value = text.rstrip("\x00 ")
        if strict and value.count("=") > 2:
            raise DecodeError(f"person name has {value.count('=') + 1} component groups, max 3")
        groups = value.split("=", 2)
        groups += [""] * (3 - len(groups))
        return cls(*(ComponentGroup.from_str(group, strict=strict) for group in groups))

    @property
    def groups(self) -> tuple[ComponentGroup, ComponentGroup, ComponentGroup]:
        return (self.alphabetic, self.ideographic, self.phonetic)

    @property
    def is_empty(self) -> bool:
        return all(group.is_empty for group in self.groups)

    @property
    def family_name(self) -> str:
        return self.alphabetic.family

    @property
    def given_name(self) -> str:
        return self.alphabetic.given

    @property
    def middle_name(self) -> str:
        return self.alphabetic.middle

    @property
    def name_prefix(self) -> str:
        return self.alphabetic.prefix

    @property
    def name_suffix(self) -> str:
        return self.alphabetic.suffix

    def __str__(self) -> str:
        parts = [str(group) for group in self.groups]
        while parts and not parts[-1]:
            parts.pop()
        return "=".join(parts)

    def validate(self) -> list[str]:
        """Findings for strict writers (lengths, characters, delimiters); empty when valid."""
        return [
            f"{name} group: {finding}"
            for name, group in zip(_GROUP_NAMES, self.groups)
            for finding in group.validate()
        ]
