from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef
from django.http import HttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from taggit.admin import TagAdmin as BaseTagAdmin
from taggit.models import Tag, TaggedItem

from proceedings.workflow_admin import HistoryAdmin, PublicRowsAdminMixin, WorkflowAdmin

from . import admin_views, corrections
from .interchange import documents, spreadsheet
from .models import (
    Appearance,
    CorrectionRequest,
    Forum,
    KeyPhrase,
    Position,
    Question,
    SearchQueryStat,
    Session,
    SourceDocument,
    Status,
    TagName,
    Theme,
)
from .redirects import SlugRedirectAdminMixin
from .search import statistics

# ---------------------------------------------------------------------------------------------
# Inlines
# ---------------------------------------------------------------------------------------------


class SessionInline(admin.TabularInline):
    model = Session
    extra = 0
    fields = ["order", "title", "title_en", "slug", "held_on", "source"]
    prepopulated_fields = {"slug": ["title_en"]}
    autocomplete_fields = ["source"]
    show_change_link = True


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    fields = ["order", "title", "title_en", "slug"]
    prepopulated_fields = {"slug": ["title_en"]}
    show_change_link = True


class AppearanceInline(admin.TabularInline):
    """Roles at the time of speaking, under a speaker or a session."""

    model = Appearance
    extra = 0
    fields = ["session", "capacity", "as_printed", "role", "role_en", "institution", "order"]
    autocomplete_fields = ["session", "speaker", "institution"]
    show_change_link = True  # the role's page lists and edits its positions


class PositionInline(admin.StackedInline):
    """Positions under a speaker's role (a position's speaker is its appearance's speaker)."""

    model = Position
    extra = 0
    fields = [
        ("ref", "status", "fidelity", "order"),
        "text",
        ("language", "source", "paragraph"),
        "translation",
        ("translation_language", "translation_provenance"),
        "themes",
        "tags",
    ]
    autocomplete_fields = ["themes", "source"]
    show_change_link = True


class KeyPhraseInline(admin.TabularInline):
    """The phrases a position quotes verbatim, under the position (part of it).

    Editable as the position is: a published or withdrawn position's phrases only by a
    Publisher (WorkflowAdmin's rule for the position itself), by whoever has the key phrase's
    own permissions.
    """

    model = KeyPhrase
    extra = 0
    fields = ["text", "translation", "paragraph", "order"]

    def _may_edit(self, request, obj):
        if obj is None or obj.status not in (Status.PUBLISHED, Status.WITHDRAWN):
            return True
        return request.user.has_perm("proceedings.publish_position")

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and self._may_edit(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_edit(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_edit(request, obj)


class TagNameInline(admin.StackedInline):
    """A tag's English name, on the tag (tags are named in the forum's language)."""

    model = TagName
    extra = 1
    max_num = 1
    fields = ["name_en"]


class ThemePositionInline(admin.TabularInline):
    """Positions under a theme (the theme side of the many-to-many relation)."""

    model = Position.themes.through
    extra = 0
    autocomplete_fields = ["position"]
    verbose_name = _("position")
    verbose_name_plural = _("positions on this theme")


# ---------------------------------------------------------------------------------------------
# Extra pages and downloads (import, export, duplicates)
# ---------------------------------------------------------------------------------------------


class ToolLinksMixin:
    """Adds links next to "Add" on the changelist: ``tool_links()`` returns (url, label) pairs."""

    change_list_template = "admin/change_list_tools.html"

    def tool_links(self, request):
        return []

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "tool_links": self.tool_links(request)}
        return super().changelist_view(request, extra_context)


def import_link(request):
    """Return the import page's link, for users who may import (add and change positions)."""
    if not admin_views.can_import(request.user):
        return []
    return [(reverse("admin:proceedings_position_import"), _("Import"))]


def download(content, *, filename, content_type):
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_download(positions, *, name):
    return download(
        spreadsheet.positions_csv(positions),
        filename=f"{name}-{timezone.localdate():%Y-%m-%d}.csv",
        content_type="text/csv; charset=utf-8",
    )


def json_download(document, *, name):
    return download(
        documents.dumps(document).encode(),
        filename=f"{name}-{timezone.localdate():%Y-%m-%d}.json",
        content_type="application/json; charset=utf-8",
    )


class DuplicatesAdminMixin(ToolLinksMixin):
    """A "Possible duplicates" page (and merge) for speakers or institutions."""

    duplicates = None  # an admin_views.DuplicateKind

    def get_urls(self):
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}"
        site = self.admin_site
        return [
            path(
                "duplicates/",
                site.admin_view(admin_views.duplicates_view),
                {"model_admin": self, "kind": self.duplicates},
                name=f"{name}_duplicates",
            ),
            path(
                "duplicates/merge/",
                site.admin_view(admin_views.merge_view),
                {"model_admin": self, "kind": self.duplicates},
                name=f"{name}_merge",
            ),
            *super().get_urls(),
        ]

    def tool_links(self, request):
        opts = self.model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_duplicates")
        return [*super().tool_links(request), (url, _("Possible duplicates"))]


# ---------------------------------------------------------------------------------------------
# Model admins
# ---------------------------------------------------------------------------------------------


@admin.register(Forum)
class ForumAdmin(SlugRedirectAdminMixin, ToolLinksMixin, WorkflowAdmin):
    list_display = ["name", "name_en", "edition_year", "starts_on", "place", "status"]
    list_filter = ["status", "edition_year"]
    search_fields = ["name", "name_en", "slug"]
    prepopulated_fields = {"slug": ["name_en"]}
    date_hierarchy = "starts_on"
    inlines = [SessionInline, QuestionInline]
    fieldsets = [
        (None, {"fields": ["name", "name_en", "slug", "edition_year", "status", "published_at"]}),
        (_("When and where"), {"fields": ["starts_on", "ends_on", "place", "place_en"]}),
        (
            _("About"),
            {"fields": ["organisers", "organisers_en", "description", "description_en"]},
        ),
    ]
    actions = [*WorkflowAdmin.actions, "export_json", "export_csv"]

    def tool_links(self, request):
        return import_link(request)

    @admin.action(
        description=_("Export selected forums in the import format (JSON)"), permissions=["view"]
    )
    def export_json(self, request, queryset):
        slugs = list(queryset.order_by("slug").values_list("slug", flat=True))
        name = slugs[0] if len(slugs) == 1 else "forums"
        return json_download(documents.export_forums(slugs=slugs), name=name)

    @admin.action(
        description=_("Export the positions of selected forums as CSV"), permissions=["view"]
    )
    def export_csv(self, request, queryset):
        slugs = list(queryset.order_by("slug").values_list("slug", flat=True))
        name = f"{slugs[0]}-positions" if len(slugs) == 1 else "positions"
        positions = Position.objects.filter(appearance__session__forum__in=queryset)
        return csv_download(positions, name=name)


@admin.register(Session)
class SessionAdmin(SlugRedirectAdminMixin, PublicRowsAdminMixin, HistoryAdmin):
    publish_permission_model = Forum
    list_display = ["title", "title_en", "forum", "held_on", "order"]
    list_filter = ["forum"]
    list_select_related = ["forum"]
    search_fields = ["title", "title_en", "forum__name", "slug"]
    prepopulated_fields = {"slug": ["title_en"]}
    autocomplete_fields = ["forum", "source"]
    inlines = [AppearanceInline]


@admin.register(Question)
class QuestionAdmin(SlugRedirectAdminMixin, PublicRowsAdminMixin, HistoryAdmin):
    publish_permission_model = Forum
    list_display = ["title", "title_en", "forum", "order"]
    list_editable = ["order"]
    list_filter = ["forum"]
    list_select_related = ["forum"]
    search_fields = ["title", "title_en", "slug"]
    prepopulated_fields = {"slug": ["title_en"]}
    autocomplete_fields = ["forum"]


@admin.register(Theme)
class ThemeAdmin(SlugRedirectAdminMixin, WorkflowAdmin):
    list_display = ["title", "title_en", "kind", "forum", "status", "order", "position_count"]
    list_editable = ["order"]
    list_filter = ["status", "forum", "kind", "questions"]
    list_select_related = ["forum"]
    search_fields = ["title", "title_en", "summary", "slug"]
    prepopulated_fields = {"slug": ["title_en"]}
    autocomplete_fields = ["forum", "parent", "questions"]
    inlines = [ThemePositionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(position_count=Count("positions"))

    @admin.display(description=_("positions"), ordering="position_count")
    def position_count(self, obj):
        return obj.position_count


@admin.register(SourceDocument)
class SourceDocumentAdmin(SlugRedirectAdminMixin, PublicRowsAdminMixin, HistoryAdmin):
    publish_permission_model = Forum
    list_display = ["title", "author", "publisher", "published_on", "language"]
    list_filter = ["language"]
    search_fields = ["title", "title_en", "author", "publisher", "slug"]
    prepopulated_fields = {"slug": ["title_en"]}

    def public_rows(self, queryset):
        return queryset.published()


@admin.register(Appearance)
class AppearanceAdmin(PublicRowsAdminMixin, HistoryAdmin):
    publish_permission_model = Forum
    list_display = ["speaker", "capacity", "as_printed", "institution", "session"]
    list_filter = ["capacity", "session__forum", "institution__sector"]
    list_select_related = ["speaker", "institution", "session__forum"]
    search_fields = [
        "speaker__name",
        "speaker__name_en",
        "as_printed",
        "role",
        "role_en",
        "institution__name",
        "institution__name_en",
    ]
    autocomplete_fields = ["session", "speaker", "institution"]
    inlines = [PositionInline]


@admin.register(Position)
class PositionAdmin(ToolLinksMixin, WorkflowAdmin):
    list_display = ["excerpt", "speaker", "fidelity", "locator", "status", "order"]
    list_filter = [
        "status",
        "fidelity",
        "appearance__session__forum",
        "themes",
        "appearance__institution__sector",
        "language",
    ]
    list_select_related = ["appearance__speaker", "appearance__session__forum"]
    search_fields = [
        "ref",
        "text",
        "translation",
        "appearance__speaker__name",
        "appearance__speaker__name_en",
    ]
    autocomplete_fields = ["appearance", "themes", "source"]
    readonly_fields = ["source_paragraph", "created_at", "updated_at"]
    inlines = [KeyPhraseInline]
    fieldsets = [
        (None, {"fields": ["appearance", "themes", "status", "published_at"]}),
        (_("What was said"), {"fields": ["text", "language", "fidelity"]}),
        (
            _("Who said it"),
            {
                "fields": ["attribution", "attribution_note", "attribution_note_en"],
                "description": _(
                    "“Attributed in context” when the source does not name the speaker for "
                    "this statement: say in the note what in the source attributes it."
                ),
            },
        ),
        (_("Where it is from"), {"fields": ["source", "paragraph", "source_paragraph"]}),
        (
            _("Translation"),
            {
                "fields": [
                    "translation",
                    "translation_language",
                    "translation_provenance",
                    ("translation_reviewed_by", "translation_reviewed_on"),
                ]
            },
        ),
        (_("Presentation"), {"fields": ["tags", "featured", "order"]}),
        (
            _("Advanced"),
            {"fields": ["ref", "created_at", "updated_at"], "classes": ["collapse"]},
        ),
    ]

    actions = [*WorkflowAdmin.actions, "export_csv", "export_json"]

    def get_urls(self):
        site = self.admin_site
        return [
            path(
                "import/",
                site.admin_view(admin_views.import_view),
                {"model_admin": self},
                name="proceedings_position_import",
            ),
            path(
                "import/confirm/",
                site.admin_view(admin_views.import_confirm_view),
                {"model_admin": self},
                name="proceedings_position_import_confirm",
            ),
            *super().get_urls(),
        ]

    def tool_links(self, request):
        return import_link(request)

    @admin.action(description=_("Export selected as CSV"), permissions=["view"])
    def export_csv(self, request, queryset):
        return csv_download(queryset, name="positions")

    @admin.action(
        description=_("Export selected in the import format (JSON)"), permissions=["view"]
    )
    def export_json(self, request, queryset):
        refs = list(queryset.values_list("ref", flat=True))
        return json_download(documents.export_positions(refs=refs), name="positions")

    @admin.display(description=_("text"))
    def excerpt(self, obj):
        return obj.text if len(obj.text) <= 60 else f"{obj.text[:60]}…"

    @admin.display(description=_("speaker"), ordering="appearance__speaker__sort_name")
    def speaker(self, obj):
        return obj.appearance.speaker

    @admin.display(description=_("locator"), ordering="paragraph")
    def locator(self, obj):
        return obj.locator

    @admin.display(description=_("paragraph in the source"))
    def source_paragraph(self, obj):
        """Show the source paragraph the text was found in, so editors can check the quote."""
        if not obj.source_id or not obj.text:
            return "—"
        number = obj.source.find_paragraph(obj.text)
        if number is None:
            return _("The text does not occur in the source.")
        return format_html("¶{}: {}", number, obj.source.paragraph(number))


@admin.register(CorrectionRequest)
class CorrectionRequestAdmin(admin.ModelAdmin):
    """The editors' queue of readers' error reports."""

    list_display = ["__str__", "position_link", "state", "created_at", "resolved_by"]
    list_filter = ["state", "created_at"]
    list_select_related = ["position", "resolved_by"]
    search_fields = ["message", "position_text", "note"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "position_link",
        "position_text",
        "message",
        "email",
        "created_at",
        "resolved_at",
        "resolved_by",
    ]
    fields = [*readonly_fields[:5], "state", "note", "resolved_at", "resolved_by"]

    def has_add_permission(self, request):
        return False  # requests come from readers, through the form on each position page

    @admin.display(description=_("position"))
    def position_link(self, obj):
        if obj.position_id is None:
            return _("(deleted)")
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("admin:proceedings_position_change", args=[obj.position_id]),
            _("edit"),
            obj.position.get_absolute_url(),
            _("view on site"),
        )

    def save_model(self, request, obj, form, change):
        corrections.set_correction_state(
            request=obj, state=obj.state, note=obj.note, user=request.user
        )


class ResultsFilter(admin.SimpleListFilter):
    title = _("results")
    parameter_name = "results"

    def lookups(self, request, model_admin):
        return [("none", _("No results")), ("some", _("Some results"))]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(result_count=0)
        if self.value() == "some":
            return queryset.filter(result_count__gt=0)
        return queryset


@admin.register(SearchQueryStat)
class SearchQueryStatAdmin(admin.ModelAdmin):
    """What readers search for, per day, with the number of results: no personal data."""

    list_display = ["query", "filters", "result_count", "searches", "day"]
    list_filter = [ResultsFilter, "day"]
    search_fields = ["query", "filters"]
    date_hierarchy = "day"
    # Above the daily rows: the last 30 days' most frequent searches and those finding nothing.
    change_list_template = "admin/proceedings/searchquerystat/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        summary = statistics.search_summary(days=30)
        return super().changelist_view(request, {**(extra_context or {}), "summary": summary})


# Tags are public on the positions they tag: django-taggit's admin, under the same rule.
admin.site.unregister(Tag)


@admin.register(Tag)
class TagAdmin(PublicRowsAdminMixin, BaseTagAdmin):
    publish_permission_model = Position
    inlines = [TagNameInline, *BaseTagAdmin.inlines]

    def public_rows(self, queryset):
        position_type = ContentType.objects.get_for_model(Position)
        return queryset.filter(
            Exists(
                TaggedItem.objects.filter(
                    tag=OuterRef("pk"),
                    content_type=position_type,
                    object_id__in=Position.objects.published().values("pk"),
                )
            )
        )

    def merge_tags_view(self, request):
        # taggit's merge view checks no permission: merging renames and removes tags.
        ids = request.session.get("selected_tag_ids", "").split(",")
        tags = Tag.objects.filter(pk__in=[pk for pk in ids if pk.isdigit()])
        if not self.has_change_permission(request) or (
            self.public_rows(tags).exists() and not self.has_publish_permission(request)
        ):
            raise PermissionDenied
        return super().merge_tags_view(request)
