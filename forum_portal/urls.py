from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from . import health, languages

admin.site.site_header = "Forum Portal"
admin.site.site_title = "Forum Portal"

urlpatterns = [
    # Answered by HealthCheckMiddleware first; routed too so they work without it.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # DJANGO_ADMIN_URL (default admin/).
    path(settings.ADMIN_URL, admin.site.urls),
    # The language switcher's links: remember the reader's choice, then show the same page in
    # that language (proceedings/languages.py).
    path("language/<str:code>/", languages.choose_language, name="choose-language"),
]

# The public pages, under /zh-hant/, /zh-hans/ and /en/. The bare address (/, or an old
# unprefixed page URL) redirects to the reader's language: LocaleMiddleware picks it from the
# language cookie, then Accept-Language, then LANGUAGE_CODE.
urlpatterns += i18n_patterns(path("", include("proceedings.urls")), prefix_default_language=True)

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# A database outage raised outside a view (in a middleware, or while rendering) is a 503 too.
handler500 = "forum_portal.errors.server_error"
