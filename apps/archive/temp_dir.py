"""The product's temporary directory: ``PACS_TMP_DIR`` applied to Python's ``tempfile``.

Instances converted while they are sent spool their encoded frames, or a deflated data
set, to anonymous temporary files (``dicomkit.net.scu.conversion``); large uploads go to
temporary files too. Such a file can be as large as the instance. Where ``/tmp`` is a
tmpfs, held in memory, that memory is what streaming the conversion set out to save, so
an operator points ``PACS_TMP_DIR`` at a disk volume. Every process that loads the
archive app (the DIMSE server and its workers, web, Celery, the management commands)
then creates its temporary files there.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from apps.archive.conf import temp_dir

__all__ = ["prepare_temp_dir", "use_configured_temp_dir"]

logger = logging.getLogger(__name__)


def prepare_temp_dir(path: Path) -> None:
    """Create ``path`` (mode 0700: temporary files hold patient data) and prove it writable.

    Raises:
        OSError: it cannot be created or written to.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=path):
        pass


def use_configured_temp_dir() -> Path | None:
    """Point ``tempfile`` at ``PACS_TMP_DIR`` when it is set; return it (None: unset).

    A directory that cannot be used leaves the system's in place, with a warning here
    and the system check ``archive.E003`` saying why.
    """
    path = temp_dir()
    if path is None:
        return None
    try:
        prepare_temp_dir(path)
    except OSError as exc:
        logger.warning(
            "PACS_TMP_DIR cannot be used; temporary files go to the system's directory",
            extra={"path": os.fspath(path), "error": exc.strerror or str(exc)},
        )
        return None
    tempfile.tempdir = os.fspath(path)
    return path
