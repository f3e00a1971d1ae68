"""forum_portal.links.reverse: Django's reverse(), remembered per URLconf and language."""

import pytest
from django.test import override_settings
from django.urls import NoReverseMatch, path
from django.urls import reverse as django_reverse
from django.utils import translation

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
