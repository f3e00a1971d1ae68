"""
Request-level middleware for running in production: access logs with request ids, and a 503
page instead of a 500 when the database is unreachable.
"""

import logging
import re
import time
import uuid

from django.core.exceptions import BadRequest
from django.http import QueryDict

from .errors import DATABASE_UNAVAILABLE, service_unavailable
from .logs import request_id_var

access_log = logging.getLogger("forum_portal.request")
logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's id is kept when it looks like one (uuid, hex, ULID…); anything else is replaced, so
# a client cannot write arbitrary text into the logs or the response headers.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_from(request):
    """Return the request id a proxy sent in ``X-Request-ID``, or a new random one."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _VALID_REQUEST_ID.match(given) else uuid.uuid4().hex


class RequestLogMiddleware:
    """Give each request an id and log one line when it is answered.

    First in ``MIDDLEWARE``, so the line covers everything: static files, redirects to HTTPS,
    cached pages and errors. The id comes from ``X-Request-ID`` when a proxy set one (nginx:
    ``proxy_set_header X-Request-ID $request_id;``), is echoed in the response header, and is
    attached to every log record made while the request is handled (``logs.RequestIdFilter``).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.id = request_id_from(request)
        token = request_id_var.set(request.id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request.id
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            level = logging.ERROR if response.status_code >= 500 else logging.INFO
            access_log.log(
                level,
                "%s %s %s %.1fms",
                request.method,
                request.path,
                response.status_code,
                duration_ms,
                extra={
                    "request_id": request.id,
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                },
            )
            return response
        finally:
            request_id_var.reset(token)


class DatabaseUnavailableMiddleware:
    """Answer a friendly 503 (with ``Retry-After``) when a view fails to reach the database.

    Nothing to do for recovery: the failed connection is closed at the end of the request, and
    the next request opens a new one (``CONN_HEALTH_CHECKS`` also tests reused connections), so
    the site comes back by itself as soon as the database does.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DATABASE_UNAVAILABLE):
            return None
        logger.error(
            "Database unavailable: %s %s: %s",
            request.method,
            request.path,
            exception,
            exc_info=exception,
        )
        return service_unavailable(request)


class AdminContentSecurityPolicyMiddleware:
    """Give the admin's responses ``SECURE_CSP_ADMIN`` instead of ``SECURE_CSP``.

    Placed right after Django's ``ContentSecurityPolicyMiddleware``, whose response step runs
    after this one and honours ``response._csp_config`` (as the ``csp_override`` decorator
    sets it); a view's own override wins.
    """

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.prefix = "/" + settings.ADMIN_URL
        self.policy = settings.SECURE_CSP_ADMIN

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(self.prefix) and not hasattr(response, "_csp_config"):
            response._csp_config = self.policy
        return response


class RejectNullCharactersMiddleware:
    """Answer 400 to a path containing a NUL character (``%00``); drop NULs from the query.

    No page has a use for one, and PostgreSQL refuses NUL in text: a slug or a filter value
    carrying one would otherwise reach a query and fail with a 500 (found by bench/fuzz.py on
    ``/tags/%00/``). In the query string (a search box, a filter) the character is removed
    instead, so a reader who pasted one still gets the normal page. Forms already refuse it
    (Django's ``ProhibitNullCharactersValidator``).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path:
            raise BadRequest("Null characters are not allowed in the URL.")
        if any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            cleaned = QueryDict(mutable=True)
            for key, values in request.GET.lists():
                cleaned.setlist(key.replace("\x00", ""), [v.replace("\x00", "") for v in values])
            cleaned._mutable = False
            request.GET = cleaned
        return self.get_response(request)
