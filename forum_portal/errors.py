"""
Error pages that need no database: 503 while the database is unreachable, 500 otherwise.

The API (``/api/``) gets the same 503 as JSON, in the shape of its other errors.
``DatabaseUnavailableMiddleware`` answers 503 for database failures raised by a view;
``server_error`` (the project's ``handler500``) catches the same failures raised anywhere else
in the request (a middleware, a template rendered after the view returned), where Django turns
them into a 500 before any middleware can see them.
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults

# Exceptions that mean "the database cannot be reached or dropped the connection", as opposed
# to a bug in a query. OperationalError also covers a few transient server-side conditions
# (a deadlock, SQLite's "database is locked"); retrying those later is the right advice too.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)

# Seconds a client (or a crawler) is asked to wait before trying again.
RETRY_AFTER_SECONDS = 30


def is_api_request(request):
    """Return whether ``request`` is for the API, whose errors are JSON (``{"detail": …}``)."""
    return request is not None and request.path_info.startswith("/api/")


def service_unavailable(request=None):
    """Return the 503 page (JSON for the API): rendered without a request or context, so it
    never queries."""
    if is_api_request(request):
        detail = f"The database is unavailable. Try again in {RETRY_AFTER_SECONDS} seconds."
        response = JsonResponse({"detail": detail}, status=503)
    else:
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # Never cached by a proxy or by the page cache, or the outage would outlive the database's.
    response["Cache-Control"] = "no-store"
    return response


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    """Answer 503 when the failure was the database going away, else Django's 500 page."""
    exception = sys.exc_info()[1]
    if isinstance(exception, DATABASE_UNAVAILABLE):
        return service_unavailable(request)
    return defaults.server_error(request, template_name)
