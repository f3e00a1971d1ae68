"""
gunicorn settings for Forum Portal: ``gunicorn -c forum_portal/gunicorn.conf.py``
(``scripts/serve`` runs it after collectstatic and migrate).

Every value can be changed with an environment variable, so one file serves every machine.
Sized with the load test in bench/README.md: on 2 cores, 2 × cores + 1 sync workers.
"""

import multiprocessing
import os

wsgi_app = "forum_portal.wsgi:application"

# Behind the reverse proxy on the same machine; GUNICORN_BIND=0.0.0.0:8000 behind a load
# balancer on another machine.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Sync workers: each page is CPU work in Python plus a few fast queries, so processes, not
# threads, use the cores. GUNICORN_THREADS > 1 switches to gthread workers (slow clients are
# the proxy's job: nginx buffers requests and responses).
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"

# A request taking longer than this is killed (its worker restarted): no page should come
# near it, and a hung database connection times out well before (DATABASE_CONNECT_TIMEOUT).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5

# Recycle workers now and then, so a slow leak never grows unbounded; jitter keeps them from
# restarting together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10

# The heartbeat files in memory, not on a disk that may stall.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# Django's middleware writes one JSON line per request with its id (forum_portal/logs.py), so
# gunicorn's own access log would only repeat it. Errors and worker events go to stderr.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# Trust X-Forwarded-* only from the proxy on this machine (or the load balancer's addresses).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

proc_name = "forum-portal"

# gunicorn's control socket (one fixed path in $HOME) is not used, and would be shared by every
# gunicorn of the same user on the machine: process managers send signals instead.
control_socket_disable = True
