"""``find HOST PORT -k KEY=VALUE ...``: query a Query/Retrieve SCP with C-FIND (PS3.4 C.4.1).

::

    $ python -m dicomkit find pacs.example 104 --aec PACS -k QueryRetrieveLevel=STUDY \\
          -k PatientName=DOE* -k StudyDate=20240101- -k StudyInstanceUID
    PatientName  StudyDate  StudyInstanceUID
    DOE^JOHN     20240102   1.2.826.0.1.3680043.8.498.1
    1 match

Each ``-k`` adds a key (a PS3.6 keyword or ``gggg,eeee``), with a value to match or
without one to have it returned; the table has one column per key. When no ``-k`` asks
for a key to be returned (none at all, or only keys to match), the level's
:data:`DEFAULT_KEYS` are returned as well, so that ``find HOST PORT`` lists the studies
and ``find HOST PORT --level SERIES -k StudyInstanceUID=1.2.3`` the series of a study::

    $ python -m dicomkit find pacs.example 104 --aec PACS -k PatientName=DOE*
    PatientName  PatientID  StudyDate  StudyInstanceUID  AccessionNumber  ...

The Study Root
model is used unless ``--patient-root`` or the level is PATIENT; the level is STUDY unless a key or
``--level`` says otherwise. ``--limit N`` cancels the search after N matches. Exit
status 0 when the search completed, 1 on a failure status (its comment is shown).

The key and network options are shared with ``move`` and ``get``.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from dicomkit.cli.options import add_network_arguments, network, port_number, positive

if TYPE_CHECKING:
    from dicomkit.cli.main import Subparsers
    from dicomkit.data.dataset import Dataset
    from dicomkit.net.services.query_retrieve import InformationModel

__all__ = [
    "DEFAULT_KEYS",
    "DEFAULT_KEYS_HELP",
    "add_default_keys",
    "add_parser",
    "add_query_arguments",
    "identifier",
    "model",
    "run",
    "table_lines",
]

_HIDDEN = frozenset({0x00080052, 0x00080005})  # Query/Retrieve Level, Specific Character Set

#: The keys returned when the user names none, per level: the level's unique key and
#: the attributes people tell matches apart by (PS3.4 C.6.1.1, C.6.2.1). The unique keys of
#: the levels above are left out: a hierarchical search takes them only with a single value
#: (PS3.4 C.4.1.3.1.1), which the user gives with ``-k``. For the same reason the patient's
#: keys are left out of a STUDY query in the Patient Root model (see add_default_keys).
DEFAULT_KEYS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "PATIENT": ("PatientName", "PatientID", "PatientBirthDate", "PatientSex"),
        "STUDY": (
            "PatientName",
            "PatientID",
            "StudyDate",
            "StudyInstanceUID",
            "AccessionNumber",
            "ModalitiesInStudy",
            "StudyDescription",
        ),
        "SERIES": (
            "SeriesNumber",
            "Modality",
            "SeriesInstanceUID",
            "NumberOfSeriesRelatedInstances",
            "SeriesDescription",
        ),
        "IMAGE": ("InstanceNumber", "SOPInstanceUID", "SOPClassUID"),
    }
)

#: ``--help`` text of DEFAULT_KEYS (for RawDescriptionHelpFormatter), shared with
#: ``manage.py dicom_find``.
DEFAULT_KEYS_HELP = "\n".join(
    [
        "When no -k asks for a key to be returned (none at all, or only KEY=VALUE to match),",
        "these keys of the level are returned too, as the first columns:",
        *(
            textwrap.fill(
                ", ".join(keys), width=80, initial_indent=f"  {level:<9}", subsequent_indent=" " * 11
            )
            for level, keys in DEFAULT_KEYS.items()
        ),
        "At STUDY level in the Patient Root model, the patient's keys are left out.",
    ]
)


def add_query_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-k",
        "--key",
        dest="keys",
        action="append",
        default=[],
        metavar="KEY[=VALUE]",
        help="a key to match (with a value) or to return (without); repeatable",
    )
    parser.add_argument(
        "--level",
        choices=("PATIENT", "STUDY", "SERIES", "IMAGE"),
        help="Query/Retrieve Level (default STUDY)",
    )
    parser.add_argument(
        "--patient-root",
        action="store_true",
        help="the Patient Root model (default: Study Root, or Patient Root at PATIENT level)",
    )


def add_parser(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "find",
        help="query a Query/Retrieve SCP (C-FIND) and print a table",
        description="Send a C-FIND request and print the matches as a table.",
        epilog=DEFAULT_KEYS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("host", metavar="HOST")
    parser.add_argument("port", metavar="PORT", type=port_number)
    add_query_arguments(parser)
    parser.add_argument("--limit", type=positive(int), help="cancel the search after this many matches")
    add_network_arguments(parser)


def model(args: argparse.Namespace, query: Dataset) -> InformationModel:
    """Patient Root with ``--patient-root`` or at PATIENT level (Study Root has no such
    level, PS3.4 C.6.2), else Study Root."""
    from dicomkit.data import tags
    from dicomkit.net.services.query_retrieve import InformationModel

    level = query.get_str(tags.QueryRetrieveLevel, "").strip().upper()
    if args.patient_root or level == "PATIENT":
        return InformationModel.PATIENT_ROOT
    return InformationModel.STUDY_ROOT


def identifier(args: argparse.Namespace) -> tuple[Dataset, list[int]]:
    """The query identifier from ``-k`` and ``--level``; and the keys in the order given.

    Raises:
        DictionaryError: an unknown keyword (reported by ``main``).
        EncodeError: a value its VR cannot hold.
    """
    from dicomkit.data import tags
    from dicomkit.data.dataset import Dataset, resolve_key
    from dicomkit.data.dictionary import vr_for_tag

    dataset = Dataset()
    order: list[int] = []
    for item in args.keys:
        key, _, value = str(item).partition("=")
        key = key.strip()
        tag = resolve_key(f"({key})" if "," in key and not key.startswith("(") else key)
        vr = vr_for_tag(tag)
        if vr == "SQ":
            dataset.set(tag, [], "SQ")
        else:
            dataset.set(tag, value if value else None, vr)
        if tag not in order:
            order.append(tag)
    if args.level:
        dataset.set(tags.QueryRetrieveLevel, args.level, "CS")
    elif tags.QueryRetrieveLevel not in dataset:
        dataset.set(tags.QueryRetrieveLevel, "STUDY", "CS")
    return dataset, order


def add_default_keys(query: Dataset, order: list[int], model: InformationModel) -> list[int]:
    """The table's columns; ``query`` completed with the level's :data:`DEFAULT_KEYS`.

    When no key of ``order`` asks for a value to be returned (each matches a value, or
    there is none), the default keys are added to ``query`` as return keys and head the
    columns; the keys given follow. Query/Retrieve Level and Specific Character Set are
    never columns. A key given to match (``-k PatientName=DOE*``) does not choose the
    columns: alone, it would show only values the user already knows.
    """
    from dicomkit.data import tags
    from dicomkit.data.dataset import resolve_key
    from dicomkit.data.dictionary import vr_for_tag
    from dicomkit.net.services.query_retrieve import InformationModel

    given = [tag for tag in order if tag not in _HIDDEN]
    if any(_is_return_key(query, tag) for tag in given):
        return given
    level = query.get_str(tags.QueryRetrieveLevel, "").strip().upper()
    keys = [resolve_key(keyword) for keyword in DEFAULT_KEYS.get(level, ())]
    if level == "STUDY" and model is InformationModel.PATIENT_ROOT:
        patient = {resolve_key(keyword) for keyword in DEFAULT_KEYS["PATIENT"]}
        keys = [tag for tag in keys if tag not in patient]
    for tag in keys:
        if tag not in query:
            query.set(tag, None, vr_for_tag(tag))
    return [*keys, *(tag for tag in given if tag not in keys)]


def _is_return_key(query: Dataset, tag: int) -> bool:
    element = query.get_element(tag)
    return element is not None and element.vm == 0


def run(args: argparse.Namespace) -> int:
    from dicomkit.net.scu.find import find_sync

    query, order = identifier(args)
    information_model = model(args, query)
    columns = add_default_keys(query, order, information_model)
    ae, timeouts, ssl_context = network(args)
    matches = find_sync(
        args.host,
        args.port,
        ae,
        args.aec,
        query,
        model=information_model,
        limit=args.limit,
        ssl_context=ssl_context,
        timeouts=timeouts,
    )
    for line in table_lines(columns, matches):
        print(line)
    print(f"{len(matches)} match{'' if len(matches) == 1 else 'es'}")
    return 0


def table_lines(columns: list[int], matches: list[Dataset]) -> list[str]:
    """One row per match, one column per key, headed by keywords; no lines without columns.

    Lines, not printing, so that each caller writes them to its own stream (``print()``
    here, the command's ``stdout`` in ``manage.py dicom_find``).
    """
    from dicomkit.data.dictionary import keyword_for_tag
    from dicomkit.errors import DicomError

    if not columns:
        return []
    headers = [keyword_for_tag(tag) or f"{tag >> 16:04X},{tag & 0xFFFF:04X}" for tag in columns]
    rows = []
    for match in matches:
        row = []
        for tag in columns:
            try:
                text = "\\".join(match.get_strs(tag)) if tag in match else ""
            except DicomError:
                text = "?"
            row.append(text.replace("\n", " "))
        rows.append(row)
    widths = [max([_columns(h), *(_columns(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = []
    for line in (headers, *rows):
        cells = (cell + " " * (width - _columns(cell)) for cell, width in zip(line, widths, strict=True))
        lines.append("  ".join(cells).rstrip())
    return lines


def _columns(text: str) -> int:
    """Terminal columns ``text`` takes: CJK ideographs and kana (East Asian Wide and
    Fullwidth) take two, combining marks none, so names in any character set line up."""
    import unicodedata

    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )
