"""
Structured logs: every record as one JSON line, carrying the id of the request it belongs to.

``RequestLogMiddleware`` (``forum_portal.middleware``) sets the request id in ``request_id_var``
for the duration of a request; ``RequestIdFilter`` copies it onto every log record made meanwhile
(so an error logged by ``django.request`` names the request it broke), and ``JsonFormatter``
writes the record, its extra fields and any traceback as one line a log shipper can parse.
"""

import datetime
import json
import logging
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is written out.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


class RequestIdFilter(logging.Filter):
    """Add ``record.request_id``: the current request's id, or "-" outside a request."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            # django.request logs 4xx/5xx responses after the middleware has returned (and reset
            # the context), but passes the request along: its id is on it.
            request = getattr(record, "request", None)
            record.request_id = getattr(request, "id", None) or request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, logger, message, request id, extras."""

    def format(self, record):
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id_var.get()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # default=str: extras such as the request object ``django.request`` attaches.
        return json.dumps(entry, ensure_ascii=False, default=str)
