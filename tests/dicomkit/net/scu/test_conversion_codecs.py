"""``scu.conversion`` through the codecs: compressed to native, native to compressed, deflated.

The oracle is ``instances.encode_for`` (the whole data set read, ``transcode``d and
written). The streamed bytes must be its bytes: for every pydicom file with encapsulated
Pixel Data that decodes, to Explicit and Implicit VR Little Endian (and Big Endian, and
deflated); for pydicom's native files to RLE Lossless and JPEG-LS Lossless; for random
small multi-frame images, whose pixels must also survive the round trip. A frame that
cannot be decoded fails before the first byte when it is the first, and as the stream is
read otherwise.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicomkit.codecs.pixels import pixel_array, pixel_format, set_pixel_data
from dicomkit.data import tags, uids
from dicomkit.data.element import Element
from dicomkit.errors import CodecError, DicomError
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
from tests.interop.large_instances import MIB, write_compressed_multiframe

NATIVE_TARGETS = [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN]
COMPRESSED_TARGETS = [uids.RLELossless, uids.JPEGLSLossless]
#: Small enough that the corpus's values (and their fragments) are left in the file.
SMALL_DEFER = 16


def _streamed(instance: Instance, target: str, *, defer_size: int = DEFER_SIZE) -> tuple[bytes, bool]:
    """The stream's bytes, read as ``fragment_stream`` reads them, and whether it streamed."""
    pieces = []
    with open_converted(instance, target, defer_size=defer_size) as stream:
        while piece := stream.read(8192):
            pieces.append(piece)
        streamed = stream.streamed
    data = b"".join(pieces)
    assert len(data) == stream.length
    assert len(data) % 2 == 0
    return data, streamed


def _oracle(instance: Instance, target: str) -> bytes | None:
    """``encode_for``'s bytes, padded to even as they are sent; None when it refuses."""
    try:
        data = encode_for(instance, target)
    except (DicomError, ValueError):
        return None
    return data + b"\x00" if len(data) % 2 else data


ENCAPSULATED = corpus_with_pixel_data(encapsulated=True)
NATIVE = corpus_with_pixel_data(encapsulated=False)


def _param(path: Path, target: str) -> object:
    return pytest.param(path, target, id=f"{path.relative_to(DATA_ROOT)} to {transfer_syntax(target).name}")


# ------------------------------------------------------------------ compressed -> native


def test_the_corpus_holds_every_codec_we_decode() -> None:
    syntaxes = {scan_instance(path).transfer_syntax for path in ENCAPSULATED}
    assert {uids.RLELossless, uids.JPEGBaseline8Bit, uids.JPEGLSLossless, uids.JPEG2000Lossless} <= syntaxes


@pytest.mark.parametrize("defer_size", [SMALL_DEFER, DEFER_SIZE])
@pytest.mark.parametrize(
    ("path", "target"),
    [
        _param(path, target)
        for path in ENCAPSULATED
        for target in [*NATIVE_TARGETS, EXPLICIT_VR_BIG_ENDIAN, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN]
    ],
)
def test_compressed_pydicom_files_stream_decoded_to_encode_for_bytes(
    path: Path, target: str, defer_size: int
) -> None:
    instance = scan_instance(path)
    expected = _oracle(instance, target)
    if expected is None:  # does not decode: refused before anything is sent, as encode_for refuses
        with pytest.raises((DicomError, ValueError)):
            _streamed(instance, target, defer_size=defer_size)
        return
    data, streamed = _streamed(instance, target, defer_size=defer_size)
    assert data == expected
    assert streamed, "decoded in memory, not frame by frame"


def test_most_compressed_pydicom_files_decode() -> None:
    decoded = [path for path in ENCAPSULATED if _oracle(scan_instance(path), EXPLICIT_VR_LITTLE_ENDIAN)]
    assert len(decoded) >= 30


# ------------------------------------------------------------------ native -> compressed


def _streams_frame_by_frame(path: Path) -> bool:
    """Native Pixel Data the codecs can read a frame at a time from the file (see
    ``pixel_conversion.encoded_pixel_data``): the others go through ``encode_for``."""
    dataset = read_file(path, ReadOptions(defer_size=SMALL_DEFER)).dataset
    element = dataset.get_element(tags.PixelData)
    assert element is not None
    fmt = pixel_format(dataset)
    big_endian_bytes = not element.little_endian and element.vr == "OW" and fmt.bits_allocated <= 8
    return not (
        fmt.bits_allocated % 8 or big_endian_bytes or fmt.photometric_interpretation == "YBR_FULL_422"
    )


@pytest.mark.parametrize(
    ("path", "target"), [_param(path, target) for path in NATIVE for target in COMPRESSED_TARGETS]
)
def test_native_pydicom_files_stream_encoded_to_encode_for_bytes(path: Path, target: str) -> None:
    instance = scan_instance(path)
    expected = _oracle(instance, target)
    if expected is None:  # a format the codec cannot encode: refused before the first byte
        with pytest.raises((DicomError, ValueError)):
            _streamed(instance, target, defer_size=SMALL_DEFER)
        return
    data, streamed = _streamed(instance, target, defer_size=SMALL_DEFER)
    assert data == expected
    assert streamed == _streams_frame_by_frame(path)


def test_most_native_pydicom_files_stream_encoded() -> None:
    encodable = [path for path in NATIVE if _oracle(scan_instance(path), uids.RLELossless)]
    streamed = [path for path in encodable if _streams_frame_by_frame(path)]
    assert len(encodable) >= 20
    assert len(streamed) >= len(encodable) - 3


# --------------------------------------------------------------- generated multi-frame


def _write(path: Path, pixels: np.ndarray, syntax: str, *, photometric: str | None = None) -> Instance:
    dataset = make_ct(PixelData=None)
    set_pixel_data(dataset, pixels, photometric_interpretation=photometric)
    dataset.set("NumberOfFrames", str(pixels.shape[0]))
    dataset.add(Element(0x7FE10010, "LO", "DICOMKIT TEST"))  # elements after Pixel Data
    dataset.add(Element(0x7FE11010, "OB", bytes(range(256)) * 3))
    native = path.with_suffix(".native.dcm")
    write_file(native, dataset, transfer_syntax_uid=EXPLICIT_VR_LITTLE_ENDIAN)
    if syntax == EXPLICIT_VR_LITTLE_ENDIAN:
        return scan_instance(native)
    write_file(
        path, read_dataset(encode_for(scan_instance(native), syntax), syntax), transfer_syntax_uid=syntax
    )
    return scan_instance(path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frames=st.integers(1, 5),
    rows=st.integers(1, 9),
    columns=st.integers(1, 9),
    dtype=st.sampled_from([np.uint8, np.uint16, np.int16]),
    colour=st.booleans(),
    codec=st.sampled_from(COMPRESSED_TARGETS),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_frames_round_trip_through_a_codec_as_encode_for_converts(
    frames: int,
    rows: int,
    columns: int,
    dtype: type[np.integer],
    colour: bool,
    codec: str,
    seed: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    colour = colour and dtype is np.uint8
    shape = (frames, rows, columns, 3) if colour else (frames, rows, columns)
    info = np.iinfo(dtype)
    pixels = np.random.default_rng(seed).integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    folder = tmp_path_factory.mktemp("frames")
    photometric = "RGB" if colour else "MONOCHROME2"  # (1, 1, 3) is one row of three pixels
    source = _write(folder / "native.dcm", pixels, EXPLICIT_VR_LITTLE_ENDIAN, photometric=photometric)
    expected = _oracle(source, codec)
    if expected is None:
        return  # e.g. JPEG-LS and signed samples
    compressed, streamed = _streamed(source, codec, defer_size=SMALL_DEFER)
    assert streamed
    assert compressed == expected
    encoded = folder / "encoded.dcm"
    write_file(encoded, read_dataset(compressed, codec), transfer_syntax_uid=codec)
    back, streamed = _streamed(scan_instance(encoded), EXPLICIT_VR_LITTLE_ENDIAN, defer_size=SMALL_DEFER)
    assert streamed
    assert back == encode_for(scan_instance(encoded), EXPLICIT_VR_LITTLE_ENDIAN)
    decoded = pixel_array(read_dataset(back, EXPLICIT_VR_LITTLE_ENDIAN))
    np.testing.assert_array_equal(decoded, pixels)


# -------------------------------------------------------------------------- failures


def _corrupt_frame(path: Path, frame: int) -> None:
    """Overwrite the first 64 bytes of a fragment's codestream (one fragment per frame)."""
    data = bytearray(path.read_bytes())
    start = data.rfind(struct.pack("<HH2s2xL", 0x7FE0, 0x0010, b"OB", 0xFFFFFFFF))
    position = start + 12
    (length,) = struct.unpack_from("<L", data, position + 4)
    position += 8 + length  # past the Basic Offset Table
    for _ in range(frame):
        (length,) = struct.unpack_from("<L", data, position + 4)
        position += 8 + length
    data[position + 8 : position + 8 + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))


@pytest.fixture
def jpeg_ls_frames(tmp_path: Path) -> Instance:
    pixels = np.random.default_rng(3).integers(0, 4095, size=(4, 64, 64), dtype=np.uint16)
    return _write(tmp_path / "jls.dcm", pixels, uids.JPEGLSLossless)


def test_a_first_frame_that_cannot_be_decoded_is_refused_before_the_first_byte(
    jpeg_ls_frames: Instance,
) -> None:
    _corrupt_frame(jpeg_ls_frames.path, 0)
    with pytest.raises(CodecError):
        open_converted(jpeg_ls_frames, EXPLICIT_VR_LITTLE_ENDIAN)


def test_a_later_frame_that_cannot_be_decoded_fails_the_read_naming_it(jpeg_ls_frames: Instance) -> None:
    _corrupt_frame(jpeg_ls_frames.path, 2)
    with open_converted(jpeg_ls_frames, EXPLICIT_VR_LITTLE_ENDIAN) as stream:
        assert stream.streamed
        with pytest.raises(CodecError) as raised:
            while stream.read(4096):
                pass
    assert raised.value.frame == 2


def test_closing_a_stream_removes_its_spool_file(jpeg_ls_frames: Instance) -> None:
    with open_converted(jpeg_ls_frames, uids.RLELossless) as stream:
        stream.read(100)
        (value,) = stream._produced  # the encoded frames, spooled
        assert value.spool is not None
        spool = value.spool
    assert spool.closed


def _open_descriptors_on(path: Path) -> int:
    """How many of this process's file descriptors are open on ``path``."""
    target = path.resolve()
    count = 0
    for fd in Path("/proc/self/fd").iterdir():
        try:
            count += Path(fd.readlink()) == target
        except OSError:  # closed meanwhile (the listing's own descriptor)
            continue
    return count


def test_closing_a_stream_part_read_closes_the_file_its_frames_are_decoded_from(
    jpeg_ls_frames: Instance,
) -> None:
    with open_converted(jpeg_ls_frames, EXPLICIT_VR_LITTLE_ENDIAN, defer_size=SMALL_DEFER) as stream:
        stream.read(stream.length // 2)  # into the frames: the source file is open for them
        assert _open_descriptors_on(jpeg_ls_frames.path) >= 1
    assert _open_descriptors_on(jpeg_ls_frames.path) == 0
    assert stream.read(10) == b""


def test_native_and_compressed_syntaxes_with_a_codec_stream_both_ways() -> None:
    for syntax in (uids.RLELossless, uids.JPEGLSLossless, uids.JPEG2000Lossless, uids.JPEGBaseline8Bit):
        assert streams_conversion(syntax, EXPLICIT_VR_LITTLE_ENDIAN)
        assert streams_conversion(EXPLICIT_VR_LITTLE_ENDIAN, syntax)


# ----------------------------------------------------------------------------- memory


def test_decoding_a_64_mib_compressed_instance_allocates_a_few_frames_not_the_object(tmp_path: Path) -> None:
    path = tmp_path / "large-jls.dcm"
    expected = write_compressed_multiframe(path, frames=32)  # 1024 x 1024 x 16 bits: 64 MiB native
    instance = scan_instance(path)
    digest, peak = read_through(instance, EXPLICIT_VR_LITTLE_ENDIAN)
    assert peak < 16 * MIB, f"peak {peak / MIB:.1f} MiB"
    oracle = encode_for(instance, EXPLICIT_VR_LITTLE_ENDIAN)
    assert digest == hashlib.sha256(oracle).hexdigest()
    assert hashlib.sha256(oracle[-32 * 1024 * 1024 * 2 :]).hexdigest() == expected
    path.unlink()
