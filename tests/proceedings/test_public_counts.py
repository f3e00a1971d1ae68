"""
Counting what is public: ``count_published()`` (the home page's count, the API's unfiltered
list) counts the same rows as ``published()``, by another query.
"""

import pytest
from django.urls import reverse

from proceedings.models import Position, Status
from tests.factories import make_appearance, make_forum, make_position, make_session, make_speaker

pytestmark = pytest.mark.django_db


@pytest.fixture
def mixed():
    """Two public positions, and one hidden each way: a draft, a withdrawn one, one of an
    unpublished person (and a draft of theirs), one of an unpublished forum."""
    public_forum, hidden_forum = make_forum(), make_forum(published=False)
    speaker, hidden_speaker = make_speaker(), make_speaker(published=False)
    role = make_appearance(session=make_session(forum=public_forum), speaker=speaker)
    public = [
        make_position(appearance=role, text="公開一", fidelity=Position.Fidelity.SUMMARY),
        make_position(appearance=role, text="公開二"),
    ]
    make_position(appearance=role, text="草稿", published=False)
    withdrawn = make_position(appearance=role, text="撤回")
    Position.objects.filter(pk=withdrawn.pk).update(status=Status.WITHDRAWN)
    hidden_role = make_appearance(session=make_session(forum=public_forum), speaker=hidden_speaker)
    make_position(appearance=hidden_role, text="未公開的人")
    make_position(appearance=hidden_role, text="未公開的人的草稿", published=False)
    make_position(
        appearance=make_appearance(session=make_session(forum=hidden_forum), speaker=speaker),
        text="未公開的論壇",
    )
    return public


def test_the_count_of_public_positions_is_published_count(mixed):
    assert Position.objects.count() == 7
    assert Position.objects.count_published() == Position.objects.published().count() == 2
    summaries = Position.objects.filter(fidelity=Position.Fidelity.SUMMARY)
    assert summaries.count_published() == summaries.published().count() == 1


def test_home_and_the_api_count_only_public_positions(client, mixed):
    home = client.get(reverse("proceedings:home")).context["counts"]["positions"]
    listed = client.get(reverse("api:position-list", kwargs={"version": "v1"})).json()

    assert home == 2
    assert listed["count"] == 2
    assert sorted(item["text"] for item in listed["results"]) == ["公開一", "公開二"]
