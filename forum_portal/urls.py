from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from proceedings import sitemaps
from proceedings.api import docs as api_docs
from proceedings.api import views as api_views

from . import health, languages, robots

admin.site.site_header = "Forum Portal"
admin.site.site_title = "Forum Portal"

urlpatterns = [
    # Answered by HealthCheckMiddleware first; routed too so they work without it.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # At the site root in every language: crawlers look for them there.
    path("sitemap.xml", sitemaps.index, name="sitemap"),
    path("sitemap-<slug:section>.xml", sitemaps.section, name="sitemap-section"),
    path("robots.txt", robots.robots_txt, name="robots-txt"),
    # Browsers and crawlers ask for /favicon.ico whatever the page links: the SVG icon.
    path("favicon.ico", robots.favicon, name="favicon"),
    # DJANGO_ADMIN_URL (default admin/).
    path(settings.ADMIN_URL, admin.site.urls),
    # The read-only API, unprefixed by language (proceedings/api/): schema, docs, version 1,
    # and a JSON 404 for any other /api/ URL.
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs.ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^api/(?P<version>v1)/", include("proceedings.api.urls")),
    re_path(r"^api/", api_views.not_found),
    # CSV and dataset files (proceedings/downloads.py): the same in every language.
    path("downloads/", include("proceedings.download_urls")),
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
