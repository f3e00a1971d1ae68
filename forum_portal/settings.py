"""
Settings for Forum Portal.

One settings module; every difference between environments comes from environment variables
with development-safe defaults (see README "Configuration").
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
import django
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    return os.environ.get(name, "1" if default else "0").strip().lower() in {
        "1",
        "true",
        "yes",
        "on",
    }


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name, default):
    return int(os.environ.get(name, "").strip() or default)


# ---------------------------------------------------------------------------------------------
# Core
# ---------------------------------------------------------------------------------------------

# Debug only when asked for; production is the default so a forgotten variable fails safe.
DEBUG = env_bool("DJANGO_DEBUG")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=1 for development).")
    SECRET_KEY = "django-insecure-development-only-key"  # noqa: S105 - only ever used with DEBUG

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
if not ALLOWED_HOSTS and not DEBUG:
    raise ImproperlyConfigured("Set DJANGO_ALLOWED_HOSTS (comma-separated) when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sites",
    # Its sitemap.xml template (proceedings/sitemaps.py).
    "django.contrib.sitemaps",
    # Old URLs of renamed slugs answer with a permanent redirect (proceedings/redirects.py).
    "django.contrib.redirects",
    "taggit",
    "simple_history",
    # Failed admin logins per username + address, and lockout (forum_portal/security.py).
    "axes",
    # Country names in the reader's language (voice balance by country; its catalogues).
    "django_countries",
    # The read-only JSON API (/api/v1/), its OpenAPI schema and docs (proceedings/api/).
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # The project package: health checks, page cache invalidation, clear_page_cache command.
    "forum_portal.apps.ForumPortalConfig",
    "speakers",
    "proceedings",
    # A report -> draft speakers and positions, reviewed in the admin (imports proceedings).
    "curation",
]

MIDDLEWARE = [
    # First: a request id and one log line for every response, static files and errors too.
    "forum_portal.middleware.RequestLogMiddleware",
    # The security headers near the top, so that static files, health checks, cached pages
    # and errors carry them too: frame denial, Content-Security-Policy (SECURE_CSP below)...
    # Before SecurityMiddleware, whose HTTP-to-HTTPS redirect skips everything after it.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # ...and for the admin's responses SECURE_CSP_ADMIN (one hashed style attribute more).
    "forum_portal.middleware.AdminContentSecurityPolicyMiddleware",
    # HTTPS redirect, HSTS, nosniff, Referrer-Policy, Cross-Origin-Opener-Policy.
    "django.middleware.security.SecurityMiddleware",
    # whitenoise right after SecurityMiddleware and the headers, so static files skip the rest
    # of the stack.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # 400 for %00 in the URL: PostgreSQL refuses NUL, so it must never reach a query.
    "forum_portal.middleware.RejectNullCharactersMiddleware",
    # /healthz and /readyz: before host validation, sessions and the page cache.
    "forum_portal.health.HealthCheckMiddleware",
    # A database outage raised by a view becomes the 503 page (forum_portal/errors.py).
    "forum_portal.middleware.DatabaseUnavailableMiddleware",
    # Anonymous GETs of public pages from the cache (forum_portal/cache.py): before locale,
    # sessions and CSRF, whose work a cache hit saves.
    "forum_portal.cache.PageCacheMiddleware",
    # Before sessions. Pages take their language from the URL prefix (/zh-hant/, /zh-hans/,
    # /en/: no Vary needed); a bare address redirects by the language cookie, else
    # Accept-Language (forum_portal/languages.py).
    "django.middleware.locale.LocaleMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Attributes history records to the user making the request.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Turns a locked-out login into the lockout response (after authentication).
    "axes.middleware.AxesMiddleware",
    # Last: only a 404 consults the redirects table (language-neutral paths, so one redirect
    # serves every language prefix: proceedings/redirects.py).
    "proceedings.redirects.LanguageRedirectFallbackMiddleware",
]

ROOT_URLCONF = "forum_portal.urls"
SITE_ID = 1
# The public address of the site, scheme included and no path: https://forum.example.org.
# Canonical links, citations, feeds, sitemap and robots.txt build absolute URLs with it, so
# they name one address whatever host a request came in by; migrate copies its host into the
# Site row (forum_portal/site.py). Unset: the scheme and host of each request (development).
SITE_URL = os.environ.get("DJANGO_SITE_URL", "").strip().rstrip("/")
if SITE_URL and not re.fullmatch(r"https?://[^/?#\s]+", SITE_URL):
    raise ImproperlyConfigured("DJANGO_SITE_URL is a scheme and host only: https://example.org")
WSGI_APPLICATION = "forum_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# ---------------------------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------------------------

# No configuration: the embedded SQLite database next to manage.py. Production: DATABASE_URL.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Read replica: DATABASE_REPLICA_URL adds the "replica" alias; forum_portal/routers.py sends
# reads there and writes (and the reads of a request that writes) to the primary.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"],
        conn_max_age=DATABASES["default"]["CONN_MAX_AGE"],
        conn_health_checks=True,
    )
    # Tests use the test database through both aliases (tests/production/test_replica.py
    # points "replica" at the real standby where it exists).
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["forum_portal.routers.PrimaryReplicaRouter"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("forum_portal.cache.PageCacheMiddleware"),
        "forum_portal.routers.ReplicaPinningMiddleware",
    )
# Seconds a browser's reads stay on the primary after it saved something (replica lag).
REPLICA_PIN_SECONDS = env_int("DATABASE_REPLICA_PIN_SECONDS", 5)

# A database that does not answer makes a request fail (503) within seconds rather than hang
# until the proxy gives up: PostgreSQL connection attempts time out.
for _database in DATABASES.values():
    if _database["ENGINE"] == "django.db.backends.postgresql":
        _database.setdefault("OPTIONS", {}).setdefault(
            "connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5)
        )

# ---------------------------------------------------------------------------------------------
# Internationalisation
# ---------------------------------------------------------------------------------------------

LANGUAGE_CODE = "zh-hant"
LANGUAGES = [
    ("zh-hant", _("Traditional Chinese")),
    ("zh-hans", _("Simplified Chinese")),
    ("en", _("English")),
]
# Catalogues listed first win. Django REST framework's translates a few of Django's own form
# messages differently ("This field is required."); Django's wording (the admin's, then core's)
# is put before it here, so that adding the API changed no message of the site's forms.
_DJANGO_DIR = Path(django.__file__).resolve().parent
LOCALE_PATHS = [
    BASE_DIR / "locale",
    _DJANGO_DIR / "contrib" / "admin" / "locale",
    _DJANGO_DIR / "conf" / "locale",
]
# The language switcher's choice (forum_portal/languages.py) is kept for a year, so the next
# visit to / goes straight to it.
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------------------------------------
# Static and media files
# ---------------------------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", BASE_DIR / "media"))
# The data downloads' files, built once per content generation (proceedings.downloads): kept
# apart from media, which is backed up, as anything here is rebuilt when missing.
DATASETS_ROOT = Path(os.environ.get("DJANGO_DATASETS_ROOT", BASE_DIR / "var" / "datasets"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            # Development serves files straight from static/, with no collectstatic step.
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# ---------------------------------------------------------------------------------------------
# Security
# ---------------------------------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Load balancers probe over plain HTTP, by address.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$"]

# Content-Security-Policy on every response: everything from this origin, nothing inline.
# Templates have no <script> or style= (STYLE.md §6), and neither has Django's admin
# (tests/production/test_browser.py checks pages and admin for violations in Chromium).
# data: images are the admin's and browsers' small inline icons.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# The admin only: django-simple-history's history page has one style attribute
# (style="border-top: 0"), allowed by its hash alone; still no inline script, no other style.
SECURE_CSP_ADMIN = {
    **SECURE_CSP,
    "style-src": [
        CSP.SELF,
        CSP.UNSAFE_HASHES,
        "'sha256-XMXSevYjgSjXgRafBFDvtjwX+yyWLrxfso9DcNZ9UXM='",  # border-top: 0
    ],
}

# The admin's address: an unguessable path keeps it out of drive-by scans (login guessing is
# stopped by axes below, not by this). A path relative to the site root ending in "/".
ADMIN_URL = os.environ.get("DJANGO_ADMIN_URL", "admin/").strip("/") + "/"
# The only login is the admin's: where it goes when its ``next`` is missing or refused as
# off-site (Django's default, /accounts/profile/, is no page here).
LOGIN_REDIRECT_URL = "admin:index"

# django-axes: after AXES_FAILURE_LIMIT failed logins for one username from one address, that
# pair is locked out for AXES_COOLOFF_TIME (answer 429). Attempts live in the database.
AUTHENTICATION_BACKENDS = [
    "forum_portal.security.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("DJANGO_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("DJANGO_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "forum_portal.security.client_ip"
# Lockouts are listed and lifted with manage.py axes_list_attempts / axes_reset_username, not
# in the admin (its read-only pages would be the only admin pages without an add form).
AXES_ENABLE_ADMIN = False
# Behind N reverse proxies that append to X-Forwarded-For (nginx: 1), the client's address is
# the N-th from the right; 0 uses REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env_int("DJANGO_TRUSTED_PROXY_COUNT", 0)
if not DEBUG:
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# ---------------------------------------------------------------------------------------------
# Apps
# ---------------------------------------------------------------------------------------------

# Tag slugs keep Chinese characters (光子CT -> 光子ct) instead of being stripped to "ct".
TAGGIT_STRIP_UNICODE_WHEN_SLUGIFYING = False
TAGGIT_CASE_INSENSITIVE = True

# The read-only API (proceedings/api/): URL-path versioned (/api/v1/), no authentication (it
# serves only what the public pages show), JSON plus DRF's browsable HTML for people.
REST_FRAMEWORK = {
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.URLPathVersioning",
    "ALLOWED_VERSIONS": ["v1"],
    "DEFAULT_VERSION": "v1",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_PARSER_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "proceedings.api.base.BrowsableAPIRenderer",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["proceedings.api.base.AnonymousRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "proceedings.api.base.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# Requests per client address (forum_portal.security.client_ip) to the API, as DRF writes rates
# ("600/minute"); empty or "off": no limit. Generous: researchers page through everything.
API_ANON_RATE = os.environ.get("DJANGO_API_RATE", "600/minute").strip() or None
if API_ANON_RATE and API_ANON_RATE.lower() == "off":
    API_ANON_RATE = None
# Rate limits (the API's, the readers' error reports) count in the default cache with atomic
# increments (forum_portal/ratelimits.py): with several app servers that must be the shared
# Redis (REDIS_URL), or each process counts its own. A cache that does not answer lets
# requests through rather than refusing them all.
RATELIMIT_USE_CACHE = "default"
RATELIMIT_FAIL_OPEN = True
SPECTACULAR_SETTINGS = {
    "TITLE": "Forum Portal API",
    "DESCRIPTION": (
        "Read-only access to the published proceedings of policy forums: forums, sessions, "
        "guiding questions, themes, speakers, institutions and the positions speakers took, "
        "with the role and institution at the time of speaking. Only published content is "
        "served. Lists are paginated (`page`, `page_size`)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    # Swagger UI and Redoc from this site's static files, not a CDN (the CSP allows no other).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None},
    "ENUM_NAME_OVERRIDES": {
        "SectorEnum": "speakers.models.Sector",
        "FidelityEnum": "proceedings.models.Position.Fidelity",
        "CapacityEnum": "proceedings.models.Appearance.Capacity",
        "ThemeKindEnum": "proceedings.models.Theme.Kind",
    },
}

# ---------------------------------------------------------------------------------------------
# Cache
# ---------------------------------------------------------------------------------------------

# REDIS_URL (redis://host:6379/0): Redis, shared by every app server; a Redis that goes away
# costs cache misses, not errors (forum_portal/cache.py). Unset: memory of each process.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "forum_portal.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("DJANGO_CACHE_KEY_PREFIX", "forum-portal"),
            # Redis answers in well under a millisecond; waiting longer only slows pages down.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "forum-portal",
            "OPTIONS": {"MAX_ENTRIES": 5000},
        }
    }
# The page parts that depend on nothing but the language and the code (base.html's navigation
# and footer, {% cache … using="chrome" %}), kept by each process for as long as it runs.
# DEBUG renders them every time, so that an edited template shows at once.
CACHES["chrome"] = (
    {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    if DEBUG
    else {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "chrome",
        "TIMEOUT": None,
        "OPTIONS": {"MAX_ENTRIES": 1000},
    }
)
# Seconds a public page is kept for anonymous readers (0: no page cache). Any change to
# curated content makes every cached page stale at once, whatever this says. On by default
# only with Redis: the "content changed" mark must be seen by every process, and local memory
# is per process (a worker that did not make the edit would go on serving the old page).
PAGE_CACHE_SECONDS = env_int("DJANGO_PAGE_CACHE_SECONDS", 600 if REDIS_URL else 0)
# Seconds a rendered fragment (a position card) or a costly count is kept, keyed by the same
# content generation as the page cache (0: none). For the pages the page cache does not serve:
# signed-in readers, the first reader of a page, the permalink with its form. Redis only, for
# the same reason as the page cache; staff never see cached fragments.
FRAGMENT_CACHE_SECONDS = env_int("DJANGO_FRAGMENT_CACHE_SECONDS", 3600 if REDIS_URL else 0)
# Whether /readyz fails when the cache does not answer. With one shared Redis for several app
# servers, 0 keeps them all in the load balancer while Redis is down (the site works without).
READYZ_REQUIRE_CACHE = env_bool("DJANGO_READYZ_REQUIRE_CACHE", default=True)

# ---------------------------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------------------------

# One JSON object per line (DJANGO_LOG_FORMAT=json, the default) or plain text (text); every
# record carries the id of the request it belongs to (forum_portal/logs.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "forum_portal.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "forum_portal.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": os.environ.get("DJANGO_LOG_FORMAT", "json"),
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    # axes announces itself at every start; its lockouts are warnings and still logged.
    "loggers": {"axes.apps": {"level": "WARNING"}},
}
