"""The oracle corpus: every file pydicom ships, and a comparison of our reading with its.

Files are found by walking pydicom's ``test_files`` and ``charset_files`` folders, never
by a hand-picked list. ``compare_datasets`` walks both readings element by element and
returns the differences as readable strings (an empty list means equal).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pydicom.data
from pydicom.dataelem import DataElement
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as PdSequence
from pydicom.valuerep import PersonName as PdPersonName

from dicomkit.data.dataset import Dataset
from dicomkit.errors import DicomError

DATA_ROOT = Path(pydicom.data.__file__).parent
CORPUS_DIRS = (DATA_ROOT / "test_files", DATA_ROOT / "charset_files")


def corpus_files() -> list[Path]:
    """Every regular file below pydicom's test and charset folders, sorted."""
    files: list[Path] = []
    for folder in CORPUS_DIRS:
        files.extend(p for p in folder.rglob("*") if p.is_file())
    return sorted(files)


def corpus_ids() -> list[str]:
    return [str(p.relative_to(DATA_ROOT)) for p in corpus_files()]


def dcmtk_reads(path: Path) -> bool:
    """Whether DCMTK's dcmdump reads the whole file without error (the second oracle)."""
    import subprocess

    result = subprocess.run(["dcmdump", "-q", str(path)], capture_output=True, check=False)
    return result.returncode == 0


def pydicom_read(path: Path) -> pydicom.Dataset | None:
    """pydicom's reading (forced, as for raw data sets), or None if it cannot read the file."""
    try:
        ds = pydicom.dcmread(path, force=True)
        # Force full conversion so that pydicom's own failures show up here.
        _touch(ds)
        _touch(ds.file_meta)
    except Exception:
        return None
    return ds


def _touch(ds: pydicom.Dataset) -> None:
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value:
                _touch(item)


def normalise_pydicom(elem: DataElement) -> Any:
    value = elem.value
    return _norm(value)


def _norm(value: Any) -> Any:
    if isinstance(value, MultiValue | list | tuple):
        items = [_norm(v) for v in value]
        return items
    if isinstance(value, PdPersonName):
        return str(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    return value


def _ours(value: Any) -> Any:
    if isinstance(value, list):
        return [_ours(v) for v in value]
    if isinstance(value, int):
        return int(value)
    return value


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return bool(a == b)


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "" or value == b"":
        return []
    if isinstance(value, list):
        return value
    return [value]


_SPACES_INSIGNIFICANT = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "TM", "UI"})


def _canonical_pn(value: Any) -> Any:
    """PS3.5 6.2.1: trailing empty components and component groups may be left out."""
    if isinstance(value, list):
        return [_canonical_pn(v) for v in value]
    if isinstance(value, str):
        return "=".join(group.rstrip("^ ") for group in value.split("=")).rstrip("=")
    return value


def _strip_all(value: Any) -> Any:
    if isinstance(value, list):
        return [_strip_all(v) for v in value]
    if isinstance(value, str):
        return value.strip(" \x00")
    return value


_SWAPPED_BYTES_VRS = frozenset({"OW", "OF", "OD", "OL", "OV"})


def _their_little_endian(theirs: pydicom.Dataset) -> bool:
    encoding = getattr(theirs, "original_encoding", (None, True))
    little = encoding[1]
    return True if little is None else bool(little)


def compare_datasets(
    ours: Dataset, theirs: pydicom.Dataset, path: str = "", their_little: bool | None = None
) -> list[str]:
    """Differences between our dataset and pydicom's (tags, VRs, values, recursively).

    Binary values of word-sized VRs are compared in pydicom's byte order (pydicom keeps
    them as they are in its file; we may hold them in another order).
    """
    if their_little is None:
        their_little = _their_little_endian(theirs)
    problems: list[str] = []
    their_tags = {int(e.tag) for e in theirs}
    our_tags = set(ours.keys())
    for tag in sorted(their_tags - our_tags):
        problems.append(f"{path}({tag >> 16:04X},{tag & 0xFFFF:04X}) missing in ours")
    for tag in sorted(our_tags - their_tags):
        problems.append(f"{path}({tag >> 16:04X},{tag & 0xFFFF:04X}) extra in ours")
    for tag in sorted(their_tags & our_tags):
        elem = theirs[tag]
        mine = ours[tag]
        where = f"{path}({tag >> 16:04X},{tag & 0xFFFF:04X})"
        if mine.vr == "SQ" and elem.VR == "UN" and isinstance(elem.value, bytes):
            # We parse an unknown implicit-VR value that holds items as a sequence (as DCMTK
            # does); pydicom keeps its bytes. Equal when our items encode to those bytes.
            parsed_items = _pydicom_items(elem.value)
            if len(parsed_items) != len(mine.sequence):
                problems.append(
                    f"{where} {len(mine.sequence)} items != pydicom's UN bytes' {len(parsed_items)}"
                )
                continue
            for index, (a, b) in enumerate(zip(mine.sequence, parsed_items)):
                problems.extend(compare_datasets(a, b, f"{where}[{index}].", True))
            continue
        if mine.vr == "UL" and elem.VR == "UN" and tag & 0xFFFF == 0:
            # A private group length in implicit VR: we know it is UL (PS3.5 7.2), pydicom says UN.
            if int.from_bytes(elem.value, "little") != mine.value:
                problems.append(f"{where} group length differs")
            continue
        if mine.vr != elem.VR:
            problems.append(f"{where} VR {mine.vr} != pydicom {elem.VR}")
            continue
        if elem.VR == "SQ":
            their_items: PdSequence = elem.value
            my_items = mine.sequence
            if len(their_items) != len(my_items):
                problems.append(f"{where} {len(my_items)} items != pydicom {len(their_items)}")
                continue
            for index, (a, b) in enumerate(zip(my_items, their_items)):
                problems.extend(compare_datasets(a, b, f"{where}[{index}].", their_little))
            continue
        try:
            their_value = _norm(elem.value)
        except Exception as exc:  # pydicom could not convert: we must refuse too
            try:
                mine.value  # noqa: B018
            except DicomError:
                continue
            problems.append(f"{where} pydicom fails ({exc}) but we decode")
            continue
        if elem.VR in _SWAPPED_BYTES_VRS and isinstance(their_value, bytes) and not mine.undefined_length:
            from dicomkit.data.charset import DEFAULT_CHARSET

            my_bytes = mine.encode(little_endian=their_little, charset=DEFAULT_CHARSET)
            if my_bytes.rstrip(b"\x00") != their_value.rstrip(b"\x00"):
                problems.append(f"{where} {elem.VR} bytes differ")
            continue
        try:
            my_value = _ours(mine.value)
        except DicomError as exc:
            problems.append(f"{where} we fail to decode: {exc}")
            continue
        if elem.VR == "PN":
            their_value, my_value = _canonical_pn(their_value), _canonical_pn(my_value)
        if elem.VR in _SPACES_INSIGNIFICANT:
            # PS3.5 Table 6.2-1: leading/trailing spaces are not significant for these VRs.
            their_value = _strip_all(their_value)
            my_value = _strip_all(my_value)
        if not _equal(_as_list(my_value), _as_list(their_value)):
            problems.append(f"{where} {elem.VR} {my_value!r:.120} != pydicom {their_value!r:.120}")
    return problems


def _pydicom_items(value: bytes) -> list[pydicom.Dataset]:
    """pydicom's parse of UN bytes as an implicit VR LE sequence (PS3.5 6.2.2)."""
    import io

    from pydicom.charset import default_encoding
    from pydicom.filereader import read_sequence

    return list(read_sequence(io.BytesIO(value), True, True, len(value), default_encoding))


def iter_elements(ds: Dataset) -> Iterator[tuple[int, str]]:
    for element in ds.elements():
        yield element.tag, element.vr
        if element.vr == "SQ":
            for item in element.sequence:
                yield from iter_elements(item)
