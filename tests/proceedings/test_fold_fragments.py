"""
Migration 0016 folds fragment positions (a verbatim phrase that repeats part of another position
of the same role and paragraph) into key phrases of that parent, merges their tags and themes
and redirects their permalinks to the parent's ``#kp-N``.
"""

import importlib

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.redirects.models import Redirect
from django.contrib.sites.models import Site

from proceedings.models import KeyPhrase, Position
from proceedings.search import search
from tests.factories import (
    make_appearance,
    make_forum,
    make_position,
    make_session,
    make_source,
    make_speaker,
    make_theme,
)

pytestmark = pytest.mark.django_db

migration = importlib.import_module("proceedings.migrations.0016_fold_fragment_positions")

PARENT_TEXT = "樊建平提出蝴蝶模型,以科研與產業兩翼推動創新聯合體。"


@pytest.fixture
def family():
    forum = make_forum()
    source = make_source(full_text=f"第一段。\n\n{PARENT_TEXT}")
    session = make_session(forum=forum, source=source)
    appearance = make_appearance(session=session, speaker=make_speaker(name="樊建平"))
    outlook, task = make_theme(forum=forum), make_theme(forum=forum)
    parent = make_position(
        appearance=appearance,
        ref="parent",
        text=PARENT_TEXT,
        translation="Fan proposed a two-wing model.",
        source=source,
        paragraph=2,
        themes=[outlook],
        tags=["新型研發機構"],
    )
    fragment = make_position(
        appearance=appearance,
        ref="fragment",
        text="蝴蝶模型",
        translation="butterfly model",
        fidelity=Position.Fidelity.VERBATIM,
        source=source,
        paragraph=2,
        themes=[task],
        tags=["新型研發機構", "蝴蝶模型"],
        featured=True,
    )
    # Elsewhere (another paragraph): the same words, but no fragment of the parent.
    elsewhere = make_position(
        appearance=appearance,
        ref="elsewhere",
        text="蝴蝶模型",
        fidelity=Position.Fidelity.VERBATIM,
        source=source,
        paragraph=1,
    )
    return {
        "parent": parent,
        "fragment": fragment,
        "elsewhere": elsewhere,
        "themes": (outlook, task),
    }


def test_fold_fragments_makes_the_fragment_a_key_phrase_of_its_parent(client, family):
    parent, fragment = family["parent"], family["fragment"]
    old_pk = fragment.pk
    site = Site.objects.get(pk=settings.SITE_ID)
    # A redirect to the fragment's permalink (an earlier move) must follow it, not chain.
    Redirect.objects.create(
        site=site, old_path="/positions/older/", new_path=f"/positions/{old_pk}/"
    )

    migration.fold_fragments(apps, None)

    assert not Position.objects.filter(pk=old_pk).exists()
    assert Position.objects.filter(ref="elsewhere").exists()
    assert list(
        KeyPhrase.objects.filter(position=parent).values_list("text", "translation", "order")
    ) == [("蝴蝶模型", "butterfly model", 1)]
    parent.refresh_from_db()
    assert sorted(parent.tags.names()) == ["新型研發機構", "蝴蝶模型"]
    assert {theme.pk for theme in parent.themes.all()} == {t.pk for t in family["themes"]}
    assert parent.featured is True

    response = client.get(f"/zh-hant/positions/{old_pk}/")
    assert response.status_code == 301
    assert response["Location"] == f"/zh-hant/positions/{parent.pk}/#kp-1"
    assert Redirect.objects.get(old_path="/positions/older/").new_path == (
        f"/positions/{parent.pk}/#kp-1"
    )


def test_the_folded_phrase_is_searchable_on_its_parent(family):
    migration.fold_fragments(apps, None)

    assert [(hit.position.ref, hit.matched_in) for hit in search("butterfly").hits] == [
        ("parent", ("key_phrase",))
    ]


def test_a_second_fragment_becomes_the_second_key_phrase(client, family):
    parent = family["parent"]
    second = make_position(
        appearance=parent.appearance,
        ref="second",
        text="創新聯合體",
        fidelity=Position.Fidelity.VERBATIM,
        source=parent.source,
        paragraph=2,
    )

    migration.fold_fragments(apps, None)

    assert list(
        KeyPhrase.objects.filter(position=parent).order_by("order").values_list("text", "order")
    ) == [("蝴蝶模型", 1), ("創新聯合體", 2)]
    response = client.get(f"/en/positions/{second.pk}/")
    assert (response.status_code, response["Location"]) == (
        301,
        f"/en/positions/{parent.pk}/#kp-2",
    )


def test_fold_fragments_does_nothing_without_fragments(family):
    family["fragment"].delete()
    before = list(Position.objects.order_by("pk").values_list("ref", flat=True))

    migration.fold_fragments(apps, None)

    assert list(Position.objects.order_by("pk").values_list("ref", flat=True)) == before
    assert not KeyPhrase.objects.exists()
    assert not Redirect.objects.exists()
