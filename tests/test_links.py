"""forum_portal.links.reverse: Django's reverse(), remembered per URLconf and language; and the
language switcher's translation of a path, remembered per URLconf."""

import pytest
from django.test import override_settings
from django.urls import NoReverseMatch, path
from django.urls import reverse as django_reverse
from django.utils import translation

from forum_portal.languages import _remembered_path, translate_path
from forum_portal.links import reverse


def nowhere(request):
    raise AssertionError("never called")


urlpatterns = [path("elsewhere/<slug:slug>/", nowhere, name="speaker-detail")]


@pytest.mark.parametrize("code", ["zh-hant", "zh-hans", "en"])
def test_each_language_gets_its_own_url(code):
    with translation.override(code):
        assert reverse("proceedings:speaker-detail", ["wang"]) == f"/{code}/speakers/wang/"
        assert reverse("proceedings:speaker-detail", ["wang"]) == django_reverse(
            "proceedings:speaker-detail", args=["wang"]
        )


def test_another_urlconf_is_not_served_a_remembered_url():
    with translation.override("en"):
        assert reverse("proceedings:speaker-detail", ["wang"]) == "/en/speakers/wang/"
        with override_settings(ROOT_URLCONF=__name__):
            assert reverse("speaker-detail", ["wang"]) == "/elsewhere/wang/"
            with pytest.raises(NoReverseMatch):
                reverse("proceedings:speaker-detail", ["wang"])


def test_bad_arguments_still_raise():
    with translation.override("en"), pytest.raises(NoReverseMatch):
        reverse("proceedings:speaker-detail", ["not a slug"])


def test_keyword_arguments_in_any_order_give_the_same_url():
    kwargs = {"version": "v1", "slug": "wang"}
    url = reverse("api:speaker-detail", kwargs=kwargs)
    assert url == django_reverse("api:speaker-detail", kwargs=kwargs) == "/api/v1/speakers/wang/"
    assert reverse("api:speaker-detail", kwargs=dict(reversed(kwargs.items()))) == url


def test_a_pages_translation_is_remembered_per_urlconf():
    # The switcher's translation of a path is remembered (forum_portal.languages): another
    # URLconf, where the path is no page, is not served the remembered answer.
    query = "?q=%E8%9E%8D%E5%90%88&sector=finance"
    assert translate_path("/zh-hant/search/" + query, "en") == "/en/search/" + query
    assert translate_path("/zh-hant/search/", "zh-hans") == "/zh-hans/search/"
    with override_settings(ROOT_URLCONF=__name__):
        assert translate_path("/zh-hant/search/" + query, "en") is None
    assert translate_path("/zh-hant/search/?page=2", "en") == "/en/search/?page=2"


def test_only_short_paths_are_remembered():
    _remembered_path.cache_clear()
    long = "x" * 300
    assert translate_path(f"/en/speakers/{long}/", "zh-hant") == f"/zh-hant/speakers/{long}/"
    assert translate_path(f"/en/nowhere/{long}/", "zh-hant") is None
    assert translate_path("/en/speakers/wang-zhan/", "zh-hant") == "/zh-hant/speakers/wang-zhan/"
    assert _remembered_path.cache_info().currsize == 1
