"""Write services of the archive (one module per sub-domain).

- ``ingest``: :func:`instance_ingest`, :func:`ingest_session` / :class:`IngestSink`
- ``indexing``: the transaction behind ingest (duplicate policy, rows, derived attributes)
- ``patient``: the product's patient identity and the demographics conflict policy
- ``study``: deleting instances, series, studies, patients (rows and files)
- ``integrity``: stale staging cleanup and reconciliation, ``storage_verify``
- ``importing``: bulk import of files and folders
"""

from apps.archive.services.importing import FileOutcome, ImportSummary, files_import
from apps.archive.services.indexing import IngestOutcome, IngestResult
from apps.archive.services.ingest import IngestSink, ingest_session, instance_ingest
from apps.archive.services.integrity import (
    IntegrityReport,
    staging_cleanup,
    staging_reconcile,
    storage_verify,
)
from apps.archive.services.patient import patient_get_or_create
from apps.archive.services.study import (
    DeletionResult,
    instance_delete,
    patient_delete,
    series_delete,
    study_delete,
)

__all__ = [
    "DeletionResult",
    "FileOutcome",
    "ImportSummary",
    "IngestOutcome",
    "IngestResult",
    "IngestSink",
    "IntegrityReport",
    "files_import",
    "ingest_session",
    "instance_delete",
    "instance_ingest",
    "patient_delete",
    "patient_get_or_create",
    "series_delete",
    "staging_cleanup",
    "staging_reconcile",
    "storage_verify",
    "study_delete",
]
