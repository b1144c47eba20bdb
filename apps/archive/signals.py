"""Domain signals of the archive (declarations only; sent after the transaction commits).

Receivers get primary keys and UIDs, never model instances, so they can hand them to a
Celery task as they are.

- ``instance_stored``: ``instance_id``, ``sop_instance_uid``, ``sop_class_uid``,
  ``series_instance_uid``, ``study_instance_uid``, ``patient_pk``, ``source_ae``,
  ``replaced`` (True when it replaced a stored copy), ``actor``.
- ``instance_deleted``: ``sop_instance_uid``, ``series_instance_uid``, ``study_instance_uid``, ``actor``.
- ``study_deleted``: ``study_instance_uid``, ``patient_pk``, ``instance_count``, ``actor``.
- ``patient_conflict_flagged``: ``patient_pk``, ``attribute``, ``conflict_id``.
"""

from __future__ import annotations

from django.dispatch import Signal

instance_stored = Signal()
instance_deleted = Signal()
study_deleted = Signal()
patient_conflict_flagged = Signal()
