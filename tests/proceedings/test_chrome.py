"""
The site's navigation and footer (templates/base.html), kept by each process per language and
section (the "chrome" cache): every page still shows its own section as current, in its own
language, whatever page the process rendered before.
"""

import re

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

pytestmark = pytest.mark.django_db

NAV = re.compile(r'<nav class="site-nav".*?</nav>', re.S)
FOOTER = re.compile(r'<footer class="site-footer">.*?</footer>', re.S)
CURRENT = re.compile(r'<a href="([^"]+)" aria-current="true">([^<]+)</a>')
PAGES = [  # (URL name, the navigation's current link's URL name)
    ("proceedings:search", "proceedings:search"),
    ("proceedings:speaker-list", "proceedings:speaker-list"),
    ("proceedings:forum-list", "proceedings:forum-list"),
    ("proceedings:tag-list", "proceedings:tag-list"),
    ("proceedings:home", "proceedings:forum-list"),  # the forums are the home page's
    ("proceedings:sector-list", "proceedings:institution-list"),
    ("proceedings:data", None),
]
LABELS = {"zh-hant": "發言人", "zh-hans": "发言人", "en": "Speakers"}
DATA = {"zh-hant": "資料", "zh-hans": "数据", "en": "Data"}


def test_the_chrome_is_kept_by_the_process_outside_debug():
    assert not settings.DEBUG
    assert settings.CACHES["chrome"]["BACKEND"].endswith("LocMemCache")


@pytest.mark.parametrize("first", ["zh-hant", "en"])
def test_each_page_shows_its_own_section_and_language(client, pujiang, first):
    codes = [first, *(code for code in LABELS if code != first)]
    for _round in range(2):  # the second round reads what the first kept
        for code in codes:
            for name, current in PAGES:
                with translation.override(code):
                    url, expected = reverse(name), current and reverse(current)
                html = client.get(url).content.decode()
                nav, footer = NAV.search(html)[0], FOOTER.search(html)[0]

                assert [href for href, _label in CURRENT.findall(nav)] == (
                    [expected] if expected else []
                ), (code, name)
                assert f">{LABELS[code]}</a>" in nav
                assert f">{DATA[code]}</a>" in footer
                assert f'href="/{code}/data/"' in footer
