"""Key phrases marked and listed, attribution in context, translation notes, curator notes."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import translation
from pytest_django.asserts import assertContains, assertNotContains
from taggit.models import Tag

from proceedings.models import KeyPhrase, Position, TagName
from proceedings.templatetags.keyphrases import mark_phrases
from tests.factories import (
    make_appearance,
    make_forum,
    make_key_phrase,
    make_position,
    make_session,
    make_source,
    make_speaker,
    make_theme,
)

pytestmark = pytest.mark.django_db

SOURCE_TEXT = "開場。\n\n他提出蝴蝶模型,以及A<B & C的說法。\n\n結語。"
TEXT = "他認為應以蝴蝶模型推動A<B & C。"
ENGLISH = "He argued for the Butterfly model, to drive A<B & C."


def url(code, obj):
    with translation.override(code):
        return obj.get_absolute_url()


def article(response, position):
    """The HTML of ``position``'s card on a page."""
    content = response.content.decode()
    start = content.index(f'id="position-{position.pk}"')
    return content[start : content.index("</article>", start)]


@pytest.fixture
def world():
    forum = make_forum(slug="kp-forum")
    source = make_source(slug="kp-report", full_text=SOURCE_TEXT)
    session = make_session(forum=forum, source=source)
    speaker = make_speaker(slug="kp-speaker", name="李明", name_en="Li Ming")
    appearance = make_appearance(
        session=session,
        speaker=speaker,
        role="主任",
        role_en="Director",
        role_note="報告只寫「主任」。",
        role_note_en="The report says only “director”.",
    )
    theme = make_theme(
        forum=forum,
        slug="kp-theme",
        title="蝴蝶主題",
        title_en="Butterflies",
        curator_note="依報告第二段命名。",
        curator_note_en="Named after the report's second paragraph.",
    )
    position = make_position(
        appearance=appearance,
        themes=[theme],
        text=TEXT,
        source=source,
        paragraph=2,
        translation=ENGLISH,
        translation_provenance="MT draft",
    )
    make_key_phrase(position=position, text="蝴蝶模型", translation="butterfly model", order=0)
    make_key_phrase(position=position, text="A<B & C", translation="A<B & C", order=1)
    return {"forum": forum, "theme": theme, "appearance": appearance, "position": position}


# --- the filter ------------------------------------------------------------------------------


def test_mark_phrases_escapes_and_merges_overlapping_and_repeated_phrases():
    assert mark_phrases("<a>蝴蝶模型推動,蝴蝶模型。", ["蝴蝶模型", "模型推動", "<a>"]) == (
        '<mark class="key-phrase">&lt;a&gt;蝴蝶模型推動</mark>,'
        '<mark class="key-phrase">蝴蝶模型</mark>。'
    )
    assert mark_phrases("a & b", []) == "a &amp; b"
    assert mark_phrases("Butterfly", ["butterfly"], ignore_case=True) == (
        '<mark class="key-phrase">Butterfly</mark>'
    )


# --- the permalink and cards -----------------------------------------------------------------


def test_permalink_marks_the_phrases_escaped_and_lists_them_with_locators(client, world):
    position = world["position"]

    response = client.get(url("zh-hant", position))

    assertContains(
        response,
        '<div class="position-page__text" lang="zh-Hant"><p>他認為應以'
        '<mark class="key-phrase">蝴蝶模型</mark>推動'
        '<mark class="key-phrase">A&lt;B &amp; C</mark>。</p></div>',
        count=1,
    )
    assertContains(
        response,
        '<li id="kp-1"><span class="key-phrases__text">蝴蝶模型</span> '
        '<span class="key-phrases__translation" lang="en">butterfly model</span> '
        '<a class="key-phrases__locator" href="/zh-hant/sources/kp-report/#p2">¶2</a>\n',
        count=1,
    )
    assertContains(
        response,
        '<li id="kp-2"><span class="key-phrases__text">A&lt;B &amp; C</span> '
        '<span class="key-phrases__translation" lang="en">A&lt;B &amp; C</span> '
        '<a class="key-phrases__locator" href="/zh-hant/sources/kp-report/#p2">¶2</a>\n',
        count=1,
    )
    # The translation, one click away, marks the phrases' translations.
    assertContains(
        response,
        '<div class="translation__text" lang="en"><p>He argued for the '
        '<mark class="key-phrase">Butterfly model</mark>, to drive '
        '<mark class="key-phrase">A&lt;B &amp; C</mark>.</p></div>',
        count=1,
    )


def test_english_permalink_marks_the_translations_in_the_translation(client, world):
    response = client.get(url("en", world["position"]))

    assertContains(
        response,
        '<div class="position-page__text" lang="en"><p>He argued for the '
        '<mark class="key-phrase">Butterfly model</mark>, to drive '
        '<mark class="key-phrase">A&lt;B &amp; C</mark>.</p></div>',
        count=1,
    )
    # The original, as spoken, marks the phrases themselves.
    assertContains(
        response,
        '<div class="original__text" lang="zh-Hant"><p>他認為應以'
        '<mark class="key-phrase">蝴蝶模型</mark>推動'
        '<mark class="key-phrase">A&lt;B &amp; C</mark>。</p></div>',
        count=1,
    )


def test_simplified_card_marks_the_converted_phrases(client, world):
    response = client.get(url("zh-hans", world["theme"]))

    card = article(response, world["position"])
    assert (
        '<div class="position__text" lang="zh-Hans"><p>他认为应以'
        '<mark class="key-phrase">蝴蝶模型</mark>推动'
        '<mark class="key-phrase">A&lt;B &amp; C</mark>。</p></div>'
    ) in card


@pytest.mark.parametrize(
    ("code", "label", "note"),
    [
        ("zh-hant", "依上下文歸屬", "報告未點名,依前段歸於他。"),
        ("zh-hans", "依上下文归属", "报告未点名,依前段归于他。"),
        ("en", "Attributed in context", "Not named; the previous paragraph is his."),
    ],
)
def test_attribution_in_context_is_labelled(client, world, code, label, note):
    position = world["position"]
    Position.objects.filter(pk=position.pk).update(
        attribution=Position.Attribution.IN_CONTEXT,
        attribution_note="報告未點名,依前段歸於他。",
        attribution_note_en="Not named; the previous paragraph is his.",
    )

    card = article(client.get(url(code, world["theme"])), position)
    page = client.get(url(code, position))

    assert f'<span class="in-context" title="{note}">{label}</span>' in card
    assertContains(
        page,
        f'<p class="attribution__context"><span class="in-context">{label}</span> '
        f'<span class="attribution__note">{note}</span></p>',
        count=1,
    )


def test_explicit_attribution_has_no_label(client, world):
    assertNotContains(client.get(url("en", world["position"])), 'class="in-context"')


def test_english_note_falls_back_to_the_chinese_one(client, world):
    position = world["position"]
    Position.objects.filter(pk=position.pk).update(
        attribution=Position.Attribution.IN_CONTEXT, attribution_note="依前段歸於他。"
    )

    assertContains(
        client.get(url("en", position)),
        '<span class="attribution__note"><span lang="zh-Hant">依前段歸於他。</span></span>',
        count=1,
    )


# --- translation provenance ------------------------------------------------------------------


def test_provenance_is_said_once_and_only_the_unreviewed_card_is_marked(client, world):
    reviewed = [
        make_position(
            appearance=world["appearance"],
            themes=[world["theme"]],
            translation=f"Reviewed {n}.",
            translation_provenance="MT draft",
            translation_reviewed_by="Wang Fang",
            translation_reviewed_on=datetime.date(2026, 1, day),
        )
        for n, day in ((1, 4), (2, 5))
    ]

    response = client.get(url("en", world["theme"]))

    assertContains(response, "Translated by: MT draft", count=1)
    assertContains(response, "Translations reviewed by Wang Fang on Jan. 5, 2026.", count=1)
    assertContains(
        response,
        "1 translation here is a machine-assisted draft not yet reviewed, marked "
        "“Unreviewed translation”.",
        count=1,
    )
    assertContains(response, '<span class="unreviewed"', count=1)
    assert '<span class="unreviewed"' in article(response, world["position"])
    assert all('class="unreviewed"' not in article(response, p) for p in reviewed)


# --- notes -----------------------------------------------------------------------------------


def test_curator_note_on_the_theme_page_in_the_readers_language(client, world):
    english = client.get(url("en", world["theme"]))
    chinese = client.get(url("zh-hant", world["theme"]))

    assertContains(
        english,
        '<h2 id="curator-note-heading" class="curator-note__title">Curator\'s note</h2>',
        count=1,
    )
    assertContains(english, "<p>Named after the report&#x27;s second paragraph.</p>", count=1)
    assertContains(chinese, "<p>依報告第二段命名。</p>", count=1)


def test_role_note_on_the_speaker_page_and_the_permalink(client, world):
    speaker = world["appearance"].speaker
    english = client.get(url("en", speaker))
    permalink = client.get(url("zh-hant", world["position"]))

    assertContains(
        english, '<span class="role__note">The report says only “director”.</span>', count=1
    )
    assertContains(permalink, '<p class="attribution__role-note">報告只寫「主任」。</p>', count=1)


def test_provenance_note_on_the_source_page(client, world):
    source = world["position"].source
    source.provenance_note = "網易號轉載;聯絡:編輯部。"
    source.save()

    response = client.get(url("zh-hant", source))

    assertContains(response, "<p>網易號轉載;聯絡:編輯部。</p>", count=1)


# --- English tag names -----------------------------------------------------------------------


def test_tag_chips_and_tag_page_in_english_and_chinese(client, world):
    position = world["position"]
    position.tags.add("蝴蝶", "模型")
    TagName.objects.create(tag=Tag.objects.get(name="蝴蝶"), name_en="Butterflies")
    slug = Tag.objects.get(name="蝴蝶").slug
    with translation.override("en"):
        english_url = reverse("proceedings:tag-detail", args=[slug])
    with translation.override("zh-hant"):
        chinese_url = reverse("proceedings:tag-detail", args=[slug])

    english = client.get(url("en", world["theme"]))
    chinese = client.get(url("zh-hant", world["theme"]))
    with translation.override("en"):
        tag_page = client.get(english_url)

    card = article(english, position)
    assert f'<a href="{english_url}">Butterflies</a>' in card
    # A tag without an English name stays in Chinese, marked as such.
    assert '<span lang="zh-Hant">模型</span>' in card
    assert f'<a href="{chinese_url}">蝴蝶</a>' in article(chinese, position)
    assertContains(tag_page, "<title>Tag: Butterflies · ", count=1)
    assertContains(tag_page, "<h1>Butterflies</h1>", count=1)


# --- admin -----------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.org", "pw")
    client.force_login(user)
    return client


def change_form_data(client, position):
    url = reverse("admin:proceedings_position_change", args=[position.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(themes=[t.pk for t in position.themes.all()], tags="")
    data.update(
        {
            "key_phrases-TOTAL_FORMS": "1",
            "key_phrases-INITIAL_FORMS": "0",
            "key_phrases-MIN_NUM_FORMS": "0",
            "key_phrases-MAX_NUM_FORMS": "1000",
        }
    )
    return url, data


@pytest.fixture
def draft():
    forum = make_forum()
    source = make_source(full_text=SOURCE_TEXT)
    session = make_session(forum=forum, source=source)
    appearance = make_appearance(session=session, speaker=make_speaker())
    return make_position(
        appearance=appearance, text=TEXT, source=source, paragraph=2, published=False
    )


def test_admin_adds_a_key_phrase_to_a_draft(admin_client, draft):
    position = draft
    url, data = change_form_data(admin_client, position)
    data.update(
        {
            "key_phrases-0-text": "蝴蝶模型",
            "key_phrases-0-translation": "butterfly model",
            "key_phrases-0-paragraph": "",
            "key_phrases-0-order": "0",
        }
    )

    response = admin_client.post(url, data)

    assert response.status_code == 302
    assert list(position.key_phrases.values_list("text", "translation", "paragraph")) == [
        ("蝴蝶模型", "butterfly model", None)
    ]


def test_admin_refuses_a_phrase_not_in_the_text_and_saves_nothing(admin_client, draft):
    position = draft
    url, data = change_form_data(admin_client, position)
    data.update(
        {
            "translation": "changed",
            "key_phrases-0-text": "貓頭鷹",
            "key_phrases-0-translation": "owl",
            "key_phrases-0-paragraph": "",
            "key_phrases-0-order": "0",
        }
    )

    response = admin_client.post(url, data, headers={"accept-language": "en"})

    assert response.status_code == 200
    [formset] = [f.formset for f in response.context["inline_admin_formsets"]]
    assert formset.errors == [
        {"text": ["A key phrase must occur exactly in its position's text; “貓頭鷹” does not."]}
    ]
    assert KeyPhrase.objects.count() == 0
    position.refresh_from_db()
    assert position.translation == ""


def test_editors_may_not_change_a_published_positions_phrases(client, django_user_model, world):
    editor = django_user_model.objects.create_user("ed", password="pw", is_staff=True)
    editor.groups.add(Group.objects.get(name="Editors"))
    client.force_login(editor)
    url = reverse("admin:proceedings_position_change", args=[world["position"].pk])

    response = client.get(url)

    [inline] = response.context["inline_admin_formsets"]
    assert (inline.has_add_permission, inline.has_change_permission) == (False, False)


def test_tag_admin_edits_the_english_name(admin_client):
    tag = Tag.objects.create(name="蝴蝶", slug="hu-die")
    url = reverse("admin:taggit_tag_change", args=[tag.pk])

    response = admin_client.post(
        url,
        {
            "name": "蝴蝶",
            "slug": "hu-die",
            "names-TOTAL_FORMS": "1",
            "names-INITIAL_FORMS": "0",
            "names-MIN_NUM_FORMS": "0",
            "names-MAX_NUM_FORMS": "1",
            "names-0-name_en": "Butterflies",
            "taggit-taggeditem-content_type-object_id-TOTAL_FORMS": "0",
            "taggit-taggeditem-content_type-object_id-INITIAL_FORMS": "0",
            "taggit_taggeditem_items-TOTAL_FORMS": "0",
            "taggit_taggeditem_items-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.context and [
        f.formset.errors for f in response.context["inline_admin_formsets"]
    ]
    assert TagName.objects.get(tag=tag).name_en == "Butterflies"


def test_permalink_offers_each_key_phrase_as_its_own_citation(client, world):
    position = world["position"]

    response = client.get(url("en", position))

    content = response.content.decode()
    first = content[content.index('<li id="kp-1">') : content.index('<li id="kp-2">')]
    second = content[
        content.index('<li id="kp-2">') : content.index("</ol>", content.index("kp-2"))
    ]
    permalink = "http://testserver" + url("en", position)
    assert "<summary>Cite this phrase</summary>" in first
    assert '<i lang="zh-Hant">蝴蝶模型</i> [Butterfly model] [Speech]' in first
    assert f"{permalink}#kp-1" in first
    # Escaped for HTML like every citation, with its own anchor.
    assert "<i>A&lt;B &amp; C</i> [A&lt;B &amp; C] [Speech]" in second
    assert f"{permalink}#kp-2" in second
