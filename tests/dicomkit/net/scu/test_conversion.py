"""``scu.conversion``: native-to-native conversion streamed from the file.

The oracle is ``instances.encode_for``, which reads the data set whole and encodes it with
the PS3.10 writer: for every pair of Implicit VR LE, Explicit VR LE and Explicit VR BE, the
streamed bytes must be its bytes exactly, over pydicom's native files with Pixel Data,
over 8, 16, 32 and 64-bit Pixel Data (byte order changes cell by cell for 32 and 64,
word by word otherwise, never for OB), over values that span several chunks, over
elements after Pixel Data and over generated data sets. A small ``defer_size`` makes the
small values of the corpus go through the copying path too.
"""

from __future__ import annotations

import hashlib
import itertools
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicomkit.data import tags, uids
from dicomkit.data.dataset import Dataset
from dicomkit.data.element import Element
from dicomkit.errors import DicomError, EncodeError
from dicomkit.net.scu.conversion import DEFER_SIZE, open_converted, streams_conversion
from dicomkit.net.scu.instances import Instance, encode_for, scan_instance
from dicomkit.part10.options import ReadOptions
from dicomkit.part10.reader import read_dataset, read_file
from dicomkit.part10.transfer_syntax import (
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    transfer_syntax,
)
from dicomkit.part10.writer import write_file
from tests.builders import make_ct
from tests.corpus import DATA_ROOT
from tests.dicomkit.net.scu.conversion_support import corpus_with_pixel_data, read_through
from tests.interop.large_instances import MIB, write_multiframe
from tests.strategies import datasets

NATIVE = [IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN]
PAIRS = [
    pytest.param(s, t, id=f"{transfer_syntax(s).name} to {transfer_syntax(t).name}")
    for s, t in itertools.permutations(NATIVE, 2)
]
#: Small enough that the corpus's Pixel Data (28 bytes and up) is copied, not written.
SMALL_DEFER = 16


def _streamed(
    instance: Instance, target: str, *, defer_size: int = DEFER_SIZE, read_size: int = 8192
) -> bytes:
    """Everything the stream gives, read as ``fragment_stream`` reads it; checks its length."""
    pieces = []
    with open_converted(instance, target, defer_size=defer_size) as stream:
        while piece := stream.read(read_size):
            assert len(piece) <= read_size
            pieces.append(piece)
        assert stream.read(read_size) == b""
    data = b"".join(pieces)
    assert len(data) == stream.length
    assert len(data) % 2 == 0
    return data


def _assert_like_encode_for(instance: Instance, target: str, *, defer_size: int = DEFER_SIZE) -> bytes:
    try:
        expected = encode_for(instance, target)
    except DicomError:
        with pytest.raises(DicomError):
            _streamed(instance, target, defer_size=defer_size)
        return b""
    assert _streamed(instance, target, defer_size=defer_size) == expected
    return expected


# ------------------------------------------------------------------ which conversions


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_every_pair_of_native_syntaxes_streams(source: str, target: str) -> None:
    assert streams_conversion(source, target)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN),  # cannot be parsed in parts
        (EXPLICIT_VR_LITTLE_ENDIAN, "1.2.3.4.5.6"),  # unknown: taken as encapsulated, no codec
        ("1.2.3.4.5.6", EXPLICIT_VR_LITTLE_ENDIAN),
        (uids.RLELossless, uids.RLELossless),  # nothing to convert
    ],
)
def test_deflated_sources_and_syntaxes_without_a_codec_do_not_stream(source: str, target: str) -> None:
    assert not streams_conversion(source, target)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (EXPLICIT_VR_LITTLE_ENDIAN, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN),  # deflated into a spool file
        (uids.JPEGBaseline8Bit, EXPLICIT_VR_LITTLE_ENDIAN),  # decoded frame by frame
        (EXPLICIT_VR_LITTLE_ENDIAN, uids.RLELossless),  # encoded frame by frame into a spool file
        (uids.JPEG2000Lossless, uids.JPEGLSLossless),
    ],
)
def test_deflated_targets_and_syntaxes_with_a_codec_stream(source: str, target: str) -> None:
    assert streams_conversion(source, target)


def test_what_does_not_stream_is_converted_in_memory_as_encode_for_converts(tmp_path: Path) -> None:
    path = tmp_path / "ct.dcm"
    write_file(path, make_ct(), transfer_syntax_uid=DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)
    instance = scan_instance(path)
    with open_converted(instance, EXPLICIT_VR_LITTLE_ENDIAN) as stream:
        assert not stream.streamed
        assert stream.read() == encode_for(instance, EXPLICIT_VR_LITTLE_ENDIAN)


# ------------------------------------------------------------------- pydicom's files


CORPUS = corpus_with_pixel_data(encapsulated=False)


def test_the_corpus_holds_each_native_syntax_and_elements_after_pixel_data() -> None:
    syntaxes = {scan_instance(path).transfer_syntax for path in CORPUS}
    assert syntaxes == set(NATIVE)
    trailing = [
        path for path in CORPUS if max(read_file(path, ReadOptions(defer_size=1024)).dataset) > tags.PixelData
    ]
    assert trailing


@pytest.mark.parametrize("defer_size", [SMALL_DEFER, DEFER_SIZE])
@pytest.mark.parametrize(
    ("path", "target"),
    [
        pytest.param(path, target, id=f"{path.relative_to(DATA_ROOT)} to {transfer_syntax(target).name}")
        for path in CORPUS
        for target in NATIVE
        if target != scan_instance(path).transfer_syntax
    ],
)
def test_pydicom_files_stream_to_encode_for_bytes(path: Path, target: str, defer_size: int) -> None:
    _assert_like_encode_for(scan_instance(path), target, defer_size=defer_size)


# ----------------------------------------------------------------- built instances


def _trailing(dataset: Dataset) -> None:
    """Elements after Pixel Data: a private block with a long OW and a long text, and padding."""
    dataset.add(Element(0x7FE10010, "LO", "DICOMKIT TEST"))
    dataset.add(Element(0x7FE11010, "OW", bytes(range(256)) * 400))
    dataset.add(Element(0x7FE11020, "UT", "Trailing text, ünïcödé. " * 3000))
    dataset.add(Element(tags.DataSetTrailingPadding, "OB", bytes(1001)))


def _long_text_in_a_sequence(dataset: Dataset) -> None:
    """A nested text value long enough to be deferred, in ISO_IR 192 (make_ct's charset)."""
    item = Dataset()
    item.set("TextValue", "Befund: ünauffällig. " * 4000)
    dataset.set("ContentSequence", [item])


def _instance(
    tmp_path: Path, source: str, *, bits: int, pixel_bytes: int, vr: str = "OW", trailing: bool = True
) -> Instance:
    pixels = bytes((i * 7 + i // 251) & 0xFF for i in range(pixel_bytes))
    dataset = make_ct(BitsAllocated=bits, BitsStored=bits, HighBit=bits - 1, PixelData=None)
    dataset.add(Element(tags.PixelData, vr, pixels))
    _long_text_in_a_sequence(dataset)
    if trailing:
        _trailing(dataset)
    path = tmp_path / f"{bits}-{vr}-{pixel_bytes}.dcm"
    write_file(path, dataset, transfer_syntax_uid=source)
    return scan_instance(path)


@pytest.mark.parametrize(("source", "target"), PAIRS)
@pytest.mark.parametrize(
    ("bits", "vr", "pixel_bytes"),
    [
        (8, "OB", 4 * 4),
        (8, "OB", 3 * 3),  # odd: padded to even
        (8, "OW", 4 * 4),
        (16, "OW", 4 * 4 * 2),
        (32, "OW", 4 * 4 * 4),
        (64, "OW", 4 * 4 * 8),
        (32, "OW", 4 * 4 * 4 + 2),  # not whole cells: the rest is swapped as words
    ],
)
@pytest.mark.parametrize("trailing", [False, True], ids=["pixel data last", "elements after"])
def test_built_instances_stream_to_encode_for_bytes(
    tmp_path: Path, source: str, target: str, bits: int, vr: str, pixel_bytes: int, trailing: bool
) -> None:
    instance = _instance(tmp_path, source, bits=bits, pixel_bytes=pixel_bytes, vr=vr, trailing=trailing)
    expected = _assert_like_encode_for(instance, target, defer_size=SMALL_DEFER)
    assert read_dataset(expected, target).get_element(tags.PixelData) is not None


@pytest.mark.parametrize(("source", "target"), PAIRS)
@pytest.mark.parametrize("bits", [8, 16, 32, 64])
def test_pixel_data_of_several_chunks_streams_to_encode_for_bytes(
    tmp_path: Path, source: str, target: str, bits: int
) -> None:
    # 2 MiB and 24 bytes: three chunks, the last one short; default defer size.
    instance = _instance(tmp_path, source, bits=bits, pixel_bytes=2 * MIB + 24, trailing=True)
    _assert_like_encode_for(instance, target)


@pytest.mark.parametrize(("source", "target"), PAIRS)
@pytest.mark.parametrize("bits", [32, 64])
def test_small_pixel_data_after_a_copied_value_keeps_its_cells_whole(
    tmp_path: Path, source: str, target: str, bits: int
) -> None:
    # Found by the generated data sets: Pixel Data too small to be deferred, after a long
    # value that is copied, must still be swapped by its Bits Allocated (in another run).
    dataset = make_ct(BitsAllocated=bits, BitsStored=bits, HighBit=bits - 1, PixelData=None)
    dataset.add(Element(0x00290010, "LO", "DICOMKIT TEST"))
    dataset.add(Element(0x00291010, "OB", bytes(range(256)) * 512))  # 128 KiB: deferred
    dataset.add(Element(tags.PixelData, "OW", bytes(range(4 * 4 * bits // 8))))
    path = tmp_path / "small-pixels.dcm"
    write_file(path, dataset, transfer_syntax_uid=source)
    _assert_like_encode_for(scan_instance(path), target)


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_float_pixel_data_is_copied_and_swapped_as_of(tmp_path: Path, source: str, target: str) -> None:
    dataset = make_ct(
        BitsAllocated=32, BitsStored=None, HighBit=None, PixelRepresentation=None, PixelData=None
    )
    dataset.add(Element(tags.FloatPixelData, "OF", bytes(range(256)) * 1024))
    path = tmp_path / "float.dcm"
    write_file(path, dataset, transfer_syntax_uid=source)
    _assert_like_encode_for(scan_instance(path), target)


@pytest.mark.parametrize("target", [IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN])
def test_odd_length_ow_changing_byte_order_is_refused_before_the_first_byte_as_encode_for_refuses(
    tmp_path: Path, target: str
) -> None:
    # OW of 2 MiB + 1 bytes (malformed: the writer would have padded it) cannot be word
    # swapped. The writer refuses; so must the stream, before anything is read from it:
    # mid-message, the association would have to be aborted.
    path = tmp_path / "odd.dcm"
    write_file(path, make_ct(PixelData=None), transfer_syntax_uid=EXPLICIT_VR_LITTLE_ENDIAN)
    with open(path, "ab") as fp:
        fp.write(struct.pack("<HH2s2xL", 0x7FE0, 0x0010, b"OW", 2 * MIB + 1) + bytes(2 * MIB + 1))
    instance = scan_instance(path)
    if target == IMPLICIT_VR_LITTLE_ENDIAN:  # same byte order: copied, then padded to even
        assert len(_assert_like_encode_for(instance, target)) % 2 == 0
        return
    with pytest.raises(EncodeError):
        encode_for(instance, target)
    with pytest.raises(EncodeError):
        open_converted(instance, target)


def test_a_truncated_file_is_refused_when_opened(tmp_path: Path) -> None:
    instance = _instance(tmp_path, EXPLICIT_VR_LITTLE_ENDIAN, bits=16, pixel_bytes=2 * MIB, trailing=False)
    with open(instance.path, "r+b") as fp:
        fp.truncate(instance.path.stat().st_size - 1000)
    with pytest.raises(DicomError):
        open_converted(scan_instance(instance.path), IMPLICIT_VR_LITTLE_ENDIAN)


def test_defer_size_below_two_is_refused(tmp_path: Path) -> None:
    instance = _instance(tmp_path, EXPLICIT_VR_LITTLE_ENDIAN, bits=16, pixel_bytes=32)
    with pytest.raises(ValueError, match="Pixel Representation"):
        open_converted(instance, IMPLICIT_VR_LITTLE_ENDIAN, defer_size=1)


@pytest.mark.parametrize("read_size", [1, 7, 4096, 3 * MIB])
def test_any_read_size_gives_the_same_bytes(tmp_path: Path, read_size: int) -> None:
    instance = _instance(tmp_path, EXPLICIT_VR_BIG_ENDIAN, bits=32, pixel_bytes=MIB + 40)
    expected = encode_for(instance, IMPLICIT_VR_LITTLE_ENDIAN)
    assert _streamed(instance, IMPLICIT_VR_LITTLE_ENDIAN, read_size=read_size) == expected


# ------------------------------------------------------------------ generated data sets


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ds=datasets(),
    after=datasets(depth=0),
    pair=st.sampled_from(list(itertools.permutations(NATIVE, 2))),
    bits=st.sampled_from([8, 16, 32, 64]),
    pixels=st.binary(max_size=300),
    defer_size=st.sampled_from([2, SMALL_DEFER, DEFER_SIZE]),
)
def test_generated_data_sets_stream_to_encode_for_bytes(
    ds: Dataset,
    after: Dataset,
    pair: tuple[str, str],
    bits: int,
    pixels: bytes,
    defer_size: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    source, target = pair
    ds.set("SOPClassUID", uids.SecondaryCaptureImageStorage)
    ds.set("SOPInstanceUID", "1.2.3.4.5")
    ds.set("BitsAllocated", bits)
    ds.add(Element(tags.PixelData, "OB" if bits == 8 else "OW", pixels))
    for element in after.elements():  # the same private elements, moved past Pixel Data
        ds.add(Element(0x7FE10000 | (element.tag & 0xFFFF), element.vr, element.value))
    path = tmp_path_factory.mktemp("generated") / "x.dcm"
    try:
        write_file(path, ds, transfer_syntax_uid=source)
    except DicomError:
        return  # not a data set this syntax can hold
    _assert_like_encode_for(scan_instance(path), target, defer_size=defer_size)


# ----------------------------------------------------------------------------- memory


def test_converting_a_64_mib_instance_allocates_a_few_chunks_not_the_object(tmp_path: Path) -> None:
    path = tmp_path / "large.dcm"
    write_multiframe(path, frames=32)  # 1024 x 1024 x 16 bits each: 64 MiB of Pixel Data
    instance = scan_instance(path)
    digest, peak = read_through(instance, EXPLICIT_VR_BIG_ENDIAN)
    assert peak < 8 * MIB, f"peak {peak / MIB:.1f} MiB"
    assert digest == hashlib.sha256(encode_for(instance, EXPLICIT_VR_BIG_ENDIAN)).hexdigest()
    path.unlink()
