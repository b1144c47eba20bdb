"""DICOM data sets and files for ingest tests, built with dicomkit only.

``make_ct(**overrides)`` returns a small CT Image Storage data set (4x4 pixels, 16 bits)
with fresh UIDs. Overrides are keywords of the PS3.6 dictionary; ``None`` removes the
attribute (``make_ct(StudyInstanceUID=None)``). ``write_ct(path[, ts], **overrides)`` writes
it as a PS3.10 file, ``encode_ct(dataset, ts)`` as a bare data set (what a C-STORE carries).
"""

from __future__ import annotations

from pathlib import Path

from dicomkit.data import uids
from dicomkit.data.dataset import Dataset
from dicomkit.data.uid import generate_uid
from dicomkit.data.value_codec import ElementValue
from dicomkit.part10.writer import encode_dataset, write_file

ROWS = COLUMNS = 4


def make_ct(**overrides: ElementValue) -> Dataset:
    """A CT image data set; keyword overrides, ``None`` deletes."""
    values: dict[str, ElementValue] = {
        "SpecificCharacterSet": "ISO_IR 192",
        "SOPClassUID": uids.CTImageStorage,
        "SOPInstanceUID": generate_uid(),
        "StudyDate": "20240102",
        "StudyTime": "101500",
        "AccessionNumber": "ACC0001",
        "Modality": "CT",
        "ReferringPhysicianName": "House^Gregory",
        "StudyDescription": "CT Chest",
        "SeriesDescription": "Axial",
        "PatientName": "Doe^John",
        "PatientID": "PAT0001",
        "IssuerOfPatientID": "HOSP",
        "PatientBirthDate": "19700101",
        "PatientSex": "M",
        "StudyInstanceUID": generate_uid(),
        "SeriesInstanceUID": generate_uid(),
        "StudyID": "1",
        "SeriesNumber": "1",
        "InstanceNumber": "1",
        "SamplesPerPixel": 1,
        "PhotometricInterpretation": "MONOCHROME2",
        "Rows": ROWS,
        "Columns": COLUMNS,
        "BitsAllocated": 16,
        "BitsStored": 12,
        "HighBit": 11,
        "PixelRepresentation": 0,
        "PixelData": bytes(range(ROWS * COLUMNS * 2)),
    }
    values.update(overrides)
    dataset = Dataset()
    for keyword, value in values.items():
        if value is None:
            continue
        vr = "OW" if keyword == "PixelData" else None
        dataset.set(keyword, value, vr)
    return dataset


def write_ct(
    path: Path, transfer_syntax: str = uids.ExplicitVRLittleEndian, /, **overrides: ElementValue
) -> Dataset:
    """Write a CT file at ``path`` (folders created) in ``transfer_syntax``; returns its data set.

    Both are positional-only: every keyword is a data set override, so a ``**dict`` of
    them cannot be taken for the transfer syntax.
    """
    dataset = make_ct(**overrides)
    path.parent.mkdir(parents=True, exist_ok=True)
    # File Meta falls back on these when a test removes the data set's SOP UIDs.
    meta = Dataset()
    meta.set(0x00020002, uids.CTImageStorage, "UI")
    meta.set(0x00020003, generate_uid(), "UI")
    write_file(path, dataset, transfer_syntax_uid=transfer_syntax, meta=meta)
    return dataset


def encode_ct(dataset: Dataset, transfer_syntax: str = uids.ExplicitVRLittleEndian) -> bytes:
    """The bare data set as a C-STORE request carries it (no File Meta)."""
    return encode_dataset(dataset, transfer_syntax)
