"""
Schema.org structured data (JSON-LD) for forums, sessions, speakers and positions.

Each builder returns a plain dict from rows the page has already fetched (no queries of its own)
and absolute URLs (``forum_portal.site.absolute_url``); ``json_ld_script`` serialises one
safely for a ``<script type="application/ld+json">`` element.

- A forum and a session are each an **Event** (``superEvent``/``subEvent`` link them), with
  dates, place and organisers.
- A speaker is a **Person** with ``jobTitle`` and ``affiliation`` as of their latest role: a
  role belongs to a time (the session), never to the person for good.
- A position is a **Quotation**: its ``creator`` is the Person with the role they had when they
  said it, ``isBasedOn`` the report it is curated from, ``workTranslation`` its English
  translation (which points back with ``translationOfWork``), ``about`` its themes.
"""

import json
import re

from django.utils import timezone
from django.utils.safestring import mark_safe

from forum_portal.site import absolute_url

CONTEXT = "https://schema.org"

# Inside <script>, "</script>" or "<!--" in a string would end or confuse the element: write
# the characters HTML treats specially as JSON escapes, which parse back to the same text.
_SCRIPT_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


def json_ld_script(data):
    """Return ``data`` as a ``<script type="application/ld+json">`` element (safe HTML)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    return mark_safe(  # noqa: S308 - JSON with <, > and & escaped cannot leave the element
        f'<script type="application/ld+json">{text.translate(_SCRIPT_ESCAPES)}</script>'
    )


def _clean(data):
    """Drop keys whose value is empty, so no property claims an unknown value."""
    return {key: value for key, value in data.items() if value not in ("", None, [], {})}


def _names(text):
    """Split a list of organisers ("科學技術部、上海市人民政府" or "A; B") into names."""
    return [name.strip() for name in re.split(r"[、;；\n]", text or "") if name.strip()]


def organisers(forum):
    """Return the forum's organisers as Organizations, English names as ``alternateName``."""
    names, names_en = _names(forum.organisers), _names(forum.organisers_en)
    if len(names_en) != len(names):
        names_en = [""] * len(names)
    return [
        _clean({"@type": "Organization", "name": name, "alternateName": name_en})
        for name, name_en in zip(names, names_en, strict=True)
    ]


def _place(forum):
    if not (forum.place or forum.place_en):
        return None
    return _clean(
        {"@type": "Place", "name": forum.place or forum.place_en, "alternateName": forum.place_en}
    )


def _session_dates(session):
    forum = session.forum
    if session.held_on:
        return session.held_on, session.held_on
    return forum.starts_on, forum.ends_on


def _iso(day):
    return day.isoformat() if day else None


def event_ref(obj, request, dates=None):
    """Return a short Event (name, url, dates) to link from another Event."""
    starts, ends = dates or (None, None)
    return _clean(
        {
            "@type": "Event",
            "@id": absolute_url(obj.get_absolute_url(), request),
            "name": getattr(obj, "name", None) or obj.title,
            "url": absolute_url(obj.get_absolute_url(), request),
            "startDate": _iso(starts),
            "endDate": _iso(ends),
        }
    )


def forum_event(forum, sessions, request):
    """Return the Event of ``forum``, with its ``sessions`` as sub-events."""
    url = absolute_url(forum.get_absolute_url(), request)
    return _clean(
        {
            "@context": CONTEXT,
            "@type": "Event",
            "@id": url,
            "name": forum.name,
            "alternateName": forum.name_en,
            "description": forum.description,
            "url": url,
            "startDate": _iso(forum.starts_on),
            "endDate": _iso(forum.ends_on),
            "location": _place(forum),
            "organizer": organisers(forum),
            "subEvent": [event_ref(s, request, _session_dates(s)) for s in sessions],
        }
    )


def session_event(session, request):
    """Return the Event of ``session`` (its forum joined), part of its forum's Event."""
    forum = session.forum
    url = absolute_url(session.get_absolute_url(), request)
    starts, ends = _session_dates(session)
    return _clean(
        {
            "@context": CONTEXT,
            "@type": "Event",
            "@id": url,
            "name": session.title,
            "alternateName": session.title_en,
            "description": session.description,
            "url": url,
            "startDate": _iso(starts),
            "endDate": _iso(ends),
            "location": _place(forum),
            "organizer": organisers(forum),
            "superEvent": event_ref(forum, request, (forum.starts_on, forum.ends_on)),
        }
    )


def organization(institution, request):
    if institution is None:
        return None
    return _clean(
        {
            "@type": "Organization",
            "@id": absolute_url(institution.get_absolute_url(), request),
            "name": institution.name,
            "alternateName": institution.name_en if institution.name_en != institution.name else "",
            "url": absolute_url(institution.get_absolute_url(), request),
        }
    )


def person(speaker, appearance, request, *, context=True):
    """Return the Person ``speaker``, with the job title and affiliation of ``appearance``.

    ``appearance`` is the role at the time that matters: of the quote, or the latest one on the
    speaker's page (None: no role is stated).
    """
    url = absolute_url(speaker.get_absolute_url(), request)
    data = {
        "@type": "Person",
        "@id": url,
        "name": speaker.name,
        "alternateName": speaker.name_en if speaker.name_en != speaker.name else "",
        "url": url,
    }
    if appearance is not None:
        data["jobTitle"] = appearance.role or appearance.as_printed
        data["affiliation"] = organization(appearance.institution, request)
    if context:
        data = {"@context": CONTEXT, **data}
    return _clean(data)


def quotation(position, request):
    """Return the Quotation ``position`` (joined and prefetched as ``for_listing()`` does)."""
    appearance = position.appearance
    url = absolute_url(position.get_absolute_url(), request)
    source = position.source
    based_on = None
    if source is not None:
        anchor = f"#p{position.paragraph}" if position.paragraph else ""
        based_on = _clean(
            {
                "@type": "Report",
                "name": source.title,
                "alternateName": source.title_en,
                "author": {"@type": "Person", "name": source.author} if source.author else None,
                "publisher": {"@type": "Organization", "name": source.publisher}
                if source.publisher
                else None,
                "inLanguage": source.language,
                "url": absolute_url(source.get_absolute_url(), request) + anchor,
                "sameAs": source.url,
            }
        )
    translation = None
    if position.translation:
        translation = {
            "@type": "Quotation",
            "text": position.translation,
            "inLanguage": position.translation_language,
            "translationOfWork": {"@id": url},
        }
    published = position.published_at
    session = appearance.session
    return _clean(
        {
            "@context": CONTEXT,
            "@type": "Quotation",
            "@id": url,
            "url": url,
            "text": position.text,
            "inLanguage": position.language,
            "creator": person(appearance.speaker, appearance, request, context=False),
            # When and where it was said: the session (its day, else the forum's days).
            # datePublished below is when the portal published it.
            "dateCreated": _iso(session.held_on),
            "recordedAt": event_ref(session, request, _session_dates(session)),
            "isBasedOn": based_on,
            "workTranslation": translation,
            "datePublished": timezone.localtime(published).isoformat(timespec="seconds")
            if published
            else None,
            "about": [
                {
                    "@type": "Thing",
                    "name": theme.title,
                    "url": absolute_url(theme.get_absolute_url(), request),
                }
                for theme in position.listed_themes
            ],
        }
    )
