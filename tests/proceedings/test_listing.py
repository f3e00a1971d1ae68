"""
``for_listing()``'s rows (proceedings/listing.py): read in five plain statements, the same rows
Django's ``prefetch_related()`` with ``select_related()`` builds, and their digests the same.
"""

import datetime

import pytest
from django.db.models import Prefetch
from taggit.models import Tag, TaggedItem

from forum_portal.cache import content_digest
from proceedings.models import (
    Appearance,
    KeyPhrase,
    Position,
    SourceDocument,
    TagName,
    Theme,
    tag_name_en,
)
from tests.factories import (
    make_appearance,
    make_forum,
    make_institution,
    make_key_phrase,
    make_position,
    make_session,
    make_source,
    make_speaker,
    make_theme,
)

pytestmark = pytest.mark.django_db


def prefetched(positions, themes=None):
    """What for_listing() fetched through the ORM until session 15: the reference."""
    themes = Theme.objects.published() if themes is None else themes
    return positions.prefetch_related(
        Prefetch(
            "appearance",
            queryset=Appearance.objects.select_related("speaker", "institution", "session__forum"),
        ),
        Prefetch("source", queryset=SourceDocument.objects.defer("full_text", "provenance_note")),
        Prefetch("themes", queryset=themes.select_related("forum"), to_attr="listed_themes"),
        Prefetch(
            "tagged_items",
            queryset=TaggedItem.objects.select_related("tag__names").order_by("tag__name"),
            to_attr="listed_tagged_items",
        ),
        Prefetch(
            "key_phrases",
            queryset=KeyPhrase.objects.order_by("order", "pk"),
            to_attr="listed_key_phrases",
        ),
    )


@pytest.fixture
def varied():
    """Four positions with every shape a card meets: sources or none, institutions or none,
    tags with and without English names, phrases out of order, themes of two forums ordered by
    the forums' year, a draft theme and a theme of a draft forum, two positions of one role."""
    old = make_forum(edition_year=2019, name="舊論壇", starts_on=datetime.date(2019, 5, 1))
    new = make_forum(edition_year=2025, name="新論壇")
    hidden = make_forum(published=False)
    source = make_source(full_text="耐心資本要敢於投早投小。\n\n第二段。")
    session = make_session(forum=new, source=source, held_on=datetime.date(2025, 9, 10))
    themes = {
        "old": make_theme(forum=old, title="舊主題", order=1),
        "new-2": make_theme(forum=new, title="新主題二", order=2),
        "new-1": make_theme(forum=new, title="新主題一", order=1),
        "draft": make_theme(forum=new, title="草稿主題", published=False),
        "hidden": make_theme(forum=hidden, title="隱藏論壇的主題"),
    }
    with_institution = make_appearance(
        session=session,
        speaker=make_speaker(name="王戰", aliases=["王战"]),
        institution=make_institution(name="上海社會科學院", aliases=["上海社科院"]),
        as_printed="上海市決策諮詢委員會副主任",
    )
    without = make_appearance(session=session, speaker=make_speaker(name="李娜"))
    first = make_position(
        appearance=with_institution,
        themes=[themes["new-2"], themes["old"], themes["draft"], themes["new-1"]],
        tags=["耐心資本", "產業創新"],
        text="耐心資本要敢於投早投小。",
        fidelity=Position.Fidelity.VERBATIM,
        source=source,
        paragraph=1,
        translation="Patient capital must dare to invest early and small.",
    )
    TagName.objects.create(tag=Tag.objects.get(name="耐心資本"), name_en="Patient capital")
    make_key_phrase(position=first, text="投早投小", order=2)
    make_key_phrase(position=first, text="耐心資本", translation="patient capital", order=1)
    second = make_position(
        appearance=with_institution, themes=[themes["hidden"], themes["new-1"]], order=1
    )
    third = make_position(appearance=without, tags=["產業創新"], order=2)
    fourth = make_position(appearance=without, order=3)
    return themes, [first, second, third, fourth]


def test_the_rows_are_the_ones_prefetching_builds(varied, django_assert_num_queries):
    themes, positions = varied
    ids = [p.pk for p in positions]
    # The positions, then their roles, sources, themes, tagged items and key phrases.
    with django_assert_num_queries(6):
        fast = Position.objects.for_listing().in_bulk(ids)
    reference = prefetched(Position.objects.all()).in_bulk(ids)

    for pk in ids:
        assert content_digest(fast[pk]) == content_digest(reference[pk])
    first, second, third, fourth = (fast[pk] for pk in ids)
    with django_assert_num_queries(0):
        # By the forum's year (newest first), then the theme's order; never a draft theme.
        assert [t.title for t in first.listed_themes] == ["新主題一", "新主題二", "舊主題"]
        assert [t.title for t in second.listed_themes] == ["新主題一"]
        assert first.listed_themes[2].forum.starts_on == datetime.date(2019, 5, 1)
        # By name (in the database's collation), each with its English name when it has one.
        assert sorted((t.name, tag_name_en(t)) for t in first.listed_tags) == [
            ("產業創新", ""),
            ("耐心資本", "Patient capital"),
        ]
        assert [t.name for t in first.listed_tags] == [
            t.name for t in reference[first.pk].listed_tags
        ]
        assert [t.name for t in third.listed_tags] == ["產業創新"]
        assert (fourth.listed_tags, fourth.listed_themes) == ([], [])
        assert [(k.text, k.locator) for k in first.listed_key_phrases] == [
            ("耐心資本", "¶1"),
            ("投早投小", "¶1"),
        ]
        role = first.appearance
        assert role is second.appearance  # one instance for the role's rows, as prefetched
        assert (role.speaker.name, role.speaker.aliases) == ("王戰", ["王战"])
        assert role.institution.aliases == ["上海社科院"]
        assert role.session.held_on == datetime.date(2025, 9, 10)
        assert third.appearance.institution is None
        assert first.source.title == positions[0].source.title
        assert second.source is None
    # Like defer(): the source's full text is read only when asked for.
    with django_assert_num_queries(1):
        assert first.source.full_text.startswith("耐心資本")


def test_the_themes_given_are_the_ones_listed(varied):
    themes, positions = varied
    everyone = Position.objects.for_listing(themes=Theme.objects.all()).in_bulk(
        [positions[0].pk, positions[1].pk]
    )
    reference = prefetched(Position.objects.all(), themes=Theme.objects.all()).in_bulk(
        [positions[0].pk, positions[1].pk]
    )

    # The draft theme's order is 0.
    assert [t.title for t in everyone[positions[0].pk].listed_themes] == [
        "草稿主題",
        "新主題一",
        "新主題二",
        "舊主題",
    ]
    assert [t.title for t in everyone[positions[1].pk].listed_themes] == [
        "新主題一",
        "隱藏論壇的主題",
    ]
    for pk, position in everyone.items():
        assert content_digest(position) == content_digest(reference[pk])


def test_chunks_are_read_a_chunk_at_a_time(varied, django_assert_num_queries):
    _themes, positions = varied
    rows = Position.objects.for_listing().order_by("order").iterator(chunk_size=3)
    # The first chunk of three has a source; the second chunk (one row) has none.
    with django_assert_num_queries(1 + 5):
        first = [next(rows) for _ in range(3)]
    with django_assert_num_queries(4):
        rest = list(rows)
    assert [p.pk for p in first + rest] == [p.pk for p in positions]
    assert [len(p.listed_themes) for p in first + rest] == [3, 1, 0, 0]
    assert rest[0].appearance.speaker.name == "李娜"


def test_values_of_a_listing_are_plain_values(varied, django_assert_num_queries):
    _themes, positions = varied
    with django_assert_num_queries(1):
        refs = list(Position.objects.for_listing().order_by("order").values_list("ref", flat=True))
    assert refs == [p.ref for p in positions]


def test_no_rows_no_queries(django_assert_num_queries):
    with django_assert_num_queries(1):
        assert list(Position.objects.for_listing()) == []
