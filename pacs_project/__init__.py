"""The Django project: settings, URL routing, ASGI/WSGI entry points and project-wide checks.

The Celery app is imported here so that it is the current app in every Django process:
``shared_task`` and ``.delay()`` then use our broker configuration, not Celery's defaults.
"""

from celery_app import app as celery_app

__all__ = ["celery_app"]
