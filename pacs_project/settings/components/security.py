"""Debug mode, secret key, hosts, cookies and authentication backends.

Safe by default: ``DEBUG`` is off unless ``DJANGO_DEBUG`` turns it on. Outside debug the
secret key must be configured: ``DJANGO_SECRET_KEY`` (or ``SECRET_KEY``), or a file named by
``PACS_SECRET_KEY_FILE`` (e.g. a Docker secret), or ``var/secret_key`` (written once by
``scripts/quickstart.sh``). Without any, the development key below is used so that imports
still work, and the system check ``pacs_project.E001`` fails every ``manage.py`` command that
runs checks (``check``, ``migrate``, ``runserver``, ``createsuperuser``).
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from pacs_project.settings.components.paths import resolve_path
from pacs_project.settings.env import Env, env_bool, env_list, env_str

SECRET_KEY_FILENAME = "secret_key"

# Recognised by pacs_project.checks (E001) and, through its prefix, by Django's own
# deployment check security.W009.
INSECURE_SECRET_KEY = "django-insecure-pacs-development-key-never-use-in-production"

LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]"]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    # Per-object permissions (e.g. per study) from django-guardian.
    "guardian.backends.ObjectPermissionBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]


def debug(env: Env) -> bool:
    """``DJANGO_DEBUG`` (or ``DEBUG``), default off."""
    return env_bool(env, "DJANGO_DEBUG", "DEBUG", default=False)


def secret_key(env: Env, *, var_dir: Path) -> str:
    """The secret key from the environment, else from a key file, else the development key."""
    from_env = env_str(env, "DJANGO_SECRET_KEY", "SECRET_KEY")
    if from_env:
        return from_env
    named_file = env_str(env, "PACS_SECRET_KEY_FILE")
    path = resolve_path(named_file) if named_file else var_dir / SECRET_KEY_FILENAME
    try:
        from_file = path.read_text().strip()
    except FileNotFoundError:
        if named_file:
            raise ImproperlyConfigured(f"PACS_SECRET_KEY_FILE names a missing file: {path}") from None
        return INSECURE_SECRET_KEY
    if not from_file:
        raise ImproperlyConfigured(f"the secret key file is empty: {path}")
    return from_file


def allowed_hosts(env: Env) -> list[str]:
    """``DJANGO_ALLOWED_HOSTS`` (or ``ALLOWED_HOSTS``), comma-separated; default: loopback names."""
    return env_list(env, "DJANGO_ALLOWED_HOSTS", "ALLOWED_HOSTS", default=LOCAL_HOSTS)


def csrf_trusted_origins(env: Env) -> list[str]:
    """``DJANGO_CSRF_TRUSTED_ORIGINS``: origins (``https://pacs.example.org``) allowed to POST."""
    return env_list(env, "DJANGO_CSRF_TRUSTED_ORIGINS", default=[])


def secure_cookies(env: Env, *, debug: bool) -> bool:
    """Session and CSRF cookies only over HTTPS (``PACS_SECURE_COOKIES``); default: outside debug."""
    return env_bool(env, "PACS_SECURE_COOKIES", default=not debug)


def behind_tls_proxy(env: Env) -> bool:
    """``PACS_BEHIND_TLS_PROXY``: trust ``X-Forwarded-Proto`` from the reverse proxy in front."""
    return env_bool(env, "PACS_BEHIND_TLS_PROXY", default=False)
