"""Feeds, the sitemap and citation downloads under the page cache: cached for anonymous
readers, and gone from the next response once the position is withdrawn."""

import pytest
from django.contrib.sites.models import Site
from django.urls import reverse

from proceedings import sitemaps
from proceedings.models import Status
from proceedings.workflow import transition
from tests.factories import (
    make_appearance,
    make_forum,
    make_position,
    make_question,
    make_session,
    make_speaker,
    make_theme,
)

pytestmark = pytest.mark.django_db

QUOTE = "科技金融要陪伴企業成長"


@pytest.fixture
def position(django_capture_on_commit_callbacks):
    Site.objects.get_current()
    with django_capture_on_commit_callbacks(execute=True):
        forum = make_forum(published=True)
        theme = make_theme(forum=forum, questions=[make_question(forum=forum)])
        appearance = make_appearance(session=make_session(forum=forum), speaker=make_speaker())
        return make_position(appearance=appearance, themes=[theme], text=QUOTE)


def reuse_urls(position):
    return [
        reverse("proceedings:feed-latest", args=["atom"]),
        reverse("proceedings:feed-latest", args=["rss"]),
        reverse("proceedings:search-feed", args=["atom"]) + "?q=" + QUOTE,
        # The page of the range of ids the position is in.
        reverse("sitemap-section", args=["positions"])
        + f"?p={(position.pk - 1) // sitemaps.ITEMS_PER_PAGE + 1}",
        reverse("proceedings:position-citation", args=[position.pk, "bib"]),
    ]


def fetch(client, url, text):
    response = client.get(url)
    return response.status_code, response.get("X-Page-Cache"), text in response.content.decode()


def test_new_views_are_cached_then_forget_a_withdrawn_position(
    client, page_cache, position, django_capture_on_commit_callbacks
):
    urls = reuse_urls(position)
    # Each names the position by its permalink (a search feed's title repeats the query).
    permalink = position.get_absolute_url()

    first = [fetch(client, url, permalink) for url in urls]
    second = [fetch(client, url, permalink) for url in urls]
    with django_capture_on_commit_callbacks(execute=True):
        transition(objects=[position], to=Status.WITHDRAWN)
    after = [fetch(client, url, permalink) for url in urls]

    assert first == [(200, "miss", True)] * 5
    assert second == [(200, "hit", True)] * 5
    assert after == [(200, "miss", False)] * 4 + [(410, "pass", False)]
