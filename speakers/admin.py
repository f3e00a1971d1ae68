from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from forum_portal.workflow_admin import HistoryAdmin, PublicRowsAdminMixin, WorkflowAdmin

from .models import Institution, Speaker, SpeakerLink


@admin.register(Institution)
class InstitutionAdmin(PublicRowsAdminMixin, HistoryAdmin):
    # Public when named in a public role: a published person's, which a Publisher publishes.
    publish_permission_model = Speaker
    list_display = ["name", "name_en", "short_name", "sector", "country", "city"]
    list_filter = ["sector", "country"]
    search_fields = ["name", "name_en", "short_name", "slug"]
    prepopulated_fields = {"slug": ["name_en"]}
    fieldsets = [
        (None, {"fields": ["name", "name_en", "short_name", "slug", "sector"]}),
        (_("Where"), {"fields": ["country", "city", "city_en", "website"]}),
        (_("Matching"), {"fields": ["aliases"], "classes": ["collapse"]}),
    ]


class SpeakerLinkInline(admin.TabularInline):
    model = SpeakerLink
    extra = 0


@admin.register(Speaker)
class SpeakerAdmin(WorkflowAdmin):
    list_display = ["name", "name_en", "sort_name", "status"]
    search_fields = ["name", "name_en", "sort_name", "slug"]
    prepopulated_fields = {"slug": ["name_en"]}
    inlines = [SpeakerLinkInline]
    fieldsets = [
        (None, {"fields": ["name", "name_en", "sort_name", "slug", "status", "published_at"]}),
        (_("About"), {"fields": ["bio", "bio_en", "photo"]}),
        (_("Matching"), {"fields": ["aliases"], "classes": ["collapse"]}),
    ]
