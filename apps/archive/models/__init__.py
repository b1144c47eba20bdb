"""The archive index: Patient -> Study -> Series -> Instance -> StorageLocation."""

from apps.archive.models.instance import Instance
from apps.archive.models.location import StorageLocation
from apps.archive.models.patient import Patient, PatientConflict
from apps.archive.models.series import Series
from apps.archive.models.study import Study

__all__ = ["Instance", "Patient", "PatientConflict", "Series", "StorageLocation", "Study"]
