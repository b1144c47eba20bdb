"""Typed readers for configuration taken from environment variables.

Every setting the project reads from the environment goes through these functions, so that
parsing (booleans, lists, integers) and the precedence of aliases are the same everywhere:
when several names are given, the first one that is set and non-empty wins, which is how
``DJANGO_SECRET_KEY`` takes precedence over ``SECRET_KEY``.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

Env = Mapping[str, str]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def env_str(env: Env, *names: str, default: str = "") -> str:
    """The value of the first of ``names`` that is set and non-empty, else ``default``."""
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return default


def env_bool(env: Env, *names: str, default: bool) -> bool:
    """A boolean spelled 1/0, true/false, yes/no or on/off (any case)."""
    raw = env_str(env, *names)
    if not raw:
        return default
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{names[0]} must be a boolean (1/0, true/false, yes/no, on/off), got {raw!r}")


def env_int(env: Env, *names: str, default: int) -> int:
    """An integer; a malformed value is a configuration error, not a silent default."""
    raw = env_str(env, *names)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{names[0]} must be an integer, got {raw!r}") from None


def env_list(env: Env, *names: str, default: list[str]) -> list[str]:
    """A comma-separated list; blanks around items and empty items are dropped."""
    raw = env_str(env, *names)
    if not raw:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]
