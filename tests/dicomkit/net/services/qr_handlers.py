"""Test handlers of the Query/Retrieve services over a folder of files (no archive).

``FolderIndex`` reads every file once and answers C-FIND (single-value, wildcard, UID
list and date range matching, PS3.4 C.2.2.2, enough for tests), and lists the
instances a C-MOVE/C-GET selects. ``Nodes`` resolves move destinations. These are test
oracles of the service classes, not a query engine.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

from dicomkit.data import tags
from dicomkit.data.dataset import Dataset
from dicomkit.data.values.ranges import parse_range
from dicomkit.errors import DimseStatusError
from dicomkit.net.scu.instances import find_files, scan_instance
from dicomkit.net.services.find import FindMatch, FindRequest
from dicomkit.net.services.move import Destination
from dicomkit.net.services.query_retrieve import QueryLevel
from dicomkit.net.services.retrieve import InstanceRef, RetrieveRequest
from dicomkit.part10.options import ReadOptions
from dicomkit.part10.reader import read_file

UNIQUE = {
    QueryLevel.PATIENT: tags.PatientID,
    QueryLevel.STUDY: tags.StudyInstanceUID,
    QueryLevel.SERIES: tags.SeriesInstanceUID,
    QueryLevel.IMAGE: tags.SOPInstanceUID,
}
_SKIP = {tags.QueryRetrieveLevel, tags.SpecificCharacterSet}


@dataclass
class Entry:
    ref: InstanceRef
    header: Dataset


@dataclass
class FolderIndex:
    """Every DICOM file of ``folder``; a FindHandler, MoveHandler and GetHandler."""

    folder: Path
    nodes: dict[str, Destination] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    refuse: DimseStatusError | None = None  # raise this from find/instances
    warn_optional: bool = False  # answer FF01
    finds: int = 0

    def __post_init__(self) -> None:
        for path in find_files([self.folder]):
            scanned = scan_instance(path)
            header = read_file(path, ReadOptions(stop_before=tags.PixelData)).dataset
            ref = InstanceRef(
                scanned.sop_class_uid, scanned.sop_instance_uid, scanned.transfer_syntax, path=path
            )
            self.entries.append(Entry(ref, header))

    # --------------------------------------------------------------- matching

    def _matches(self, identifier: Dataset, level: QueryLevel) -> list[Entry]:
        depth = list(QueryLevel).index(level)
        keys = [t for t in identifier if t not in _SKIP and t >> 16 != 0x0002]
        found: dict[str, Entry] = {}
        for entry in self.entries:
            if all(_match(identifier, entry.header, tag) for tag in keys):
                key_values = [entry.header.get_str(UNIQUE[lv], "") for lv in list(QueryLevel)[: depth + 1]]
                found.setdefault("|".join(key_values), entry)
        return list(found.values())

    def find(self, request: FindRequest) -> Iterator[Dataset | FindMatch]:
        self.finds += 1
        if self.refuse is not None:
            raise self.refuse
        for entry in self._matches(request.identifier, request.level):
            response = Dataset()
            for tag in request.identifier:
                if tag in _SKIP:
                    continue
                element = entry.header.get_element(tag)
                vr = request.identifier[tag].vr
                response.set(tag, element.value if element is not None else None, vr)
            response.set(tags.QueryRetrieveLevel, request.level.value, "CS")
            yield FindMatch(response, optional_keys_supported=False) if self.warn_optional else response

    # -------------------------------------------------------------- retrieval

    def destination(self, request: RetrieveRequest) -> Destination | None:
        assert request.move_destination is not None
        return self.nodes.get(request.move_destination)

    def instances(self, request: RetrieveRequest) -> Sequence[InstanceRef]:
        if self.refuse is not None:
            raise self.refuse
        unique = [t for t in UNIQUE.values() if t in request.identifier]
        selected = []
        for entry in self.entries:
            if unique and all(_match(request.identifier, entry.header, tag) for tag in unique):
                selected.append(entry.ref)
        return selected


def _match(identifier: Dataset, header: Dataset, tag: int) -> bool:
    element = identifier.get_element(tag)
    assert element is not None
    if element.vr == "SQ":
        return True
    wanted = identifier.get_strs(tag)
    if not wanted or not any(w.strip() for w in wanted):
        return True  # universal matching
    have = header.get_str(tag) if tag in header else None
    if have is None:
        return False
    if element.vr in ("DA", "TM", "DT"):
        return any(_in_range(w, have, element.vr) for w in wanted)
    if element.vr == "UI":
        return have in wanted
    return any(fnmatch.fnmatchcase(have.strip(), w.strip()) for w in wanted)


def _in_range(query: str, value: str, vr: str) -> bool:
    """Whether a stored DA, TM or DT value (its earliest instant) falls in a query range."""
    if vr == "DA":
        day = parse_range(value, "DA").lower_bound()
        assert day is not None  # a single value is bounded on both sides
        return parse_range(query, "DA").contains(day)
    if vr == "TM":
        time = parse_range(value, "TM").lower_bound()
        assert time is not None
        return parse_range(query, "TM").contains(time)
    assert vr == "DT", vr
    instant = parse_range(value, "DT").lower_bound()
    assert instant is not None
    return parse_range(query, "DT").contains(instant)


# ------------------------------------------------------------------ fixtures

#: A folder filled by ``write_studies`` and its files by Study Instance UID.
FolderStudies: TypeAlias = tuple[Path, dict[str, list[Path]]]


def write_studies(folder: Path) -> dict[str, list[Path]]:
    """Two patients: DOE^JOHN with a 2-series CT study (2+1 images, one in Implicit LE)
    and SMITH^ANNA with a 1-image study; files by Study Instance UID."""
    from dicomkit.data import uids
    from dicomkit.data.uid import generate_uid
    from tests.builders import write_ct

    studies: dict[str, list[Path]] = {}
    plan = [
        (
            "DOE^JOHN",
            "PAT1",
            "20240102",
            [(uids.ExplicitVRLittleEndian, 2), (uids.ImplicitVRLittleEndian, 1)],
        ),
        ("SMITH^ANNA", "PAT2", "20231115", [(uids.ExplicitVRLittleEndian, 1)]),
    ]
    for name, patient_id, date, series_plan in plan:
        study_uid = generate_uid()
        studies[study_uid] = []
        for series_number, (syntax, count) in enumerate(series_plan, start=1):
            series_uid = generate_uid()
            for number in range(1, count + 1):
                path = folder / patient_id / f"{series_number}-{number}.dcm"
                write_ct(
                    path,
                    syntax,
                    PatientName=name,
                    PatientID=patient_id,
                    StudyDate=date,
                    StudyInstanceUID=study_uid,
                    SeriesInstanceUID=series_uid,
                    SeriesNumber=str(series_number),
                    InstanceNumber=str(number),
                )
                studies[study_uid].append(path)
    return studies


def write_study_with_a_truncated_file(folder: Path) -> tuple[str, list[Path], str]:
    """A study of four files, the second pydicom's ``MR_truncated.dcm`` (Pixel Data
    declares 8192 bytes, 8130 remain) and the others good CTs of its study; the Study
    Instance UID, the good files, and the truncated file's SOP Instance UID."""
    import shutil

    from tests.builders import write_ct
    from tests.corpus import DATA_ROOT

    truncated = DATA_ROOT / "test_files" / "MR_truncated.dcm"
    header = read_file(truncated, ReadOptions(stop_before=tags.PixelData)).dataset
    study_uid = header.get_str(tags.StudyInstanceUID)
    truncated_uid = header.get_str(tags.SOPInstanceUID)
    assert study_uid is not None and truncated_uid is not None
    paths = [folder / f"{number}.dcm" for number in range(1, 5)]
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(truncated, paths[1])
    good = [paths[0], *paths[2:]]
    for path in good:
        write_ct(path, StudyInstanceUID=study_uid)
    return study_uid, good, truncated_uid
