"""The project's URLs plus views that fail on purpose, for the error-handling tests."""

from django.db import OperationalError
from django.urls import path

from forum_portal.urls import handler500  # noqa: F401
from forum_portal.urls import urlpatterns as project_urlpatterns


def boom(request):
    raise RuntimeError("secret detail that must not reach the visitor")


def database_gone(request):
    raise OperationalError("connection to server at 127.0.0.1, port 1 failed: Connection refused")


urlpatterns = [
    path("test/boom/", boom),
    path("test/database-gone/", database_gone),
    *project_urlpatterns,
]
