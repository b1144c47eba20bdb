"""Generate the private data dictionary: ``dicomkit/data/_private_dictionary.py``.

Vendors publish their private data elements (PS3.5 §7.8) in conformance statements; no
part of the standard lists them. Two well-known transcriptions are read here as plain
data: pydicom's ``_private_dict.py`` (itself generated from GDCM's private dictionary)
and DCMTK's ``private.dic``. pydicom comes first; DCMTK only adds elements that pydicom
leaves undefined, so that no DCMTK row changes the answer for an element pydicom knows.
Neither tool is imported by the generated module.

Usage (from the repository root)::

    .venv/bin/python scripts/generate_private_dictionary.py          # rewrite the module
    .venv/bin/python scripts/generate_private_dictionary.py --check  # exit 1 if it is stale

How the source rows become the three tables of the module:

- ``ggggxxoo`` (pydicom) and ``(gggg,"CREATOR",oo)`` (DCMTK): the element with offset
  ``oo`` in whichever block ``xx`` the creator reserved (PS3.5 §7.8.1) -> ``BLOCK``.
- ``gggg00oo`` (pydicom): GDCM writes the block as ``00`` when the vendor did not fix it.
  (gggg,0000-00FF) are never private data elements (group length, creators), so the row
  can only mean offset ``oo`` in any block -> ``BLOCK``.
- ``ggggbboo`` with ``bb`` >= 10 (pydicom) and ``(gggg,"CREATOR",bboo)`` (DCMTK): a fixed
  element number -> ``FIXED``.
- ``ggxxxxoo`` (pydicom) and ``(g1-o-g2,"CREATOR",oo)`` (DCMTK): offset ``oo`` in every
  odd (private) group of a range -> ``GROUP_RANGES``.
- ``ggggbbxx`` (pydicom): GDCM's rows for the Private Creator element itself, which
  PS3.5 §7.8.1 already defines (LO) for every creator: skipped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parents[1]
OUTPUT_PATH = REPO / "dicomkit" / "data" / "_private_dictionary.py"
DCMTK_PATH = Path("/usr/share/libdcmtk17/private.dic")
COMMAND = "python scripts/generate_private_dictionary.py"

_VR_TOKEN = re.compile(r"^[A-Z]{2}$")
_PYDICOM_KEY = re.compile(r"^([0-9A-F]{2})([0-9A-F]{2}|xx)([0-9A-F]{2}|xx)([0-9A-F]{2}|xx)$")
_DCMTK_ROW = re.compile(
    r"^\((?P<group>[0-9A-Fa-f]{4})(?:-(?P<parity>[oe])-(?P<last>[0-9A-Fa-f]{4}))?,"
    r'"(?P<creator>[^"]*)",(?P<element>[0-9A-Fa-f]{2}|[0-9A-Fa-f]{4})\)'
    r"\t(?P<vr>[^\t]+)\t(?P<name>[^\t]+)\t(?P<vm>[^\t]+)(?:\t.*)?$"
)
# DCMTK's internal VR tokens for elements that may take several VRs.
_DCMTK_MULTI_VRS = {"ox": ("OB", "OW"), "px": ("OB", "OW"), "xs": ("US", "SS")}

Entry = tuple[tuple[str, ...], str, str, bool]  # (vrs, vm, name, retired)
K = TypeVar("K")


@dataclass
class Tables:
    """The three kinds of rows, by creator."""

    block: dict[str, dict[tuple[int, int], Entry]]  # (group, offset) -> entry
    fixed: dict[str, dict[int, Entry]]  # tag -> entry
    ranges: dict[str, dict[tuple[int, int, int], Entry]]  # (first group, last group, offset) -> entry

    @classmethod
    def empty(cls) -> Tables:
        return cls({}, {}, {})

    def find(self, creator: str, tag: int) -> Entry | None:
        """The entry for a private data element, with the module's precedence."""
        group, offset = tag >> 16, tag & 0xFF
        entry = self.fixed.get(creator, {}).get(tag)
        if entry is None:
            entry = self.block.get(creator, {}).get((group, offset))
        if entry is None:
            for (first, last, off), candidate in self.ranges.get(creator, {}).items():
                if off == offset and first <= group <= last and group & 1:
                    return candidate
        return entry

    def range_covers(self, creator: str, first: int, last: int, offset: int) -> bool:
        """Whether a range row for ``offset`` meets the groups ``first..last``."""
        return any(
            off == offset and start <= last and first <= end
            for start, end, off in self.ranges.get(creator, {})
        )

    def count(self) -> int:
        return sum(len(d) for part in (self.block, self.fixed, self.ranges) for d in part.values())


def parse_vrs(text: str) -> tuple[str, ...]:
    """``"US or SS"`` / ``"OB_OW"`` / ``"ox"`` -> a tuple of VRs."""
    if text in _DCMTK_MULTI_VRS:
        return _DCMTK_MULTI_VRS[text]
    vrs = tuple(part.strip() for part in re.split(r" or |_", text))
    for vr in vrs:
        if not _VR_TOKEN.match(vr):
            raise ValueError(f"unexpected VR {vr!r} in {text!r}")
    return vrs


def _add(table: dict[str, dict[K, Entry]], creator: str, key: K, entry: Entry, row: str) -> None:
    rows = table.setdefault(creator, {})
    previous = rows.get(key)
    if previous is not None and previous[0] != entry[0]:
        raise ValueError(f"{creator!r} {row}: {entry[0]} contradicts {previous[0]} given before")
    if previous is None:
        rows[key] = entry


def load_pydicom() -> tuple[str, Tables, int]:
    """pydicom's rows as tables; also the number of creator rows skipped."""
    import pydicom
    from pydicom._private_dict import private_dictionaries

    tables = Tables.empty()
    skipped = 0
    # The ``xx`` rows first, so that a ``gggg00oo`` row never overrides one.
    rows = sorted(
        (
            (creator, key, row)
            for creator, elements in private_dictionaries.items()
            for key, row in elements.items()
        ),
        key=lambda item: (item[0], "xx" not in item[1][4:6], item[1]),
    )
    for creator, key, (vr_text, vm, name, retired_text) in rows:
        match = _PYDICOM_KEY.match(key)
        if match is None or retired_text not in ("", "Retired") or creator != creator.strip(" \x00"):
            raise ValueError(f"unexpected row {creator!r} {key!r}")
        high, low, block, offset_text = match.groups()
        entry: Entry = (parse_vrs(vr_text), vm, name, retired_text == "Retired")
        if offset_text == "xx":
            skipped += 1
            continue
        offset = int(offset_text, 16)
        if low == "xx":
            if block != "xx":
                raise ValueError(f"unexpected group range {key!r}")
            first = int(high + "01", 16)
            _add(tables.ranges, creator, (first, first | 0xFF, offset), entry, key)
            continue
        group = int(high + low, 16)
        if block in ("xx", "00"):
            _add(tables.block, creator, (group, offset), entry, key)
        elif int(block, 16) >= 0x10:
            _add(tables.fixed, creator, int(key, 16), entry, key)
        else:
            raise ValueError(f"{creator!r} {key!r}: (gggg,01xx-0Fxx) are not private data elements")
    return f"pydicom {pydicom.__version__} (_private_dict.py)", tables, skipped


def read_dcmtk(path: Path) -> tuple[str, list[tuple[str, str, int, int, int, Entry]]]:
    """DCMTK's rows: (kind, creator, first group, last group, element, entry), file order."""
    text = path.read_text(encoding="latin-1")
    digest = hashlib.sha256(text.encode("latin-1")).hexdigest()[:16]
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        match = _DCMTK_ROW.match(line)
        if match is None or match["parity"] == "e":
            raise ValueError(f"{path}:{number}: cannot read {line!r}")
        group = int(match["group"], 16)
        last = int(match["last"], 16) if match["last"] else group
        element_text = match["element"]
        kind = "range" if match["last"] else ("block" if len(element_text) == 2 else "fixed")
        element = int(element_text, 16)
        if kind == "fixed":
            element |= group << 16
        entry: Entry = (parse_vrs(match["vr"]), match["vm"], match["name"], False)
        rows.append((kind, match["creator"], group, last, element, entry))
    return f"DCMTK private.dic (sha256 {digest})", rows


def merge_dcmtk(tables: Tables, rows: Iterable[tuple[str, str, int, int, int, Entry]]) -> int:
    """Add the DCMTK rows for elements ``tables`` leaves undefined; return how many."""
    primary = Tables(
        {c: dict(d) for c, d in tables.block.items()},
        {c: dict(d) for c, d in tables.fixed.items()},
        {c: dict(d) for c, d in tables.ranges.items()},
    )
    added = Tables.empty()
    for kind, creator, group, last, element, entry in rows:
        # A row may only answer for elements the primary source leaves undefined. The
        # layers are tried fixed, block, range: a fixed row shadows all three, a block
        # row shadows the ranges, and a range row only meets other ranges.
        if kind == "fixed":
            if primary.find(creator, element) is not None:
                continue
        elif kind == "block":
            if (group, element) in primary.block.get(creator, {}) or primary.range_covers(
                creator, group, group, element
            ):
                continue
        elif primary.range_covers(creator, group, last, element):
            continue
        # "Entries may override existing entries" (private.dic): later rows win.
        if kind == "fixed":
            added.fixed.setdefault(creator, {})[element] = entry
        elif kind == "block":
            added.block.setdefault(creator, {})[(group, element)] = entry
        else:
            added.ranges.setdefault(creator, {})[(group | 1, last, element)] = entry
    for creator, blocks in added.block.items():
        tables.block.setdefault(creator, {}).update(blocks)
    for creator, fixed in added.fixed.items():
        tables.fixed.setdefault(creator, {}).update(fixed)
    for creator, ranges in added.ranges.items():
        tables.ranges.setdefault(creator, {}).update(ranges)
    return added.count()


def _py(text: str) -> str:
    """A Python string literal (double-quoted, ASCII escapes)."""
    return json.dumps(text)


def _entry(entry: Entry) -> str:
    vrs, vm, name, retired = entry
    items = [_py(vr) for vr in vrs]
    vrs_text = f"({items[0]},)" if len(items) == 1 else "(" + ", ".join(items) + ")"
    return f"({vrs_text}, {_py(vm)}, {_py(name)}, {retired})"


def render(sources: list[str], tables: Tables) -> str:
    lines = [
        '"""Private data elements of well-known vendors (PS3.5 §7.8; generated, do not edit).',
        "",
        f"Generated by ``{COMMAND}`` from",
        *(f"{source}," if i < len(sources) - 1 else f"{source}." for i, source in enumerate(sources)),
        "The first source wins; later ones only add elements it leaves undefined.",
        "",
        "Each entry is ``(vrs, vm, name, retired)``. Creators are compared after stripping",
        "padding. Tables, by creator, in the order a lookup tries them:",
        "",
        "- ``FIXED``: ``tag -> entry`` for a fixed element number.",
        "- ``BLOCK``: ``(group << 8) | offset -> entry`` (``0xgggg_oo``) for (gggg,xxoo), any block xx.",
        "- ``GROUP_RANGES``: ``(first group, last group, offset, entry)``, odd groups only.",
        '"""',
        "",
        "from collections.abc import Mapping",
        "from typing import Final",
        "",
        "Entry = tuple[tuple[str, ...], str, str, bool]",
        "",
        "FIXED: Final[Mapping[str, Mapping[int, Entry]]] = {",
    ]
    for creator in sorted(tables.fixed):
        lines.append(f"    {_py(creator)}: {{")
        for tag, entry in sorted(tables.fixed[creator].items()):
            lines.append(f"        0x{tag:08X}: {_entry(entry)},")
        lines.append("    },")
    lines += ["}", "", "BLOCK: Final[Mapping[str, Mapping[int, Entry]]] = {"]
    for creator in sorted(tables.block):
        lines.append(f"    {_py(creator)}: {{")
        for (group, offset), entry in sorted(tables.block[creator].items()):
            lines.append(f"        0x{group:04X}_{offset:02X}: {_entry(entry)},")
        lines.append("    },")
    lines += [
        "}",
        "",
        "GROUP_RANGES: Final[Mapping[str, tuple[tuple[int, int, int, Entry], ...]]] = {",
    ]
    for creator in sorted(tables.ranges):
        lines.append(f"    {_py(creator)}: (")
        for (first, last, offset), entry in sorted(tables.ranges[creator].items()):
            lines.append(f"        (0x{first:04X}, 0x{last:04X}, 0x{offset:02X}, {_entry(entry)}),")
        lines.append("    ),")
    lines += ["}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed module is stale")
    parser.add_argument("--dcmtk", type=Path, default=DCMTK_PATH, help="DCMTK's private.dic")
    args = parser.parse_args(argv)
    if not args.dcmtk.is_file():
        print(f"{args.dcmtk}: not found (apt-get install dcmtk, or pass --dcmtk)", file=sys.stderr)
        return 2
    pydicom_source, tables, skipped = load_pydicom()
    from_pydicom = tables.count()
    dcmtk_source, dcmtk_rows = read_dcmtk(args.dcmtk)
    added = merge_dcmtk(tables, dcmtk_rows)
    text = render([pydicom_source, dcmtk_source], tables)
    stale = not OUTPUT_PATH.exists() or OUTPUT_PATH.read_text() != text
    if args.check:
        if stale:
            print(f"stale: {OUTPUT_PATH.relative_to(REPO)}", file=sys.stderr)
        return 1 if stale else 0
    if stale:
        OUTPUT_PATH.write_text(text)
        print(f"wrote {OUTPUT_PATH.relative_to(REPO)}")
    creators = len(set(tables.block) | set(tables.fixed) | set(tables.ranges))
    print(
        f"{creators} creators: {from_pydicom} entries from pydicom ({skipped} creator rows skipped), "
        f"{added} added from DCMTK ({len(dcmtk_rows) - added} already known)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
