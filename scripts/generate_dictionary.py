"""Generate the PS3.6 data dictionary: ``dicomkit/data/_dictionary.py`` and ``dicomkit/data/tags.py``.

Facts come from the registries of the standard (PS3.6: data elements, file meta elements,
directory structuring elements; PS3.7 Annex E: command elements) as transcribed, as plain
data, in pydicom's ``_dicom_dict.py`` (``DicomDictionary`` and ``RepeatersDictionary``); the
edition is read from the same package. pydicom is a development tool here: the generated
modules do not import it.

Usage (from the repository root)::

    .venv/bin/python scripts/generate_dictionary.py          # rewrite both modules
    .venv/bin/python scripts/generate_dictionary.py --check  # exit 1 if they are stale

Repeating groups are written as ``(mask, value)`` pairs: a tag ``t`` matches when
``t & mask == value``. The standard's ``xx`` in a group number does not mean "any
group": PS3.5 §7.6 allows Repeating Groups only in the even groups 5000-501E (curves,
retired) and 6000-601E (overlays); odd groups are private (PS3.5 §7.8), so the retired
ACR-NEMA 7Fxx groups are narrowed to even groups as well.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DICTIONARY_PATH = REPO / "dicomkit" / "data" / "_dictionary.py"
TAGS_PATH = REPO / "dicomkit" / "data" / "tags.py"
COMMAND = "python scripts/generate_dictionary.py"

_VR_TOKEN = re.compile(r"^[A-Z]{2}$")
_KEYWORD = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_MASK_TEXT = re.compile(r"^[0-9A-Fx]{8}$")

# Group masks for a group written with "xx" (PS3.5 §7.6): the low bit must be 0 (even),
# and for curves/overlays only 00-1E may vary.
_NARROW_GROUP_MASK = {0x50: 0xFFE1, 0x60: 0xFFE1}
_EVEN_GROUP_MASK = 0xFF01


@dataclass(frozen=True)
class ElementFact:
    """One row of the registry: an exact tag, or a (mask, value) repeater."""

    tag: int  # exact tag, or the match value of a repeater
    mask: int  # 0xFFFFFFFF for an exact tag
    notation: str  # "(gggg,eeee)" as the standard writes it, e.g. "(60xx,3000)"
    vrs: tuple[str, ...]
    vm: str
    name: str
    keyword: str
    retired: bool


def parse_vrs(text: str) -> tuple[str, ...]:
    """``"OB or OW"`` -> ``("OB", "OW")``; the item elements (FFFE,E0xx) have no VR."""
    if text == "NONE":
        return ()
    vrs = tuple(part.strip() for part in text.split(" or "))
    for vr in vrs:
        if not _VR_TOKEN.match(vr):
            raise ValueError(f"unexpected VR {vr!r} in {text!r}")
    return vrs


def parse_mask(text: str) -> tuple[int, int]:
    """``"60xx3000"`` -> ``(mask, value)`` with the group range of PS3.5 §7.6 applied."""
    if not _MASK_TEXT.match(text):
        raise ValueError(f"unexpected repeater {text!r}")
    mask = int("".join("0" if ch == "x" else "F" for ch in text), 16)
    value = int(text.replace("x", "0"), 16)
    group_text = text[:4]
    if "x" in group_text:
        if group_text[2:] != "xx" or "x" in group_text[:2]:
            raise ValueError(f"unexpected repeating group {text!r}")
        high = int(group_text[:2], 16)
        group_mask = _NARROW_GROUP_MASK.get(high, _EVEN_GROUP_MASK)
        mask = (group_mask << 16) | (mask & 0xFFFF)
    return mask, value


def _notation(text: str) -> str:
    return f"({text[:4]},{text[4:]})"


def _fact(tag: int, mask: int, notation: str, row: tuple[str, str, str, str, str]) -> ElementFact:
    vr_text, vm, name, retired_text, keyword = row
    if retired_text not in ("", "Retired"):
        raise ValueError(f"unexpected retired flag {retired_text!r} for {notation}")
    if keyword and not _KEYWORD.match(keyword):
        raise ValueError(f"unexpected keyword {keyword!r} for {notation}")
    return ElementFact(
        tag=tag,
        mask=mask,
        notation=notation,
        vrs=parse_vrs(vr_text),
        vm=vm,
        name=name,
        keyword=keyword,
        retired=retired_text == "Retired",
    )


def load_facts() -> tuple[str, str, list[ElementFact], list[ElementFact]]:
    """Read the transcribed tables: (edition, source, exact elements, repeaters)."""
    import pydicom
    from pydicom import _dicom_dict
    from pydicom._version import __dicom_version__

    exact = [
        _fact(tag, 0xFFFFFFFF, f"({tag >> 16:04X},{tag & 0xFFFF:04X})", row)
        for tag, row in _dicom_dict.DicomDictionary.items()
    ]
    repeaters = []
    for text, row in _dicom_dict.RepeatersDictionary.items():
        mask, value = parse_mask(text.upper().replace("X", "x"))
        repeaters.append(_fact(value, mask, _notation(text), row))
    exact.sort(key=lambda fact: fact.tag)
    repeaters.sort(key=lambda fact: (fact.tag, fact.mask))
    _check(exact, repeaters)
    source = f"pydicom {pydicom.__version__} (_dicom_dict.py)"
    return __dicom_version__, source, exact, repeaters


def _check(exact: list[ElementFact], repeaters: list[ElementFact]) -> None:
    keywords = [fact.keyword for fact in exact + repeaters if fact.keyword]
    duplicates = sorted({kw for kw in keywords if keywords.count(kw) > 1})
    if duplicates:
        raise ValueError(f"duplicate keywords: {duplicates}")
    for fact in repeaters:
        # dictionary.py indexes repeaters by the high byte of the group.
        if fact.mask >> 24 != 0xFF:
            raise ValueError(f"repeater {fact.notation} varies in the high byte of its group")


def _py(text: str) -> str:
    """A Python string literal (double-quoted, ASCII escapes)."""
    return json.dumps(text)


def _entry(fact: ElementFact) -> str:
    items = [_py(vr) for vr in fact.vrs]
    vrs = f"({items[0]},)" if len(items) == 1 else "(" + ", ".join(items) + ")"
    return f"({vrs}, {_py(fact.vm)}, {_py(fact.name)}, {_py(fact.keyword)}, {fact.retired})"


def render_dictionary(
    edition: str, source: str, exact: list[ElementFact], repeaters: list[ElementFact]
) -> str:
    lines = [
        f'"""PS3.6 registry of DICOM data elements, DICOM {edition} (generated, do not edit).',
        "",
        f"Generated by ``{COMMAND}`` from the PS3.6 registries and the",
        f"PS3.7 Annex E command elements as transcribed in {source}.",
        "",
        "Each entry is ``(vrs, vm, name, keyword, retired)``; ``vrs`` lists every allowed VR",
        "(empty for the item delimiters, which have none). A tag ``t`` matches a repeater",
        "``(mask, value, entry)`` when ``t & mask == value`` (PS3.5 §7.6 group ranges applied).",
        '"""',
        "",
        "from collections.abc import Mapping",
        "from typing import Final",
        "",
        "Entry = tuple[tuple[str, ...], str, str, str, bool]",
        "",
        f'EDITION: Final = "{edition}"',
        "",
        "DICTIONARY: Final[Mapping[int, Entry]] = {",
    ]
    lines += [f"    0x{fact.tag:08X}: {_entry(fact)}," for fact in exact]
    lines += [
        "}",
        "",
        "REPEATERS: Final[tuple[tuple[int, int, Entry], ...]] = (",
    ]
    lines += [
        f"    (0x{fact.mask:08X}, 0x{fact.tag:08X}, {_entry(fact)}),  # {fact.notation}" for fact in repeaters
    ]
    lines += [")", ""]
    return "\n".join(lines)


def render_tags(edition: str, source: str, exact: list[ElementFact]) -> str:
    lines = [
        f'"""Tag constants for the keywords of the PS3.6 registry, DICOM {edition} (generated, do not edit).',
        "",
        f"Generated by ``{COMMAND}`` from {source}.",
        "Use ``tags.PatientName`` rather than a literal ``0x00100010`` so keywords are checked",
        "statically. Repeating-group elements (50xx, 60xx, ...) have no constant: their tag",
        "depends on the group; see ``dicomkit.data.dictionary.tag_for_keyword``.",
        '"""',
        "",
        "from typing import Final",
        "",
        "from dicomkit.data.tag import Tag",
        "",
    ]
    lines += [f"{fact.keyword}: Final = Tag(0x{fact.tag:08X})" for fact in exact if fact.keyword]
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed modules are stale")
    args = parser.parse_args(argv)
    edition, source, exact, repeaters = load_facts()
    outputs = {
        DICTIONARY_PATH: render_dictionary(edition, source, exact, repeaters),
        TAGS_PATH: render_tags(edition, source, exact),
    }
    stale = [path for path, text in outputs.items() if not path.exists() or path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(REPO)}", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(outputs[path])
        print(f"wrote {path.relative_to(REPO)}")
    print(f"DICOM {edition}: {len(exact)} elements, {len(repeaters)} repeaters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
