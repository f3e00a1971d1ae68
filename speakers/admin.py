"""
People and institutions in the admin: one registration each, with the roles, positions and
duplicate merging that proceedings attaches to them.

The speakers app's models must not import proceedings (proceedings' models point at them), but
admin modules load after every model, so this one may use proceedings' inlines and views.
"""

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from proceedings import admin_views
from proceedings.admin import AppearanceInline, DuplicatesAdminMixin
from proceedings.models import Position
from proceedings.redirects import SlugRedirectAdminMixin
from proceedings.workflow_admin import HistoryAdmin, PublicRowsAdminMixin, WorkflowAdmin

from .models import Institution, Speaker, SpeakerLink


@admin.register(Institution)
class InstitutionAdmin(
    SlugRedirectAdminMixin, DuplicatesAdminMixin, PublicRowsAdminMixin, HistoryAdmin
):
    duplicates = admin_views.INSTITUTIONS
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
class SpeakerAdmin(SlugRedirectAdminMixin, DuplicatesAdminMixin, WorkflowAdmin):
    duplicates = admin_views.SPEAKERS
    list_display = ["name", "name_en", "sort_name", "status", "role_count"]
    list_filter = ["status", "appearances__institution__sector", "appearances__session__forum"]
    search_fields = ["name", "name_en", "sort_name", "slug"]
    prepopulated_fields = {"slug": ["name_en"]}
    inlines = [SpeakerLinkInline, AppearanceInline]
    readonly_fields = ["positions"]
    fieldsets = [
        (None, {"fields": ["name", "name_en", "sort_name", "slug", "status", "published_at"]}),
        (_("About"), {"fields": ["bio", "bio_en", "photo"]}),
        (_("Matching"), {"fields": ["aliases"], "classes": ["collapse"]}),
        (_("Positions"), {"fields": ["positions"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(role_count=Count("appearances"))

    @admin.display(description=_("roles"), ordering="role_count")
    def role_count(self, obj):
        return obj.role_count

    @admin.display(description=_("positions"))
    def positions(self, obj):
        """List this person's positions, each linking to its change page."""
        positions = Position.objects.filter(appearance__speaker=obj).order_by("order", "pk")
        if not obj.pk or not positions:
            return "—"
        return format_html(
            "<ol>{}</ol>",
            format_html_join(
                "",
                '<li><a href="{}">{}</a> ({})</li>',
                (
                    (
                        reverse("admin:proceedings_position_change", args=[p.pk]),
                        p.text if len(p.text) <= 80 else f"{p.text[:80]}…",
                        p.get_status_display(),
                    )
                    for p in positions
                ),
            ),
        )
