"""ASGI entry point (daphne, uvicorn): HTTP through Django; websockets join later via channels.

``ProtocolTypeRouter`` dispatches by connection type. Django's ASGI application is built
before anything else is imported, because that populates the app registry that routing and
consumers modules need.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacs_project.settings")

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402  (needs the app registry)

application = ProtocolTypeRouter({"http": django_asgi_app})
