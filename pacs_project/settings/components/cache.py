"""Cache: Redis from ``REDIS_URL`` (shared by all processes), else per-process memory."""

from __future__ import annotations

from typing import Any

from pacs_project.settings.env import Env, env_str

KEY_PREFIX = "pacs"


def caches(env: Env) -> dict[str, dict[str, Any]]:
    """The ``CACHES`` setting."""
    url = env_str(env, "REDIS_URL")
    if url:
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": KEY_PREFIX,
            }
        }
    return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pacs"}}
