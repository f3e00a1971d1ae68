"""
A position's card and a search hit, built in Python (proceedings/templatetags/cards.py, hits.py):
every value they show is escaped for HTML, in every language, as the templates did.
"""

import re

import pytest
from django.template.base import Variable, VariableDoesNotExist
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy

from proceedings.models import Position
from proceedings.templatetags.hits import _html
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

HOSTILE = re.compile(r"<(?:script|b|i|u|em|s)>|\" onmouseover")


@pytest.fixture
def hostile():
    """A position whose every curated value is markup, on two themes, with a tag and a source."""
    forum = make_forum(name="<b>論壇</b>", name_en="<b>Forum</b>")
    source = make_source(title="<i>報告</i>", full_text="<s>融合創新</s>\n\n第二段")
    session = make_session(forum=forum, source=source)
    theme = make_theme(forum=forum, title="<i>主題</i>", title_en="<i>Theme</i>")
    other = make_theme(forum=forum, title="<u>另一主題</u>", title_en="<u>Other</u>")
    speaker = make_speaker(name="<script>王戰</script>", name_en="<b>Wang</b>")
    appearance = make_appearance(
        session=session,
        speaker=speaker,
        institution=make_institution(name="<u>機構</u>", name_en="<u>Institute</u>"),
        as_printed="<em>機構</em>主席",
        role_en="<em>Chair</em>",
    )
    position = make_position(
        appearance=appearance,
        themes=[theme, other],
        tags=["<u>標籤</u>"],
        text="<script>alert('說')</script>融合創新",
        translation="<b>Integrated</b> innovation",
        translation_language="en",
        attribution=Position.Attribution.IN_CONTEXT,
        attribution_note='" onmouseover="alert(1)',
        source=source,
        paragraph=1,
    )
    make_key_phrase(position=position, text="融合創新", translation="innovation")
    return theme, position


@pytest.mark.parametrize("code", ["zh-hant", "zh-hans", "en"])
def test_a_card_escapes_every_value(code, hostile):
    theme, position = hostile
    with translation.override(code):
        html = Client().get(theme.get_absolute_url()).content.decode()
        source_url = position.source.get_absolute_url()
    card = re.search(rf'<article[^>]* id="position-{position.pk}".*?</article>', html, re.S)[0]

    assert HOSTILE.findall(card) == []
    assert 'title="&quot; onmouseover=&quot;alert(1)"' in card
    assert "&lt;u&gt;" in card  # the other theme ("Also under") and the tag
    assert '<mark class="key-phrase">' in card
    if code == "en":
        assert "&lt;b&gt;Integrated&lt;/b&gt;" in card  # the translation is the text shown
        assert "&lt;b&gt;Wang&lt;/b&gt;" in card
    else:
        assert "&lt;script&gt;alert(&#x27;" in card
        assert "&lt;b&gt;Integrated&lt;/b&gt;" in card  # one click away
    assert f'href="{source_url}#p1"' in card


@pytest.mark.parametrize("code", ["zh-hant", "zh-hans", "en"])
def test_a_search_hit_escapes_every_value(code, hostile):
    _theme, position = hostile
    with translation.override(code):
        html = Client().get(reverse("proceedings:search"), {"q": "alert"}).content.decode()
        url = position.get_absolute_url()
    hits = re.findall(r'<article class="position search-hit.*?</article>', html, re.S)

    assert len(hits) == 1
    assert HOSTILE.findall(hits[0]) == []
    assert "&lt;i&gt;" in hits[0]  # the theme's title
    assert f'href="{url}"' in hits[0]


@pytest.mark.parametrize("code", ["zh-hant", "zh-hans", "en"])
def test_a_search_pages_facets_escape_every_value(code, hostile):
    _theme, position = hostile
    with translation.override(code):
        html = (
            Client()
            .get(reverse("proceedings:search"), {"q": "alert", "tag": "<u>標籤</u>"})
            .content.decode()
        )
    facets = html[html.index('class="facet__values"') :]
    items = re.findall(r"<li[^>]*><a .*?</a> <span class=\"count\">\d+</span></li>", facets, re.S)
    values = [re.match(r'<li[^>]*><a href="([^"]*)"', item)[1] for item in items]
    selected = [item for item in items if 'class="is-selected"' in item]

    # The position's two themes, its speaker, institution, sector, forum, tag, language and
    # fidelity: one value each.
    assert len(values) == 9
    assert HOSTILE.findall("".join(items)) == []
    assert all(re.search(r"&(?!amp;)", href) is None for href in values)
    assert values[0].startswith("?q=alert&amp;theme=")
    assert values[0].endswith("&amp;tag=%3Cu%3E%E6%A8%99%E7%B1%A4%3C%2Fu%3E")  # kept
    assert len(selected) == 1
    assert re.search("&lt;u&gt;(標籤|标签)&lt;/u&gt;(</span>)?</a>", selected[0])
    assert '<a href="?q=alert" aria-current="true"' in selected[0]  # removes it
    assert 'href="?q=alert"' in selected[0]  # removing it


def test_a_cards_options_are_read_without_failed_lookups(hostile, monkeypatch):
    """A card's options a page leaves out (three a card on a theme's page) are read without
    the exceptions of a failed template lookup; the ones it gives still key and shape it."""
    theme, position = hostile
    failed = []
    lookup = Variable._resolve_lookup

    def recording(self, context):
        try:
            return lookup(self, context)
        except VariableDoesNotExist:
            failed.append(self.var)
            raise

    monkeypatch.setattr(Variable, "_resolve_lookup", recording)
    theme_page = Client().get(theme.get_absolute_url()).content.decode()
    speaker_page = Client().get(position.appearance.speaker.get_absolute_url()).content.decode()

    options = {"hide_speaker", "hide_themes", "current_theme", "id_suffix"}
    assert options.intersection(failed) == set()
    # On the theme's page the card names the other theme only; on the speaker's, one card a
    # theme, each with the theme's slug in its id and without the speaker.
    card = re.search(rf'<article[^>]* id="position-{position.pk}".*?</article>', theme_page, re.S)
    assert "&lt;u&gt;另一主題&lt;/u&gt;" in card[0]
    assert "&lt;i&gt;主題&lt;/i&gt;" not in card[0]
    ids = re.findall(rf'<article[^>]* id="(position-{position.pk}[^"]*)"', speaker_page)
    assert sorted(ids) == sorted(f"position-{position.pk}-{t.slug}" for t in position.themes.all())


@pytest.mark.parametrize(
    "value",
    ['" onmouseover="x', "<script>說</script>", SafeString("<mark>融合</mark>"), 42, None,
     gettext_lazy("Themes"), "a & b"],
)  # fmt: skip
def test_a_hits_markup_escapes_as_format_html_does(value):
    template = '<a title="{value}">{value}</a>'
    assert _html(template, value=value) == format_html(template, value=value)
    assert type(_html(template, value=value)) is SafeString
