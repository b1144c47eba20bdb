"""``python -m dicomkit dump``: the listing shows what pydicom reads, in dcmdump's shape,
and every file DCMTK can read is dumped without error."""

from __future__ import annotations

import base64
import json
import re
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pydicom
import pytest

from dicomkit.cli.main import main
from tests.corpus import DATA_ROOT, corpus_files, corpus_ids, dcmtk_reads

RunCli = Callable[..., subprocess.CompletedProcess[str]]

FILES = DATA_ROOT / "test_files"
CT = FILES / "CT_small.dcm"

_LINE = re.compile(
    r"^(?P<indent> *)\((?P<tag>[0-9A-F]{4},[0-9A-F]{4})\) (?P<vr>[A-Z]{2}) (?P<value>.*?)"
    r" +# +(?P<length>\S+), (?P<vm>\S+) +(?P<label>.*)$"
)


def _lines(text: str) -> dict[str, re.Match[str]]:
    """Top-level element lines by tag ("0010,0010")."""
    found: dict[str, re.Match[str]] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is not None and not match["indent"]:
            found.setdefault(match["tag"], match)
    return found


def test_dump_lists_file_meta_then_the_data_set(run_cli: RunCli) -> None:
    result = run_cli("dump", CT)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    text = result.stdout
    lines = text.splitlines()
    assert lines[0].startswith("# File Meta Information")
    data_set_header = lines.index("# Data Set: Explicit VR Little Endian (1.2.840.10008.1.2.1)")
    assert any(line.startswith("(0002,0010) UI [1.2.840.10008.1.2.1]") for line in lines[:data_set_header])
    assert not any(line.startswith("(0002,") for line in lines[data_set_header:])
    elements = _lines(text)
    name = elements["0010,0010"]
    assert (name["vr"], name["value"], name["length"], name["vm"], name["label"]) == (
        "PN",
        "[CompressedSamples^CT1]",
        "22",
        "1",
        "PatientName",
    )


def test_dump_shows_values_as_pydicom_reads_them(run_cli: RunCli) -> None:
    path = FILES / "MR_small_bigendian.dcm"
    ds = pydicom.dcmread(path)
    result = run_cli("dump", path)
    assert result.returncode == 0, result.stderr
    elements = _lines(result.stdout)
    assert "Explicit VR Big Endian" in result.stdout
    assert elements["0028,0010"]["value"] == str(ds.Rows)
    assert elements["0028,0011"]["value"] == str(ds.Columns)
    assert elements["0020,0032"]["value"] == "[" + "\\".join(str(v) for v in ds.ImagePositionPatient) + "]"
    assert elements["0020,0032"]["vm"] == "3"


def test_large_binary_values_are_shown_as_their_length(run_cli: RunCli) -> None:
    result = run_cli("dump", CT)
    pixels = _lines(result.stdout)["7FE0,0010"]
    assert (pixels["vr"], pixels["value"], pixels["length"]) == ("OW", "<32768 bytes, not loaded>", "32768")


def test_short_binary_values_are_shown_in_hex(run_cli: RunCli) -> None:
    result = run_cli("dump", CT)
    assert _lines(result.stdout)["0002,0001"]["value"] == "00\\01"


def test_sequence_items_are_indented_under_their_sequence(run_cli: RunCli) -> None:
    result = run_cli("dump", CT)
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("(0010,1002) SQ (2 items)"))
    assert lines[start + 1] == "  (FFFE,E000) item 1"
    assert lines[start + 2].startswith("    (0010,0020) LO [ABCD1234] ")
    assert lines[start + 3].startswith("    (0010,0022) CS [TEXT] ")
    assert lines[start + 4] == "  (FFFE,E000) item 2"
    assert lines[start + 5].startswith("    (0010,0020) LO [1234ABCD] ")
    assert lines[start + 6].startswith("    (0010,0022) CS [TEXT] ")
    assert lines[start + 7].startswith("(0010,1010) ")


def test_private_elements_are_named_under_their_creator(run_cli: RunCli) -> None:
    result = run_cli("dump", CT)
    elements = _lines(result.stdout)
    assert elements["0009,0010"]["label"] == "PrivateCreator"
    assert elements["0009,1001"]["value"] == "[GE_GENESIS_FF]"
    assert elements["0009,1001"]["label"] == "[GEMS_IDEN_01] Full fidelity"


def test_width_cuts_long_values(run_cli: RunCli) -> None:
    result = run_cli("dump", "--width", "20", CT)
    orientation = _lines(result.stdout)["0020,0037"]
    assert len(orientation["value"]) == 20
    assert orientation["value"].endswith("...")
    assert orientation["vm"] == "6"


def test_findings_of_lenient_reading_are_listed_at_the_end(run_cli: RunCli) -> None:
    result = run_cli("dump", DATA_ROOT / "test_files" / "dicomdirtests" / "DICOMDIR-nooffset")
    if result.returncode != 0 and "No such file" in result.stderr:
        pytest.skip("pydicom's corpus changed")
    assert result.returncode == 0, result.stderr
    tail = result.stdout.splitlines()
    findings = tail.index("# Findings:")
    assert findings > 0 and all(line.startswith("#   ") for line in tail[findings + 1 :])
    assert any("offset" in line for line in tail[findings + 1 :])


def test_json_output_is_the_dicom_json_model(run_cli: RunCli) -> None:
    result = run_cli("dump", "--json", CT)
    assert result.returncode == 0, result.stderr
    model = json.loads(result.stdout)
    assert model["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "CompressedSamples^CT1"}]}
    assert model["00280010"] == {"vr": "US", "Value": [128]}
    assert "00020010" not in model  # File Meta is not part of the data set
    ds = pydicom.dcmread(CT)
    assert base64.b64decode(model["7FE00010"]["InlineBinary"]) == ds.PixelData
    assert [item["00100020"]["Value"] for item in model["00101002"]["Value"]] == [["ABCD1234"], ["1234ABCD"]]


@pytest.mark.parametrize("mode", [[], ["--json"]], ids=["text", "json"])
@pytest.mark.parametrize("path", corpus_files(), ids=corpus_ids())
def test_every_file_dcmtk_reads_is_dumped(
    path: Path, mode: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["dump", *mode, str(path)])
    out, err = capsys.readouterr()
    assert "internal error" not in err
    if status != 0:
        assert not dcmtk_reads(path), err
        assert status == 1
        assert err.count("\n") == 1 and err.startswith("python -m dicomkit dump: error: ")
        return
    if mode:
        assert isinstance(json.loads(out), dict)
        assert all(line.startswith("warning: ") for line in err.splitlines())
    else:
        assert "# Data Set: " in out
        assert err == ""


def test_an_undecodable_value_is_shown_as_such_and_listed_as_a_finding(
    run_cli: RunCli, tmp_path: Path
) -> None:
    def element(group: int, number: int, vr: bytes, value: bytes) -> bytes:
        return struct.pack("<HH2sH", group, number, vr, len(value)) + value

    path = tmp_path / "bad-value.dcm"  # a raw data set, explicit VR little endian
    path.write_bytes(
        element(0x0008, 0x0016, b"UI", b"1.2\x00") + element(0x0028, 0x0010, b"US", b"\x01\x02\x03")
    )
    result = run_cli("dump", path)
    assert result.returncode == 0, result.stderr
    rows = _lines(result.stdout)["0028,0010"]
    assert (rows["value"], rows["length"], rows["vm"]) == ("<undecodable>", "3", "?")
    lines = result.stdout.splitlines()
    assert lines[lines.index("# Findings:") + 1].startswith("#   US value of 3 bytes")
