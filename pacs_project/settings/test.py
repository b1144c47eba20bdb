"""Settings for the test suite: ``base`` plus what makes tests faster, nothing else.

Services come from the environment as everywhere (``scripts/test.sh`` or ``tests/conftest.py``
provide PostgreSQL and Redis).
"""

from __future__ import annotations

from pacs_project.settings.base import *  # noqa: F403

# Hashing with the default PBKDF2 settings costs ~0.3 s per password.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tasks run in the caller, so app tests see their effects without a worker; tests of the
# real worker send to it explicitly (see tests/conftest.py, live_celery_worker).
CELERY_TASK_ALWAYS_EAGER = True
