"""
The JSON shapes of the API. Every object carries ``url`` (its public page, absolute) and
``api_url`` (itself in the API); lists embed small summaries of related objects.

Serializers read only what the views fetched up front (``select_related``/``Prefetch``), so a
list costs the same number of queries whatever its length.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from taggit.models import Tag

from forum_portal.cache import kept_for_rows, request_generation
from forum_portal.links import reverse
from speakers.models import Institution, Speaker, SpeakerLink

from ..models import (
    Appearance,
    Forum,
    Position,
    Question,
    Session,
    SourceDocument,
    Theme,
    tag_name_en,
)
from ..search import FACETS
from ..search.highlight import excerpt, highlight

# ---------------------------------------------------------------------------------------------
# Links
# ---------------------------------------------------------------------------------------------


def absolute(request, path):
    """Return ``request.build_absolute_uri(path)`` for a path that starts with one "/".

    A list of 50 positions builds about 900 URLs; ``build_absolute_uri`` validates the host
    against ``ALLOWED_HOSTS`` each time. The origin is asked once per request instead.
    """
    origin = getattr(request, "_absolute_origin", None)
    if origin is None:
        origin = request._absolute_origin = request.build_absolute_uri("/")[:-1]
    return origin + path


@extend_schema_field(OpenApiTypes.URI)
class PageURLField(serializers.Field):
    """The absolute URL of the object's public page (``get_absolute_url()``)."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value):
        return absolute(self.context["request"], value.get_absolute_url())


@extend_schema_field(OpenApiTypes.URI)
class ApiURLField(serializers.Field):
    """The absolute URL of an API endpoint about the object (``view_name`` in ``api``)."""

    def __init__(self, view_name, kwargs_of, **kwargs):
        self.view_name = view_name
        self.kwargs_of = kwargs_of
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value):
        # What rest_framework.reverse() does under URLPathVersioning, with forum_portal.links'
        # remembered reverse(): the request's API version is an argument of every API URL.
        request = self.context["request"]
        kwargs = {**self.kwargs_of(value), "version": request.version}
        return absolute(request, reverse(f"api:{self.view_name}", kwargs=kwargs))


def by_slug(obj):
    return {"slug": obj.slug}


def by_forum_and_slug(obj):
    return {"forum_slug": obj.forum.slug, "slug": obj.slug}


# ---------------------------------------------------------------------------------------------
# Summaries (embedded in other objects)
# ---------------------------------------------------------------------------------------------


class ForumSummarySerializer(serializers.ModelSerializer):
    url = PageURLField()
    api_url = ApiURLField("forum-detail", by_slug)

    class Meta:
        model = Forum
        fields = ["slug", "name", "name_en", "edition_year", "url", "api_url"]


class SessionSummarySerializer(serializers.ModelSerializer):
    url = PageURLField()
    api_url = ApiURLField("session-detail", by_forum_and_slug)

    class Meta:
        model = Session
        fields = ["slug", "title", "title_en", "url", "api_url"]


class QuestionSummarySerializer(serializers.ModelSerializer):
    url = PageURLField()
    api_url = ApiURLField("question-detail", by_forum_and_slug)

    class Meta:
        model = Question
        fields = ["slug", "title", "title_en", "url", "api_url"]


class ThemeSummarySerializer(serializers.ModelSerializer):
    forum = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    url = PageURLField()
    api_url = ApiURLField("theme-detail", by_forum_and_slug)

    class Meta:
        model = Theme
        fields = ["slug", "forum", "title", "title_en", "kind", "url", "api_url"]


class SpeakerSummarySerializer(serializers.ModelSerializer):
    url = PageURLField()
    api_url = ApiURLField("speaker-detail", by_slug)

    class Meta:
        model = Speaker
        fields = ["slug", "name", "name_en", "url", "api_url"]


class InstitutionSummarySerializer(serializers.ModelSerializer):
    url = PageURLField()
    api_url = ApiURLField("institution-detail", by_slug)

    class Meta:
        model = Institution
        fields = ["slug", "name", "name_en", "sector", "url", "api_url"]


class SourceSummarySerializer(serializers.ModelSerializer):
    url = PageURLField()

    class Meta:
        model = SourceDocument
        fields = ["slug", "title", "title_en", "author", "publisher", "language", "url"]


class TagSerializer(serializers.ModelSerializer):
    name_en = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Tag
        fields = ["name", "name_en", "slug", "url"]

    @extend_schema_field({"type": "string", "nullable": True})
    def get_name_en(self, tag):
        """The tag's English name, or null when it has none."""
        return tag_name_en(tag) or None

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, tag):
        return absolute(self.context["request"], reverse("proceedings:tag-detail", [tag.slug]))


class KeptListSerializer(serializers.ListSerializer):
    """Rows, each one's JSON from the fragment cache when this content generation has it.

    A row's JSON depends on the row and what was fetched with it, the language (its pages'
    URLs), the site and the API version, which key it beside the content generation as the
    cards are keyed (``forum_portal.cache.kept_for_rows``). One ``get_many`` a list;
    serializing a list of 50 positions took about 20 ms, of 50 themes with their forums and
    questions 15-20 (bench/README.md). Positions' prefetches, pending when they come from
    ``prefetch_on_demand()``, run only for a list with a position not cached. After an edit,
    a row whose rows did not change is found by their digest. The API is not in the page
    cache (its lists are answered in JSON or HTML for the same URL).
    """

    def to_representation(self, data):
        rows = list(data)
        request = self.context.get("request")
        generation = request_generation(request) if request is not None else None
        if generation is None:
            return super().to_representation(rows)
        name = f"api-{self.child.Meta.model._meta.model_name}"
        rest = (request.version or "", absolute(request, ""))
        stamp = self.context.get("stamp")  # what the view's rows are also kept by, if any
        return kept_for_rows(generation, name, rows, rest, self._serialized, stamp)

    def _serialized(self, rows):
        return [self.child.to_representation(row) for row in rows]


# ---------------------------------------------------------------------------------------------
# Forums and their parts
# ---------------------------------------------------------------------------------------------


class ForumSerializer(ForumSummarySerializer):
    positions_url = ApiURLField("forum-positions", by_slug)

    class Meta:
        model = Forum
        fields = [
            "slug",
            "name",
            "name_en",
            "edition_year",
            "starts_on",
            "ends_on",
            "place",
            "place_en",
            "organisers",
            "organisers_en",
            "description",
            "description_en",
            "published_at",
            "url",
            "api_url",
            "positions_url",
        ]


class ForumDetailSerializer(ForumSerializer):
    sessions = SessionSummarySerializer(many=True, read_only=True)
    questions = QuestionSummarySerializer(many=True, read_only=True)
    themes = ThemeSummarySerializer(many=True, read_only=True, source="public_themes")

    class Meta(ForumSerializer.Meta):
        fields = [*ForumSerializer.Meta.fields, "sessions", "questions", "themes"]


class SessionSerializer(SessionSummarySerializer):
    forum = ForumSummarySerializer(read_only=True)
    source = SourceSummarySerializer(read_only=True, allow_null=True)
    positions_url = ApiURLField("session-positions", by_forum_and_slug)

    class Meta:
        model = Session
        fields = [
            "slug",
            "forum",
            "title",
            "title_en",
            "held_on",
            "description",
            "description_en",
            "order",
            "source",
            "url",
            "api_url",
            "positions_url",
        ]


class QuestionSerializer(QuestionSummarySerializer):
    forum = ForumSummarySerializer(read_only=True)
    themes = ThemeSummarySerializer(many=True, read_only=True, source="public_themes")

    class Meta:
        model = Question
        fields = [
            "slug",
            "forum",
            "title",
            "title_en",
            "summary",
            "summary_en",
            "order",
            "themes",
            "url",
            "api_url",
        ]


class ThemeSerializer(ThemeSummarySerializer):
    forum = ForumSummarySerializer(read_only=True)
    parent = serializers.SerializerMethodField()
    questions = QuestionSummarySerializer(many=True, read_only=True)
    positions_url = ApiURLField("theme-positions", by_forum_and_slug)

    class Meta:
        model = Theme
        list_serializer_class = KeptListSerializer
        fields = [
            "slug",
            "forum",
            "title",
            "title_en",
            "kind",
            "summary",
            "summary_en",
            "parent",
            "questions",
            "order",
            "published_at",
            "url",
            "api_url",
            "positions_url",
        ]

    @extend_schema_field(ThemeSummarySerializer(allow_null=True))
    def get_parent(self, theme):
        """The parent theme when it is public (``parent_visible``, annotated by the view)."""
        if theme.parent_id is None or not theme.parent_visible:
            return None
        return ThemeSummarySerializer(theme.parent, context=self.context).data


# ---------------------------------------------------------------------------------------------
# People and institutions
# ---------------------------------------------------------------------------------------------


class InstitutionSerializer(InstitutionSummarySerializer):
    positions_url = ApiURLField("institution-positions", by_slug)

    class Meta:
        model = Institution
        fields = [
            "slug",
            "name",
            "name_en",
            "short_name",
            "sector",
            "country",
            "city",
            "city_en",
            "website",
            "url",
            "api_url",
            "positions_url",
        ]


class SpeakerLinkSerializer(serializers.ModelSerializer):
    class Meta:
        model = SpeakerLink
        fields = ["label", "url"]


class SpeakerSerializer(SpeakerSummarySerializer):
    photo = serializers.ImageField(read_only=True, use_url=True, allow_null=True)
    links = SpeakerLinkSerializer(many=True, read_only=True)
    positions_url = ApiURLField("speaker-positions", by_slug)

    class Meta:
        model = Speaker
        fields = [
            "slug",
            "name",
            "name_en",
            "sort_name",
            "bio",
            "bio_en",
            "photo",
            "links",
            "published_at",
            "url",
            "api_url",
            "positions_url",
        ]


class RoleSerializer(serializers.ModelSerializer):
    """A person's role and institution at one session, as the source printed them."""

    institution = InstitutionSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = Appearance
        fields = ["capacity", "role", "role_en", "as_printed", "institution"]


class SpeakerRoleSerializer(RoleSerializer):
    forum = ForumSummarySerializer(read_only=True, source="session.forum")
    session = SessionSummarySerializer(read_only=True)

    class Meta(RoleSerializer.Meta):
        fields = ["forum", "session", *RoleSerializer.Meta.fields]


class SpeakerDetailSerializer(SpeakerSerializer):
    roles = SpeakerRoleSerializer(many=True, read_only=True, source="public_roles")

    class Meta(SpeakerSerializer.Meta):
        fields = [*SpeakerSerializer.Meta.fields, "roles"]


# ---------------------------------------------------------------------------------------------
# Positions
# ---------------------------------------------------------------------------------------------


class KeyPhraseSerializer(serializers.Serializer):
    """A phrase the source quotes inside a position: verbatim, with its own locator."""

    text = serializers.CharField(help_text="Exactly as in the position's text and the source.")
    translation = serializers.CharField()
    paragraph = serializers.IntegerField(
        allow_null=True, help_text="The source's paragraph (the position's when not its own)."
    )
    url = serializers.URLField(help_text="The phrase on the position's page (#kp-N).")


class PositionSerializer(serializers.ModelSerializer):
    """A position with its speaker's role and institution at the time, and its source."""

    url = PageURLField()
    api_url = ApiURLField("position-detail", lambda position: {"pk": position.pk})
    speaker = SpeakerSummarySerializer(read_only=True, source="appearance.speaker")
    role = RoleSerializer(read_only=True, source="appearance")
    session = SessionSummarySerializer(read_only=True, source="appearance.session")
    forum = ForumSummarySerializer(read_only=True, source="appearance.session.forum")
    source = SourceSummarySerializer(read_only=True, allow_null=True)
    paragraph_url = serializers.SerializerMethodField()
    themes = ThemeSummarySerializer(many=True, read_only=True, source="listed_themes")
    tags = TagSerializer(many=True, read_only=True, source="listed_tags")
    key_phrases = serializers.SerializerMethodField()

    class Meta:
        model = Position
        list_serializer_class = KeptListSerializer
        fields = [
            "id",
            "ref",
            "text",
            "language",
            "fidelity",
            "attribution",
            "attribution_note",
            "attribution_note_en",
            "key_phrases",
            "translation",
            "translation_language",
            "translation_provenance",
            "translation_reviewed_by",
            "translation_reviewed_on",
            "speaker",
            "role",
            "session",
            "forum",
            "themes",
            "tags",
            "source",
            "paragraph",
            "paragraph_url",
            "published_at",
            "url",
            "api_url",
        ]

    @extend_schema_field(KeyPhraseSerializer(many=True))
    def get_key_phrases(self, position):
        """The phrases quoted inside the text, each with its locator and its place on the page."""
        page = absolute(self.context["request"], position.get_absolute_url())
        return [
            {
                "text": phrase.text,
                "translation": phrase.translation,
                "paragraph": phrase.locator_paragraph,
                "url": f"{page}#kp-{number}",
            }
            for number, phrase in enumerate(position.listed_key_phrases, start=1)
        ]

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_paragraph_url(self, position):
        """The paragraph on the source's page (``#p12``), when the position gives one."""
        if position.source is None or not position.paragraph:
            return None
        path = f"{position.source.get_absolute_url()}#p{position.paragraph}"
        return absolute(self.context["request"], path)


# ---------------------------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------------------------


class FacetValueSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="The value to filter by (the facet's parameter).")
    label = serializers.CharField()
    label_en = serializers.CharField()
    count = serializers.IntegerField(help_text="Matching positions with this value.")
    selected = serializers.BooleanField(help_text="Whether a filter selects this value.")


class ActiveFilterSerializer(serializers.Serializer):
    facet = serializers.CharField()
    value = serializers.CharField()
    label = serializers.CharField()


class SearchHitSerializer(serializers.Serializer):
    position = PositionSerializer()
    snippet = serializers.CharField(
        help_text="HTML: the original text (or its beginning), escaped, matches in <mark>."
    )
    translation_snippet = serializers.CharField(
        allow_null=True, help_text="HTML: the translation when it matches, matches in <mark>."
    )
    score = serializers.FloatField(
        allow_null=True, help_text="Relevance (higher is better) of the newest ranked matches."
    )
    matched_in = serializers.ListField(
        child=serializers.CharField(),
        help_text="The fields the query matched: text, translation, tag, theme, speaker, role, "
        "institution.",
    )


class RecordForumSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    name_en = serializers.CharField()


class RecordSpeakerSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    name_en = serializers.CharField()
    url = serializers.SerializerMethodField()

    def get_url(self, speaker) -> str:
        return absolute(self.context["request"], speaker.get_absolute_url())


class RecordHitSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["passage", "theme", "question", "speaker", "institution", "forum", "session"]
    )
    group = serializers.ChoiceField(
        choices=["passage", "theme", "person", "forum"], help_text="Its kind of result."
    )
    title = serializers.SerializerMethodField(
        help_text="Title or name (a passage: its source document's title)."
    )
    title_en = serializers.SerializerMethodField()
    paragraph = serializers.SerializerMethodField(help_text="A passage's paragraph number (¶N).")
    url = serializers.SerializerMethodField()
    snippet = serializers.SerializerMethodField(
        help_text="HTML: the passage, summary or description, escaped, matches in <mark>."
    )
    matched_in = serializers.ListField(
        child=serializers.CharField(),
        help_text="The fields the query matched: text, title, summary, name, description.",
    )
    speakers = RecordSpeakerSerializer(
        many=True, help_text="A passage: the people whose positions cite it."
    )
    forum = RecordForumSerializer(allow_null=True)
    score = serializers.FloatField(help_text="Relevance within its kind (higher is better).")

    def _title_field(self, hit):
        return "title" if hit.kind == "passage" else hit.title_field

    def get_title(self, hit) -> str:
        return getattr(hit.obj, self._title_field(hit), "")

    def get_title_en(self, hit) -> str:
        return getattr(hit.obj, f"{self._title_field(hit)}_en", "") or ""

    def get_paragraph(self, hit) -> int | None:
        return hit.paragraph or None

    def get_url(self, hit) -> str:
        return self.context["request"].build_absolute_uri(hit.url)

    def get_snippet(self, hit) -> str:
        text = hit.fields.get(hit.text_field or "", "") or ""
        terms = self.context.get("terms", ())
        return str(highlight(text, terms) or excerpt(text)) if text else ""


def _facets_serializer():
    fields = {name: FacetValueSerializer(many=True) for name in FACETS}
    return type("SearchFacetsSerializer", (serializers.Serializer,), fields)


SearchFacetsSerializer = _facets_serializer()


class SearchKindSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["position", "passage", "theme", "person", "forum"])
    count = serializers.IntegerField()
    capped = serializers.BooleanField(help_text="More match than are counted (positions).")


class SearchResponseSerializer(serializers.Serializer):
    query = serializers.CharField(help_text="The query as given.")
    understood_as = serializers.CharField(help_text="The terms searched for, as parsed.")
    sort = serializers.ChoiceField(choices=["relevance", "date"])
    count = serializers.IntegerField(help_text="Matching positions (see count_capped).")
    count_capped = serializers.BooleanField(
        help_text="More positions match than the search pages through: only the newest are "
        "counted, faceted and listed."
    )
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    filters = ActiveFilterSerializer(many=True, help_text="The filters in effect.")
    facets = SearchFacetsSerializer(
        help_text="Per facet, its values among the matches with their counts (each facet is "
        "counted with the query and every other facet's filter)."
    )
    facets_partial = serializers.BooleanField()
    who_says_most = FacetValueSerializer(many=True)
    messages = serializers.ListField(child=serializers.CharField())
    kind = serializers.CharField(allow_null=True, help_text="The kind paged through, if chosen.")
    kinds = SearchKindSerializer(
        many=True, help_text="Every kind of result with its number of matches."
    )
    records = RecordHitSerializer(
        many=True,
        help_text="The best few matches of each kind but positions; with `kind`, its page.",
    )
    results = SearchHitSerializer(many=True)
