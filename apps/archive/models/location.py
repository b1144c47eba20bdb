"""StorageLocation: where the bytes of one instance are, and what they were when stored.

``backend`` names the storage tier (``local`` today), ``key`` the object inside it
(``storage/keys.py``). ``checksum`` and ``size_bytes`` are of the stored file as a
whole; ``verify_storage`` compares them with the file. The checksum names its algorithm
(``xxh3-128:<hex>`` or ``sha256:<hex>``, see ``storage/checksums.py``).
"""

from __future__ import annotations

from django.db import models

from apps.archive.models.instance import Instance


class StorageLocation(models.Model):
    instance = models.OneToOneField(Instance, on_delete=models.CASCADE, related_name="location")
    backend = models.CharField(max_length=32)
    key = models.CharField(max_length=1024)
    size_bytes = models.PositiveBigIntegerField()
    checksum = models.CharField(max_length=80, help_text="<algorithm>:<hex digest> of the stored file")
    transfer_syntax_uid = models.CharField("Transfer Syntax UID", max_length=64)
    received_at = models.DateTimeField()
    source_ae = models.CharField("Source AE Title", max_length=16, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["backend", "key"], name="archive_location_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.backend}:{self.key}"
