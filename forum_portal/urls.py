from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from proceedings.sitemaps import sitemap

from . import health, robots

admin.site.site_header = "Forum Portal"
admin.site.site_title = "Forum Portal"

urlpatterns = [
    # Answered by HealthCheckMiddleware first; routed too so they work without it.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # At the site root in every language: crawlers look for them there.
    path("sitemap.xml", sitemap, name="sitemap"),
    path("robots.txt", robots.robots_txt, name="robots-txt"),
    # DJANGO_ADMIN_URL (default admin/).
    path(settings.ADMIN_URL, admin.site.urls),
    path("", include("proceedings.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# A database outage raised outside a view (in a middleware, or while rendering) is a 503 too.
handler500 = "forum_portal.errors.server_error"
