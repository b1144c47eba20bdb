"""``python -m dicomkit convert``: files rewritten in each native transfer syntax read back
the same in pydicom and in DCMTK; compressed syntaxes are transcoded; what no codec can do and
bad syntaxes are refused clearly."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset as PdDataset

from dicomkit.cli.convert import resolve_transfer_syntax
from dicomkit.codecs.pixels import pixel_array, set_pixel_data
from dicomkit.data.dataset import Dataset
from dicomkit.part10.reader import read_file
from dicomkit.part10.writer import write_file
from tests.corpus import DATA_ROOT, normalise_pydicom

RunCli = Callable[..., subprocess.CompletedProcess[str]]

FILES = DATA_ROOT / "test_files"

IMPLICIT = "1.2.840.10008.1.2"
EXPLICIT = "1.2.840.10008.1.2.1"
DEFLATED = "1.2.840.10008.1.2.1.99"
BIG = "1.2.840.10008.1.2.2"

# One file per source syntax, with sequences, private elements and pixel data among them.
SOURCES = ["CT_small.dcm", "MR_small_bigendian.dcm", "rtplan.dcm", "image_dfl.dcm"]
TARGETS = {
    "ImplicitVRLittleEndian": IMPLICIT,
    "ExplicitVRLittleEndian": EXPLICIT,
    "DeflatedExplicitVRLittleEndian": DEFLATED,
    "ExplicitVRBigEndian": BIG,
}


def _differences(ours: PdDataset, original: PdDataset, *, implicit: bool, path: str = "") -> list[str]:
    """Element by element, recursively, with binary words in little-endian order.

    Implicit VR cannot carry a VR the dictionary does not give (private elements,
    US/SS, OB/OW): for those only the presence of the element is checked here (the
    writer's round-trip tests compare their bytes).
    """
    problems = []
    ours_little = _little_endian(ours)
    original_little = _little_endian(original)
    if set(ours.keys()) != set(original.keys()):
        return [f"{path}tags differ: {sorted(set(ours.keys()) ^ set(original.keys()))}"]
    for elem in original:
        mine = ours[elem.tag]
        where = f"{path}{elem.tag}"
        if elem.VR == "SQ":
            if mine.VR != "SQ" or len(mine.value) != len(elem.value):
                problems.append(f"{where}: sequence differs")
                continue
            for index, (a, b) in enumerate(zip(mine.value, elem.value)):
                problems.extend(_differences(a, b, implicit=implicit, path=f"{where}[{index}]."))
            continue
        if mine.VR != elem.VR:
            if not (implicit and _vr_not_implied(elem.tag, elem.VR)):
                problems.append(f"{where}: VR {mine.VR} != {elem.VR}")
            continue
        if _value(mine, ours_little) != _value(elem, original_little):
            problems.append(f"{where}: {mine.value!r:.80} != {elem.value!r:.80}")
    return problems


def _vr_not_implied(tag: Any, vr: str) -> bool:
    if tag.is_private:
        return True
    try:
        return dictionary_VR(tag) != vr
    except KeyError:
        return True


_WORD_SIZES = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


def _little_endian(ds: PdDataset) -> bool:
    encoding = ds.original_encoding
    return encoding[1] is not False


def _value(elem: Any, little: bool) -> Any:
    value = normalise_pydicom(elem)
    if isinstance(value, str):
        return value.rstrip(" \x00")
    size = _WORD_SIZES.get(elem.VR)
    if isinstance(value, bytes) and size and not little:
        # pydicom hands binary values over in the file's byte order.
        return b"".join(value[i : i + size][::-1] for i in range(0, len(value), size))
    return value


@pytest.mark.parametrize("keyword", TARGETS)
@pytest.mark.parametrize("name", SOURCES)
def test_convert_rewrites_in_each_native_syntax(
    run_cli: RunCli, tmp_path: Path, name: str, keyword: str
) -> None:
    source = FILES / name
    out = tmp_path / "out.dcm"
    result = run_cli("convert", source, out, "--transfer-syntax", keyword)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert out.exists()

    original = pydicom.dcmread(source)
    converted = pydicom.dcmread(out)
    assert converted.file_meta.TransferSyntaxUID == TARGETS[keyword]
    assert converted.file_meta.MediaStorageSOPInstanceUID == original.SOPInstanceUID
    assert _differences(converted, original, implicit=TARGETS[keyword] == IMPLICIT) == []

    dump = subprocess.run(
        ["dcmdump", "-q", "+P", "SOPInstanceUID", str(out)], capture_output=True, check=False
    )
    assert dump.returncode == 0, dump.stderr
    assert dump.stderr == b""
    assert f"[{original.SOPInstanceUID}]".encode() in dump.stdout


@pytest.mark.parametrize("dtype", ["uint32", "int32"])
def test_convert_writes_32_bit_pixels_in_big_endian_as_pydicom_and_we_decode_them(
    run_cli: RunCli, tmp_path: Path, dtype: str
) -> None:
    """Whole big-endian cells (docs/dicomkit/big_endian_pixel_data.md), back to the same LE bytes."""
    array = ((np.arange(2 * 3 * 5) * 0x01030507 + 0x10203) % 2**31).astype(dtype).reshape(2, 3, 5)
    ds = Dataset()
    ds.set("SOPClassUID", "1.2.840.10008.5.1.4.1.1.481.2", "UI")
    ds.set("SOPInstanceUID", "1.2.3.4.5", "UI")
    set_pixel_data(ds, array)
    source, big, little = tmp_path / "le.dcm", tmp_path / "be.dcm", tmp_path / "le_again.dcm"
    write_file(source, ds, transfer_syntax_uid=EXPLICIT)

    assert run_cli("convert", source, big, "-t", "big").returncode == 0
    assert pydicom.dcmread(big).file_meta.TransferSyntaxUID == BIG
    assert np.array_equal(pixel_array(read_file(big).dataset), array)
    assert np.array_equal(pydicom.dcmread(big).pixel_array, array)

    assert run_cli("convert", big, little, "-t", "explicit").returncode == 0
    assert pydicom.dcmread(little).PixelData == pydicom.dcmread(source).PixelData


def test_convert_takes_pydicoms_big_endian_rtdose_through_little_endian_and_back(
    run_cli: RunCli, tmp_path: Path
) -> None:
    source = FILES / "rtdose_expb.dcm"
    little, big = tmp_path / "le.dcm", tmp_path / "be.dcm"
    assert run_cli("convert", source, little, "-t", "implicit").returncode == 0
    assert np.array_equal(pydicom.dcmread(little).pixel_array, pydicom.dcmread(source).pixel_array)
    assert run_cli("convert", little, big, "-t", "big").returncode == 0
    assert pydicom.dcmread(big).PixelData == pydicom.dcmread(source).PixelData


def test_convert_may_overwrite_its_input(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "ct.dcm"
    path.write_bytes((FILES / "CT_small.dcm").read_bytes())
    result = run_cli("convert", path, path, "-t", "big")
    assert result.returncode == 0, result.stderr
    converted = pydicom.dcmread(path)
    assert converted.file_meta.TransferSyntaxUID == BIG
    assert _differences(converted, pydicom.dcmread(FILES / "CT_small.dcm"), implicit=False) == []


def test_a_compressed_file_can_be_rewritten_in_its_own_syntax(run_cli: RunCli, tmp_path: Path) -> None:
    source = FILES / "JPEG2000.dcm"
    original = pydicom.dcmread(source)
    out = tmp_path / "out.dcm"
    result = run_cli("convert", source, out, "-t", original.file_meta.TransferSyntaxUID)
    assert result.returncode == 0, result.stderr
    assert pydicom.dcmread(out).PixelData == original.PixelData


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("CT_small.dcm", "JPEG2000Lossless"),
        ("JPEG2000.dcm", "ExplicitVRLittleEndian"),
        ("MR_small_RLE.dcm", "JPEGLSLossless"),
    ],
)
def test_compressed_sources_and_targets_are_transcoded(
    run_cli: RunCli, tmp_path: Path, source: str, target: str
) -> None:
    out = tmp_path / "out.dcm"
    result = run_cli("convert", FILES / source, out, "--transfer-syntax", target)
    assert result.returncode == 0, result.stderr
    converted = pydicom.dcmread(out)
    assert converted.file_meta.TransferSyntaxUID == resolve_transfer_syntax(target)
    assert (converted.pixel_array == pydicom.dcmread(FILES / source).pixel_array).all()


def test_a_conversion_the_codec_cannot_do_is_refused_in_one_line(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "out.dcm"
    result = run_cli("convert", FILES / "CT_small.dcm", out, "--transfer-syntax", "JPEGBaseline8Bit")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "cannot encode" in result.stderr and "CT_small.dcm" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_codec_options_are_passed_to_the_codec(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "out.dcm"
    source = FILES / "CT_small.dcm"
    result = run_cli("convert", source, out, "-t", "JPEGLSNearLossless", "-o", "near=4")
    assert result.returncode == 0, result.stderr
    converted = pydicom.dcmread(out)
    difference = converted.pixel_array.astype(int) - pydicom.dcmread(source).pixel_array.astype(int)
    assert 0 < abs(difference).max() <= 4
    assert converted.LossyImageCompression == "01"
    assert converted.SOPInstanceUID != pydicom.dcmread(source).SOPInstanceUID


def test_an_option_is_read_as_the_type_the_codec_declares(run_cli: RunCli, tmp_path: Path) -> None:
    """``subsampling=444`` is the text "444" the JPEG codec takes, not the number 444:
    full-resolution chroma comes out closer to the original than 4:2:2."""
    source = FILES / "SC_rgb_jpeg_dcmd.dcm"
    original = pydicom.dcmread(source).pixel_array.astype(int)
    error = {}
    for subsampling in ("444", "422"):
        out = tmp_path / f"{subsampling}.dcm"
        result = run_cli("convert", source, out, "-t", "JPEGBaseline8Bit", "-o", f"subsampling={subsampling}")
        assert result.returncode == 0, result.stderr
        error[subsampling] = float(abs(pydicom.dcmread(out).pixel_array.astype(int) - original).mean())
    assert error["444"] < error["422"]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("subsampling=411", "subsampling must be 422 or 444"),
        ("quality=high", "quality must be a number"),
        ("reversible=yes", "reversible must be true or false"),
        ("speed=3", "unknown codec option 'speed'"),
        ("near", "expected NAME=VALUE"),
    ],
)
def test_a_bad_codec_option_is_a_usage_error(
    run_cli: RunCli, tmp_path: Path, option: str, message: str
) -> None:
    out = tmp_path / "out.dcm"
    result = run_cli("convert", FILES / "CT_small.dcm", out, "-t", "JPEGBaseline8Bit", "-o", option)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("syntax", ["1.2.3.4", "ExplicitVRMiddleEndian", ""])
def test_an_unknown_transfer_syntax_is_a_usage_error(run_cli: RunCli, tmp_path: Path, syntax: str) -> None:
    out = tmp_path / "out.dcm"
    result = run_cli("convert", FILES / "CT_small.dcm", out, "--transfer-syntax", syntax)
    assert result.returncode == 2
    assert "unknown transfer syntax" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_malformed_input_is_refused_unless_lenient(run_cli: RunCli, tmp_path: Path) -> None:
    source = FILES / "dicomdirtests" / "DICOMDIR-nooffset"
    out = tmp_path / "out.dcm"
    strict = run_cli("convert", source, out, "-t", "explicit")
    assert strict.returncode == 1
    assert "offset" in strict.stderr and strict.stderr.count("\n") == 1
    assert not out.exists()
    lenient = run_cli("convert", "--lenient", source, out, "-t", "explicit")
    assert lenient.returncode == 0, lenient.stderr
    assert lenient.stderr.startswith("warning: ")
    assert pydicom.dcmread(out).file_meta.TransferSyntaxUID == EXPLICIT


@pytest.mark.parametrize(
    ("text", "uid"),
    [
        ("ExplicitVRBigEndian", BIG),
        ("explicitvrbigendian", BIG),
        ("Explicit VR Big Endian", BIG),
        ("  1.2.840.10008.1.2.2 ", BIG),
        ("implicit", IMPLICIT),
        ("Implicit VR Little Endian", IMPLICIT),
        ("explicit", EXPLICIT),
        ("deflated-explicit-vr-little-endian", DEFLATED),
        ("JPEGBaseline8Bit", "1.2.840.10008.1.2.4.50"),
        ("RLE Lossless", "1.2.840.10008.1.2.5"),
    ],
)
def test_transfer_syntaxes_are_named_by_uid_keyword_or_name(text: str, uid: str) -> None:
    assert resolve_transfer_syntax(text) == uid


@pytest.mark.parametrize(
    "text", ["1.2.840.10008.1.1", "Verification", "CTImageStorage", "1.2.", "big endian"]
)
def test_other_uids_and_names_are_not_transfer_syntaxes(text: str) -> None:
    with pytest.raises(ValueError, match="unknown transfer syntax"):
        resolve_transfer_syntax(text)
