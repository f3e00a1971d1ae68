from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Forum Portal"
admin.site.site_title = "Forum Portal"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("proceedings.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
