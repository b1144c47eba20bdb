"""The query engine of the archive, shared by the C-FIND SCP and QIDO-RS (PS3.4 C.2.2.2, C.6).

::

    identifier (dicomkit Dataset, decoded)                       apps.dicom_net / apps.dicomweb
        -> query_from_identifier(...)   -> Query   (identifier.py; QueryError when refused)
        -> query_execute(query=...)     -> Iterator[Dataset]     (execute.py, one SQL per page)
        -> query_execute_encoded(...)   -> Iterator[bytes]       (the same, encoded for C-FIND:
                                                                  response_encoder.py)
               WHERE clause: matching.py   columns: attributes.py

See docs/query.md.
"""

from apps.archive.query.attributes import InformationModel, Level
from apps.archive.query.execute import (
    DEFAULT_PAGE_SIZE,
    query_execute,
    query_execute_encoded,
    query_queryset,
)
from apps.archive.query.identifier import KeyMatch, MatchKind, Query, query_from_identifier

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "InformationModel",
    "KeyMatch",
    "Level",
    "MatchKind",
    "Query",
    "query_execute",
    "query_execute_encoded",
    "query_from_identifier",
    "query_queryset",
]
