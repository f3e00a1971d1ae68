"""WSGI entry point, e.g. for gunicorn: ``gunicorn forum_portal.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "forum_portal.settings")

application = get_wsgi_application()
