"""``dcmdump`` as the oracle for "the stored data set equals the sent one".

Shared by the storage interop tests (``tests/interop``) and the product's Storage SCP tests
(``tests/apps/dicom_net``): :func:`data_set_dump` normalises DCMTK's dump of a file's data
set so that two encodings of the same data set compare equal, and
:func:`dcmtk_finds_the_sop_uids` says whether DCMTK tools can send a file at all.
"""

from __future__ import annotations

import subprocess
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from dicomkit.part10.reader import read_file
from tests.interop.peers import dcmtk_env

SOP_INSTANCE_UID = 0x00080018


def data_set_dump(path: Path) -> str:
    """``dcmdump`` of the data set: every element's tag, VR and value, File Meta left out.

    What a sender may re-encode without changing the data set is left out too: group
    lengths (gggg,0000), which DCMTK recomputes; Data Set Trailing Padding (FFFC,FFFC),
    which it drops; and how sequences and items are delimited (undefined or explicit
    lengths, the delimitation items, the length column).
    """
    result = subprocess.run(["dcmdump", "-q", str(path)], capture_output=True, check=True, env=dcmtk_env())
    text = result.stdout.decode("latin-1")  # values in any character set, compared as bytes
    lines = []
    for line in text[text.index("# Dicom-Data-Set") :].splitlines()[1:]:
        if line.startswith("# Used TransferSyntax") or not line.strip():
            continue
        element = line.strip()
        if element[5:10] == ",0000" or element.startswith(("(fffc,fffc)", "(fffe,e00d)", "(fffe,e0dd)")):
            continue
        value, _, comment = line.rpartition(" # ")
        vm_and_name = comment.split(",", 1)[-1]
        value = value.rstrip().replace("undefined length", "length").replace("explicit length", "length")
        lines.append(f"{value} #{vm_and_name}")
    return "\n".join(lines)


def dumps_by_uid(paths: Iterable[Path]) -> dict[str, Counter[str]]:
    """The normalised dumps of ``paths``, grouped by SOP Instance UID (as multisets)."""
    by_uid: dict[str, Counter[str]] = defaultdict(Counter)
    for path in paths:
        uid = read_file(path).dataset.get_str(SOP_INSTANCE_UID)
        assert uid is not None, path
        by_uid[uid][data_set_dump(path)] += 1
    return dict(by_uid)


def dcmtk_finds_the_sop_uids(path: Path) -> bool:
    """Whether storescu can send the file: it needs SOP Class/Instance UID as UI elements
    (a file written all in UN, such as ``rtdose_rle.dcm``, it refuses to send)."""
    result = subprocess.run(
        ["dcmdump", "-q", "-M", "+P", "0008,0016", "+P", "0008,0018", str(path)],
        capture_output=True,
        text=True,
        check=False,
        env=dcmtk_env(),
    )
    lines = result.stdout.splitlines()
    return any(line.startswith("(0008,0016) UI") for line in lines) and any(
        line.startswith("(0008,0018) UI") for line in lines
    )
