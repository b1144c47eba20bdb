"""Django settings: every value here is either a constant or computed from the environment.

With no environment at all the project runs embedded: SQLite under ``var/``, Celery tasks run
eagerly in-process, in-memory cache and channel layer, files under ``var/storage``.
``DATABASE_URL`` switches to PostgreSQL, ``REDIS_URL`` to Redis for the Celery broker and
results, the cache and the channel layer. docs/configuration.md lists every variable.
Nothing here exists only in production: the same settings serve every deployment.
"""

from __future__ import annotations

import os

from pacs_project.settings.components import (
    apps,
    cache,
    celery,
    channels,
    db,
    dicom,
    paths,
    security,
    storage,
)
from pacs_project.settings.components.logging import logging_config

ENV = os.environ

BASE_DIR = paths.BASE_DIR
VAR_DIR = paths.var_dir(ENV)

# --- security -------------------------------------------------------------------------------
DEBUG = security.debug(ENV)
SECRET_KEY = security.secret_key(ENV, var_dir=VAR_DIR)
ALLOWED_HOSTS = security.allowed_hosts(ENV)
CSRF_TRUSTED_ORIGINS = security.csrf_trusted_origins(ENV)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = security.secure_cookies(ENV, debug=DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if security.behind_tls_proxy(ENV) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
AUTHENTICATION_BACKENDS = security.AUTHENTICATION_BACKENDS
AUTH_PASSWORD_VALIDATORS = security.AUTH_PASSWORD_VALIDATORS

# --- applications and request handling -------------------------------------------------------
INSTALLED_APPS = apps.INSTALLED_APPS
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "pacs_project.urls"
WSGI_APPLICATION = "pacs_project.wsgi.application"
ASGI_APPLICATION = "pacs_project.asgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}

# --- services: database, cache, channel layer, task queue ----------------------------------
DATABASES = db.databases(ENV, var_dir=VAR_DIR)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
CACHES = cache.caches(ENV)
CHANNEL_LAYERS = channels.channel_layers(ENV)

_celery = celery.celery_service_settings(ENV)
CELERY_BROKER_URL = _celery.broker_url
CELERY_RESULT_BACKEND = _celery.result_backend
CELERY_TASK_ALWAYS_EAGER = _celery.task_always_eager
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = celery.DEFAULT_QUEUE
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A task is acknowledged when done, so a worker lost mid-task leaves it queued for another.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Workers log through LOGGING below, like every other process.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"

# --- files -----------------------------------------------------------------------------------
PACS_STORAGE_ROOT = storage.storage_root(ENV, var_dir=VAR_DIR)
PACS_STORAGE_DIRECT_IO = storage.storage_direct_io(ENV)
PACS_INDEX_ASYNC_COMMIT = storage.index_async_commit(ENV)
PACS_TMP_DIR = storage.tmp_dir(ENV)  # applied to tempfile by apps.archive (ready)
FILE_UPLOAD_TEMP_DIR = str(PACS_TMP_DIR) if PACS_TMP_DIR else None
PACS_ARCHIVE = storage.archive_settings(ENV)
PACS_QUERY_PN_CASE_INSENSITIVE = storage.query_pn_case_insensitive(ENV)
STATIC_URL = "static/"
STATIC_ROOT = storage.static_root(ENV, var_dir=VAR_DIR)

# --- DICOM network -----------------------------------------------------------------------------
PACS_DICOM = dicom.dicom_network(ENV)
PACS_DICOM_REQUIRE_KNOWN_PEERS = dicom.require_known_peers(ENV)

# --- i18n, time, logging ---------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
LOGGING = logging_config(ENV)
