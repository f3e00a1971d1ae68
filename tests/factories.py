"""
Small keyword-only builders for tests: ``make_forum(published=True)``, ``make_position(...)``.

Each one creates exactly the row it names, with unique slugs and sensible defaults; parents are
always passed in (``make_session(forum=forum)``), so nothing else is created behind a test's back.
"""

from itertools import count
from types import SimpleNamespace

from django.utils import timezone

from proceedings.models import (
    Appearance,
    Forum,
    KeyPhrase,
    Position,
    Question,
    Session,
    SourceDocument,
    Status,
    Theme,
)
from speakers.models import Institution, Sector, Speaker, SpeakerLink

_numbers = count(1)


def _next():
    return next(_numbers)


def _status(published):
    return Status.PUBLISHED if published else Status.DRAFT


def make_forum(*, published=True, slug=None, name=None, edition_year=2025, **fields):
    n = _next()
    return Forum.objects.create(
        slug=slug or f"forum-{n}",
        name=name or f"論壇{n}",
        name_en=fields.pop("name_en", f"Forum {n}"),
        edition_year=edition_year,
        status=_status(published),
        published_at=timezone.now() if published else None,
        **fields,
    )


def make_source(*, slug=None, title=None, full_text="第一段。\n\n第二段。", **fields):
    n = _next()
    return SourceDocument.objects.create(
        slug=slug or f"source-{n}",
        title=title or f"報告{n}",
        language=fields.pop("language", "zh-Hant"),
        full_text=full_text,
        **fields,
    )


def make_session(*, forum, slug=None, title=None, source=None, order=0, **fields):
    n = _next()
    return Session.objects.create(
        forum=forum,
        slug=slug or f"session-{n}",
        title=title or f"分論壇{n}",
        source=source,
        order=order,
        **fields,
    )


def make_question(*, forum, slug=None, title=None, order=0, **fields):
    n = _next()
    return Question.objects.create(
        forum=forum, slug=slug or f"question-{n}", title=title or f"問題{n}", order=order, **fields
    )


def make_theme(*, forum, questions=(), slug=None, title=None, order=0, published=True, **fields):
    n = _next()
    theme = Theme.objects.create(
        forum=forum,
        slug=slug or f"theme-{n}",
        title=title or f"主題{n}",
        order=order,
        status=_status(published),
        **fields,
    )
    theme.questions.set(questions)
    return theme


def make_institution(*, slug=None, name=None, sector=Sector.RESEARCH, **fields):
    n = _next()
    return Institution.objects.create(
        slug=slug or f"institution-{n}",
        name=name or f"機構{n}",
        name_en=fields.pop("name_en", f"Institution {n}"),
        sector=sector,
        **fields,
    )


def make_speaker(*, slug=None, name=None, name_en=None, published=True, **fields):
    n = _next()
    name_en = name_en or f"Speaker {n}"
    return Speaker.objects.create(
        slug=slug or f"speaker-{n}",
        name=name or f"發言人{n}",
        name_en=name_en,
        sort_name=fields.pop("sort_name", name_en),
        status=_status(published),
        **fields,
    )


def make_speaker_link(*, speaker, label="Homepage", url="https://example.org/", order=0):
    return SpeakerLink.objects.create(speaker=speaker, label=label, url=url, order=order)


def make_appearance(
    *,
    session,
    speaker,
    institution=None,
    capacity=Appearance.Capacity.SPEAKER,
    role="主任",
    as_printed="",
    order=0,
    **fields,
):
    return Appearance.objects.create(
        session=session,
        speaker=speaker,
        institution=institution,
        capacity=capacity,
        role=role,
        as_printed=as_printed,
        order=order,
        **fields,
    )


def make_position(
    *,
    appearance,
    themes=(),
    tags=(),
    published=True,
    text=None,
    fidelity=Position.Fidelity.PARAPHRASE,
    order=0,
    **fields,
):
    n = _next()
    position = Position.objects.create(
        ref=fields.pop("ref", f"position-{n}"),
        appearance=appearance,
        text=text or f"觀點{n}:企業應成為創新主體。",
        fidelity=fidelity,
        status=_status(published),
        published_at=timezone.now() if published else None,
        order=order,
        **fields,
    )
    position.themes.set(themes)
    if tags:
        position.tags.add(*tags)
    return position


def make_key_phrase(*, position, text, translation="", paragraph=None, order=0):
    """A key phrase of ``position``, checked as the admin checks it (``text`` must occur)."""
    phrase = KeyPhrase(
        position=position, text=text, translation=translation, paragraph=paragraph, order=order
    )
    phrase.full_clean()
    phrase.save()
    return phrase


def make_corpus(item_count):
    """Build a published forum with ``item_count`` speakers, each with one tagged position."""
    forum = make_forum()
    source = make_source(full_text="\n\n".join(f"第{n}段。" for n in range(1, 6)))
    session = make_session(forum=forum, source=source)
    question = make_question(forum=forum)
    theme = make_theme(forum=forum, questions=[question])
    rapporteur = make_speaker()
    make_appearance(
        session=session,
        speaker=rapporteur,
        institution=make_institution(),
        capacity=Appearance.Capacity.RAPPORTEUR,
    )
    sectors = list(Sector)
    positions, speakers, institutions = [], [], []
    for n in range(item_count):
        institution = make_institution(sector=sectors[n])
        speaker = make_speaker()
        make_speaker_link(speaker=speaker)
        appearance = make_appearance(session=session, speaker=speaker, institution=institution)
        positions.append(
            make_position(
                appearance=appearance,
                themes=[theme],
                tags=["共同標籤", f"標籤{n}"],
                source=source,
                paragraph=n + 1,
                featured=True,
                order=n,
            )
        )
        speakers.append(speaker)
        institutions.append(institution)
    return SimpleNamespace(
        forum=forum,
        session=session,
        question=question,
        theme=theme,
        source=source,
        positions=positions,
        speakers=speakers,
        institutions=institutions,
    )
