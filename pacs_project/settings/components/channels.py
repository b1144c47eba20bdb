"""Channel layer (websocket fan-out): Redis from ``REDIS_URL``, else in-process memory."""

from __future__ import annotations

from typing import Any

from pacs_project.settings.env import Env, env_str

CHANNEL_PREFIX = "pacs-asgi"


def channel_layers(env: Env) -> dict[str, dict[str, Any]]:
    """The ``CHANNEL_LAYERS`` setting."""
    url = env_str(env, "REDIS_URL")
    if url:
        return {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [url], "prefix": CHANNEL_PREFIX},
            }
        }
    return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
