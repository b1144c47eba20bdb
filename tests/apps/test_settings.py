"""Settings come from the environment, with embedded defaults and loud failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from pacs_project.settings.components import cache, celery, channels, db, security, storage
from pacs_project.settings.env import env_bool, env_list

REPO_ROOT = Path(__file__).resolve().parents[2]

# Prints what the settings resolved to, from a process that has only PATH in its environment.
PROBE = """
import json
import celery_app
from django.conf import settings
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "name": settings.DATABASES["default"]["NAME"],
    "eager": celery_app.app.conf.task_always_eager,
    "broker": celery_app.app.conf.broker_url,
    "cache": settings.CACHES["default"]["BACKEND"],
    "channels": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "storage": str(settings.PACS_STORAGE_ROOT),
    "debug": settings.DEBUG,
}))
"""


def _clean_env(**extra: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], **extra}


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_no_environment_gives_the_embedded_defaults() -> None:
    result = _run([sys.executable, "-c", PROBE], _clean_env())
    assert result.returncode == 0, result.stderr
    resolved = json.loads(result.stdout)
    var = REPO_ROOT / "var"
    assert resolved == {
        "engine": "django.db.backends.sqlite3",
        "name": str(var / "db.sqlite3"),
        "eager": True,
        "broker": "memory://",
        "cache": "django.core.cache.backends.locmem.LocMemCache",
        "channels": "channels.layers.InMemoryChannelLayer",
        "storage": str(var / "storage"),
        "debug": False,
    }


def test_service_urls_switch_every_service_to_the_real_one(tmp_path: Path) -> None:
    env = _clean_env(
        DATABASE_URL="postgres://u:p@db.example:5433/pacs",
        REDIS_URL="redis://cache.example:6380/2",
        PACS_STORAGE_ROOT=str(tmp_path / "archive"),
    )
    result = _run([sys.executable, "-c", PROBE], env)
    assert result.returncode == 0, result.stderr
    resolved = json.loads(result.stdout)
    assert resolved["engine"] == "django.db.backends.postgresql"
    assert resolved["name"] == "pacs"
    assert resolved["eager"] is False
    assert resolved["broker"] == "redis://cache.example:6380/2"
    assert resolved["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert resolved["channels"] == "channels_redis.core.RedisChannelLayer"
    assert resolved["storage"] == str(tmp_path / "archive")


def test_missing_secret_key_outside_debug_fails_system_check_e001(tmp_path: Path) -> None:
    result = _run([sys.executable, "manage.py", "check"], _clean_env(PACS_VAR_DIR=str(tmp_path)))
    assert result.returncode != 0
    assert "pacs_project.E001" in result.stderr


@pytest.mark.parametrize(
    "extra",
    [{"DJANGO_SECRET_KEY": "s" * 50}, {"SECRET_KEY": "s" * 50}, {"DJANGO_DEBUG": "1"}],
    ids=["DJANGO_SECRET_KEY", "SECRET_KEY", "DJANGO_DEBUG"],
)
def test_secret_key_or_debug_passes_the_system_check(tmp_path: Path, extra: dict[str, str]) -> None:
    result = _run([sys.executable, "manage.py", "check"], _clean_env(PACS_VAR_DIR=str(tmp_path), **extra))
    assert result.returncode == 0, result.stderr
    assert "pacs_project.E001" not in result.stderr


def test_secret_key_file_in_var_passes_the_system_check(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("k" * 50 + "\n")
    result = _run([sys.executable, "manage.py", "check"], _clean_env(PACS_VAR_DIR=str(tmp_path)))
    assert result.returncode == 0, result.stderr


def test_secret_key_sources_in_order_of_precedence(tmp_path: Path) -> None:
    named = tmp_path / "docker-secret"
    named.write_text("from-named-file\n")
    (tmp_path / "secret_key").write_text("from-var")
    env = {"PACS_SECRET_KEY_FILE": str(named)}
    assert security.secret_key({**env, "SECRET_KEY": "from-env"}, var_dir=tmp_path) == "from-env"
    assert security.secret_key(env, var_dir=tmp_path) == "from-named-file"
    assert security.secret_key({}, var_dir=tmp_path) == "from-var"
    assert security.secret_key({}, var_dir=tmp_path / "empty") == security.INSECURE_SECRET_KEY


def test_named_secret_key_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="PACS_SECRET_KEY_FILE"):
        security.secret_key({"PACS_SECRET_KEY_FILE": str(tmp_path / "missing")}, var_dir=tmp_path)


def test_django_prefixed_variables_win_over_plain_ones(tmp_path: Path) -> None:
    env = {
        "DJANGO_SECRET_KEY": "from-django",
        "SECRET_KEY": "plain",
        "DJANGO_ALLOWED_HOSTS": "a.example, b.example",
    }
    assert security.secret_key(env, var_dir=tmp_path) == "from-django"
    assert security.allowed_hosts(env) == ["a.example", "b.example"]
    assert security.allowed_hosts({"ALLOWED_HOSTS": "c.example"}) == ["c.example"]
    assert security.debug({"DEBUG": "true"}) is True
    assert security.debug({"DJANGO_DEBUG": "off", "DEBUG": "on"}) is False


def test_malformed_boolean_is_a_configuration_error() -> None:
    with pytest.raises(ImproperlyConfigured, match="DJANGO_DEBUG"):
        security.debug({"DJANGO_DEBUG": "maybe"})
    assert env_bool({}, "X", default=True) is True
    assert env_list({"X": " , a ,,b "}, "X", default=[]) == ["a", "b"]


def test_database_url_is_parsed_for_psycopg(tmp_path: Path) -> None:
    config = db.databases({"DATABASE_URL": "postgres://user:secret@10.0.0.5:5432/archive"}, var_dir=tmp_path)
    default = config["default"]
    assert default["ENGINE"] == "django.db.backends.postgresql"
    assert (default["HOST"], default["PORT"], default["NAME"]) == ("10.0.0.5", 5432, "archive")
    assert (default["USER"], default["PASSWORD"]) == ("user", "secret")
    assert default["CONN_HEALTH_CHECKS"] is True
    assert not (tmp_path / db.SQLITE_FILENAME).exists()


def test_database_url_with_a_socket_folder_as_host(tmp_path: Path) -> None:
    url = "postgres://pacs@%2Fvar%2Frun%2Fpostgresql:5433/archive"
    default = db.databases({"DATABASE_URL": url}, var_dir=tmp_path)["default"]
    assert (default["HOST"], default["PORT"], default["NAME"]) == ("/var/run/postgresql", 5433, "archive")
    assert default["USER"] == "pacs"


def test_socket_database_url_keeps_credentials_port_and_database(tmp_path: Path) -> None:
    url = db.socket_database_url("postgres://pacs:s%40cret@127.0.0.1:5433/archive", "/run/pg sockets")
    assert url == "postgres://pacs:s%40cret@%2Frun%2Fpg%20sockets:5433/archive"
    default = db.databases({"DATABASE_URL": url}, var_dir=tmp_path)["default"]
    assert (default["HOST"], default["PORT"], default["NAME"]) == ("/run/pg sockets", 5433, "archive")
    assert (default["USER"], default["PASSWORD"]) == ("pacs", "s@cret")
    assert db.socket_database_url("postgres://db/archive", "/tmp") == "postgres://%2Ftmp/archive"


def test_prepared_statements_are_on_unless_turned_off_for_a_pooler(tmp_path: Path) -> None:
    url = "postgres://user:secret@10.0.0.5:5432/archive"
    default = db.databases({"DATABASE_URL": url}, var_dir=tmp_path)["default"]
    # Named explicitly: Django's backend turns psycopg's preparing off when OPTIONS does not.
    assert default["OPTIONS"]["prepare_threshold"] == db.PREPARE_THRESHOLD > 0
    config = db.databases({"DATABASE_URL": url, "PACS_DB_PREPARED_STATEMENTS": "0"}, var_dir=tmp_path)
    assert config["default"]["OPTIONS"]["prepare_threshold"] is None


def test_embedded_database_directory_is_created(tmp_path: Path) -> None:
    var = tmp_path / "nested" / "var"
    config = db.databases({}, var_dir=var)
    assert config["default"]["NAME"] == str(var / db.SQLITE_FILENAME)
    assert var.is_dir()


def test_eagerness_can_be_forced_either_way() -> None:
    assert celery.celery_service_settings(
        {"REDIS_URL": "redis://r:6379/0", "PACS_CELERY_EAGER": "1"}
    ).task_always_eager
    assert not celery.celery_service_settings({"PACS_CELERY_EAGER": "0"}).task_always_eager


def test_redis_url_feeds_cache_and_channel_layer() -> None:
    url = "redis://r.example:6379/1"
    assert cache.caches({"REDIS_URL": url})["default"]["LOCATION"] == url
    assert channels.channel_layers({"REDIS_URL": url})["default"]["CONFIG"]["hosts"] == [url]


def test_relative_storage_root_is_taken_from_the_repository_root(tmp_path: Path) -> None:
    assert (
        storage.storage_root({"PACS_STORAGE_ROOT": "data/archive"}, var_dir=tmp_path)
        == REPO_ROOT / "data/archive"
    )
    assert storage.storage_root({}, var_dir=tmp_path) == tmp_path / "storage"
