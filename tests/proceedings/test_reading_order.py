"""
Pages lead with what was said: the summary and the positions come before the page's tools
(search within, feeds, CSV, compare, balance), empty themes offer nothing over nothing, and the
search page has one search box with its filters folded above the results.
"""

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from proceedings.localize import to_traditional
from proceedings.models import Position, Theme

pytestmark = pytest.mark.django_db

FORUM = "pujiang-2025"
TOOLS = '<section class="page-tools"'


def page(client, name, *args, language="zh-hant", query=""):
    with translation.override(language):
        path = reverse(f"proceedings:{name}", args=args)
    response = client.get(path + query)
    assert response.status_code == 200, path
    return response.content.decode()


def test_theme_page_puts_summary_and_positions_before_its_tools(client, pujiang):
    theme = Theme.objects.get(slug="enterprises-as-first-actor")
    first = Position.objects.get(ref="liu-dongmei-enterprise-market-insight")

    html = page(client, "theme-detail", FORUM, theme.slug)

    summary_at = html.index(to_traditional(theme.summary))
    position_at = html.index(f'id="position-{first.pk}"')
    tools_at = html.index(TOOLS)
    assert summary_at < position_at < tools_at
    tools = html[tools_at:]
    assert html.count(TOOLS) == 1
    for link in (
        reverse("proceedings:theme-balance", args=[FORUM, theme.slug]),
        reverse("proceedings:theme-feed", args=[FORUM, theme.slug, "atom"]),
        reverse("downloads:theme-csv", args=[FORUM, theme.slug]) + "?lang=zh-hant",
        'name="theme" value="pujiang-2025:enterprises-as-first-actor"',
    ):
        assert link in tools, link
        assert html.index(link, html.index("<body")) > position_at, link


def test_speaker_page_puts_positions_before_its_tools(client, pujiang):
    first = Position.objects.get(ref="liu-dongmei-enterprise-market-insight")

    html = page(client, "speaker-detail", "liu-dongmei")

    tools_at = html.index(TOOLS)
    assert html.index(f'id="position-{first.pk}') < tools_at
    assert html.index(reverse("proceedings:compare") + "?speaker=liu-dongmei") > tools_at
    assert html.index(reverse("downloads:speaker-csv", args=["liu-dongmei"])) > tools_at
    assert html.count('class="search-box__input"') == 2  # the site's, then "search within"


def test_empty_theme_shows_its_summary_and_no_tools(client, pujiang):
    outlook = Theme.objects.get(slug="outlook")

    html = page(client, "theme-detail", FORUM, "outlook", language="en")

    assert escape(outlook.summary_en) in html  # China's: the apostrophe escaped
    assert "The report states this theme in its own words: no speaker is quoted on it." in html
    assert TOOLS not in html
    assert reverse("proceedings:theme-balance", args=[FORUM, "outlook"]) not in html
    assert "/downloads/" not in html
    assert 'id="search-within-q"' not in html
    assert 'id="positions-heading"' not in html


def test_home_links_only_themes_with_positions(client, pujiang):
    html = page(client, "home")

    assert reverse("proceedings:theme-detail", args=[FORUM, "outlook"]) not in html
    assert (
        reverse("proceedings:theme-detail", args=[FORUM, "task-free-flow-of-factors"]) not in html
    )
    # Under "how to integrate" only (its curator note says why it is not under "who").
    assert html.count(reverse("proceedings:theme-detail", args=[FORUM, "regional-ecosystems"])) == 1


def test_search_page_has_one_search_box_and_folded_filters_before_results(client, pujiang):
    html = page(client, "search", query="?q=融合")

    assert html.count('class="search-box__input"') == 1
    refine_at = html.index('<details class="search-refine" data-refine>')
    assert refine_at < html.index('id="results-heading"')
    assert '<details class="search-refine" data-refine open' not in html


def test_search_without_results_has_no_empty_filter_panel(client, pujiang):
    html = page(client, "search", query="?q=zzzqqqxyz")

    assert "search-refine" not in html
    assert 'id="refine-heading"' not in html


def test_tag_page_breadcrumb_goes_through_the_tag_list(client, pujiang):
    with translation.override("zh-hant"):
        tag_list = reverse("proceedings:tag-list")
        html = client.get(reverse("proceedings:tag-detail", args=["成果轉化"])).content.decode()

    crumbs = html[
        html.index('class="breadcrumbs"') : html.index("</nav>", html.index("breadcrumbs"))
    ]
    assert f'<li><a href="{tag_list}">標籤</a></li>' in crumbs
    assert crumbs.index(tag_list) < crumbs.index('aria-current="page"')


def test_top_navigation_has_questions_tags_and_search(client, pujiang):
    html = page(client, "home", language="en")

    nav = html[html.index('class="site-nav"') : html.index("</nav>", html.index("site-nav"))]
    assert [
        label for label in ("Forums", "Guiding questions", "Tags", "Search") if label in nav
    ] == [
        "Forums",
        "Guiding questions",
        "Tags",
        "Search",
    ]
    assert '<a href="/en/#forums">Guiding questions</a>' in nav


def test_source_page_marks_the_reports_headings(client, pujiang):
    html = page(client, "source-detail", "pujiang-2025-science-policy-report")

    assert '<h2 class="para__text para__heading">思想碰撞:</h2>' in html
    assert '<h3 class="para__text para__heading">1. 企業應真正成為融合創新的“第一主體”</h3>' in html
    assert html.count('class="para__text para__heading"') == 8


def test_api_pages_lead_back_to_the_site(client, pujiang):
    docs = client.get(reverse("api-docs")).content.decode()
    browsable = client.get("/api/v1/forums/", HTTP_ACCEPT="text/html").content.decode()

    assert '<a href="/zh-hant/">← Forum Portal</a>' in docs
    assert '<a class="navbar-brand" href="/zh-hant/">← Forum Portal</a>' in browsable
    assert "css/api-browsable" in browsable
