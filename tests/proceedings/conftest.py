"""Fixtures of the API and download tests."""

import pytest

from proceedings.models import Position, Status
from tests.factories import (
    make_appearance,
    make_forum,
    make_institution,
    make_position,
    make_session,
    make_speaker,
    make_theme,
)


@pytest.fixture
def hidden(pujiang):
    """Unpublished things beside the Pujiang data, each named with a marker string."""
    forum = pujiang
    session = forum.sessions.get()
    published_speaker = make_speaker(slug="visible-person", name="看得見")
    hidden_speaker = make_speaker(slug="hidden-person", name="隱藏者", published=False)
    hidden_institution = make_institution(slug="hidden-institute", name="隱藏研究所")
    draft_theme = make_theme(forum=forum, slug="hidden-theme", title="隱藏主題", published=False)
    shown_role = make_appearance(session=session, speaker=published_speaker)
    hidden_role = make_appearance(
        session=session, speaker=hidden_speaker, institution=hidden_institution
    )
    make_position(appearance=shown_role, text="草稿觀點HIDDEN1", published=False, ref="hidden-1")
    withdrawn = make_position(
        appearance=shown_role, text="撤回觀點HIDDEN2", ref="hidden-2", themes=[draft_theme]
    )
    Position.objects.filter(pk=withdrawn.pk).update(status=Status.WITHDRAWN)
    make_position(appearance=hidden_role, text="未發布者觀點HIDDEN3", ref="hidden-3")
    visible = make_position(
        appearance=shown_role, text="公開觀點VISIBLE", ref="visible-1", themes=[draft_theme]
    )
    draft_forum = make_forum(slug="hidden-forum", name="隱藏論壇", published=False)
    draft_session = make_session(forum=draft_forum, slug="hidden-session")
    make_position(
        appearance=make_appearance(session=draft_session, speaker=published_speaker),
        text="草稿論壇觀點HIDDEN4",
        ref="hidden-4",
    )
    return visible


HIDDEN_MARKERS = [
    "HIDDEN",
    "hidden-1",
    "hidden-person",
    "隱藏者",
    "hidden-institute",
    "隱藏研究所",
    "hidden-theme",
    "隱藏主題",
    "hidden-forum",
    "隱藏論壇",
]
