"""
Slug changes never break a published URL: ``record_slug_change`` adds permanent redirects, with
no chains and no loops, and ``SlugRedirectAdminMixin`` calls it when the admin saves a new slug.

Redirect rows hold language-neutral paths (``neutral()``: ``/forums/…`` without ``/zh-hant/``),
which serve every language prefix (tests/proceedings/test_languages.py); the pages are requested
at their real, prefixed URLs.
"""

import pytest
from django.contrib import admin
from django.contrib.redirects.models import Redirect
from django.test import RequestFactory
from django.urls import reverse

from proceedings.models import Forum, Position, Theme
from proceedings.redirects import SlugRedirectAdminMixin, neutral_path, record_slug_change
from speakers.models import Speaker

pytestmark = pytest.mark.django_db

FORUM = "pujiang-2025"


def theme_url(slug, forum=FORUM):
    return reverse("proceedings:theme-detail", args=[forum, slug])


def neutral(url):
    """Return the path a redirect row holds for the page at ``url``."""
    return neutral_path(url)


THEME_SLUG = "enterprises-as-first-actor"


def redirects():
    return sorted(Redirect.objects.values_list("old_path", "new_path"))


def rename(obj, slug):
    """Save ``obj`` under ``slug`` and record the change; return its old URL."""
    old_url = obj.get_absolute_url()
    obj.slug = slug
    obj.save()
    record_slug_change(obj=obj, old_url=old_url)
    return old_url


def test_theme_slug_change_redirects_the_old_url_permanently(client, pujiang):
    theme = Theme.objects.get(forum=pujiang, slug="enterprises-as-first-actor")

    rename(theme, "enterprises-first")
    old = client.get(theme_url(THEME_SLUG))
    new = client.get(old["Location"])

    assert redirects() == [
        (neutral(theme_url(THEME_SLUG)), neutral(theme_url("enterprises-first")))
    ]
    assert (old.status_code, old["Location"]) == (301, theme_url("enterprises-first"))
    assert new.status_code == 200
    assert new.context["theme"] == theme


def test_speaker_slug_change_redirects_the_old_url_permanently(client, pujiang):
    speaker = Speaker.objects.get(slug="liu-dongmei")

    old_url = speaker.get_absolute_url()
    rename(speaker, "liu-dongmei-casted")
    old = client.get(old_url)
    new = client.get(old["Location"])

    assert redirects() == [(neutral(old_url), neutral(speaker.get_absolute_url()))]
    assert (old.status_code, old["Location"]) == (301, speaker.get_absolute_url())
    assert new.context["speaker"] == speaker
    assert [
        p.ref
        for g in new.context["positions_by_forum"]
        for t in g["themes"]
        for p in t["positions"]
    ] == [
        "liu-dongmei-enterprise-market-insight",
        "liu-dongmei-enterprise-as-bridge",
        "liu-dongmei-cede-powers-to-enterprises",
        "liu-dongmei-enterprise-market-insight",
        "liu-dongmei-cede-powers-to-enterprises",
    ]


def test_forum_slug_change_redirects_the_forum_and_everything_under_it(client, pujiang):
    position = Position.objects.get(ref="liu-dongmei-enterprise-market-insight")

    old_prefix = pujiang.get_absolute_url()
    rename(pujiang, "pujiang-2025-policy")
    new_prefix = pujiang.get_absolute_url()
    followed = {
        old: client.get(old_prefix + old.removeprefix(neutral(old_prefix)))
        for old, _new in redirects()
    }

    themes = [
        "enterprises-as-first-actor",
        "full-factor-synergy",
        "translation-bottleneck-mechanisms",
        "future-industries-main-battlefield",
        "regional-ecosystems",
        "outlook",
        "task-strengthen-enterprises",
        "task-free-flow-of-factors",
        "task-reform-translation-and-evaluation",
    ]
    parts = [
        "",
        "sessions/science-policy/",
        "questions/who-integrates/",
        "questions/what-is-integrated/",
        "questions/how-to-integrate/",
        *(f"themes/{theme}/" for theme in themes),
    ]
    # Position permalinks do not contain the forum's slug: they need no redirect.
    assert redirects() == sorted(
        (neutral(f"{old_prefix}{part}"), neutral(f"{new_prefix}{part}")) for part in parts
    )
    assert {old: (r.status_code, r["Location"]) for old, r in followed.items()} == {
        neutral(f"{old_prefix}{part}"): (301, f"{new_prefix}{part}") for part in parts
    }
    assert client.get(f"{new_prefix}themes/outlook/").status_code == 200
    assert client.get(position.get_absolute_url()).status_code == 200


def test_chain_of_renames_redirects_every_old_url_to_the_newest_in_one_hop(client, pujiang):
    theme = Theme.objects.get(forum=pujiang, slug="enterprises-as-first-actor")
    a = theme.get_absolute_url()

    rename(theme, "step-b")
    b = theme.get_absolute_url()
    rename(theme, "step-c")
    c = theme.get_absolute_url()

    assert redirects() == sorted([(neutral(a), neutral(c)), (neutral(b), neutral(c))])
    assert [(client.get(path).status_code, client.get(path)["Location"]) for path in (a, b)] == [
        (301, c),
        (301, c),
    ]


def test_changing_a_slug_back_removes_the_loop(client, pujiang):
    theme = Theme.objects.get(forum=pujiang, slug="enterprises-as-first-actor")

    rename(theme, "renamed")
    rename(theme, THEME_SLUG)
    back = client.get(theme_url(THEME_SLUG))
    renamed = client.get(theme_url("renamed"))

    assert redirects() == [(neutral(theme_url("renamed")), neutral(theme_url(THEME_SLUG)))]
    assert back.status_code == 200
    assert (renamed.status_code, renamed["Location"]) == (301, theme_url(THEME_SLUG))


def test_forum_renamed_back_after_a_theme_rename_keeps_one_hop(client, pujiang):
    theme = Theme.objects.get(forum=pujiang, slug="outlook")
    rename(theme, "future")
    rename(pujiang, "pujiang")

    rename(pujiang, FORUM)

    rows = dict(redirects())
    assert rows[neutral(theme_url("outlook"))] == neutral(theme_url("future"))
    assert rows[neutral(theme_url("future", forum="pujiang"))] == neutral(theme_url("future"))
    assert neutral(theme_url("future")) not in rows
    assert client.get(theme_url("outlook"))["Location"] == theme_url("future")


def test_unchanged_url_records_nothing(pujiang):
    theme = Theme.objects.get(forum=pujiang, slug="outlook")

    moves = record_slug_change(obj=theme, old_url=theme.get_absolute_url())

    assert moves == []
    assert redirects() == []


# ---------------------------------------------------------------------------------------------
# The admin mixin
# ---------------------------------------------------------------------------------------------


class ThemeAdmin(SlugRedirectAdminMixin, admin.ModelAdmin):
    pass


class ForumAdmin(SlugRedirectAdminMixin, admin.ModelAdmin):
    pass


@pytest.fixture
def admin_request(admin_user):
    request = RequestFactory().post("/")
    request.user = admin_user
    return request


def test_admin_mixin_redirects_after_saving_a_new_slug(admin_request, pujiang):
    model_admin = ThemeAdmin(Theme, admin.AdminSite())
    theme = Theme.objects.get(forum=pujiang, slug="outlook")
    theme.slug = "future"

    model_admin.save_model(admin_request, theme, form=None, change=True)

    assert Theme.objects.get(pk=theme.pk).slug == "future"
    assert redirects() == [(neutral(theme_url("outlook")), neutral(theme_url("future")))]


def test_admin_mixin_records_nothing_for_other_changes_or_new_objects(admin_request, pujiang):
    model_admin = ForumAdmin(Forum, admin.AdminSite())
    pujiang.name_en = "Pujiang Innovation Forum 2025"
    new = Forum(slug="new-forum", name="新論壇", edition_year=2026)

    model_admin.save_model(admin_request, pujiang, form=None, change=True)
    model_admin.save_model(admin_request, new, form=None, change=False)

    assert Forum.objects.get(slug=FORUM).name_en == "Pujiang Innovation Forum 2025"
    assert Forum.objects.filter(slug="new-forum").exists()
    assert redirects() == []
