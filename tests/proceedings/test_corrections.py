"""
Readers report errors: the folded form on every public position page and its own page, what a
report stores, invalid input, the honeypot, the per-client rate limit and CSRF protection.
"""

import re
from unittest import mock

import pytest
from django.core.cache import cache
from django.forms import Widget
from django.template import engines
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertTemplateUsed

from proceedings.corrections import REPORTS_PER_WINDOW
from proceedings.models import CorrectionRequest, Position, Status
from proceedings.workflow import transition
from speakers.models import Speaker

pytestmark = pytest.mark.django_db

REF = "liu-dongmei-enterprise-market-insight"
MESSAGE = "「敏銳洞察力」在報告第6段是「敏銳的洞察力」。"


@pytest.fixture(autouse=True)
def empty_cache():
    """Start each test with no report counted: the rate limit lives in the cache."""
    cache.clear()


@pytest.fixture
def position(pujiang):
    return Position.objects.get(ref=REF)


def report_url(position):
    return reverse("proceedings:position-report", args=[position.pk])


def thanks_url(position):
    return reverse("proceedings:position-report-thanks", args=[position.pk])


def stored():
    return list(CorrectionRequest.objects.values("position__ref", "message", "email", "state"))


# ---------------------------------------------------------------------------------------------
# The form
# ---------------------------------------------------------------------------------------------


def test_position_page_has_the_report_form_folded(client, position):
    response = client.get(position.get_absolute_url())

    assertContains(
        response,
        '<summary class="report__summary">回報錯誤</summary>',
        count=1,
        html=True,
    )
    assertContains(
        response, f'<form class="report-form" method="post" action="{report_url(position)}">'
    )
    assertContains(response, 'name="csrfmiddlewaretoken"', count=1)
    assertContains(
        response,
        '<textarea name="message" cols="40" rows="6" maxlength="2000" required '
        'aria-describedby="id_message_helptext" id="id_message"></textarea>',
        html=True,
    )
    assertContains(
        response,
        '<input type="email" name="email" autocomplete="email" maxlength="254" '
        'aria-describedby="id_email_helptext" id="id_email">',
        html=True,
    )
    # The honeypot: hidden by a class, from screen readers and from the tab order.
    assertContains(
        response,
        '<div class="field field--trap" aria-hidden="true"><label for="id_website">此欄請留空'
        '</label><input type="text" name="website" tabindex="-1" autocomplete="off" '
        'id="id_website"></div>',
        html=True,
    )
    assertContains(response, '<button class="button" type="submit">送出回報</button>', html=True)


def test_the_empty_form_is_rendered_once_per_language_and_never_holds_what_was_typed(
    client, position
):
    # Templates parsed anew: an earlier test's may already hold the rendered form.
    for engine in engines.all():
        engine.engine.template_loaders[0].reset()
    url = position.get_absolute_url()
    with mock.patch(
        "django.forms.widgets.Widget.render", autospec=True, side_effect=Widget.render
    ) as widgets:
        first = client.get(url)
        again = client.get(url)
        rendered_once = widgets.call_count
        english = client.get(f"/en{url.removeprefix('/zh-hant')}")
        typed = client.post(report_url(position), {"message": "", "email": "typed@example.org"})
        after = client.get(url)

    assert rendered_once == 3  # message, email and the honeypot, for the first reader only
    assert widgets.call_count == 3 + 3 + 3  # English, then the form sent back with its error
    for response in (first, again, after):
        assertContains(response, '<label class="field__label" for="id_message">哪裡有錯？</label>')
        assertNotContains(response, "typed@example.org")
        assertNotContains(response, 'class="errorlist"')
    assertContains(english, '<label class="field__label" for="id_message">What is wrong?</label>')
    assertContains(typed, 'name="email" value="typed@example.org"')
    assertContains(typed, 'class="errorlist"')
    # Each reader has a token of their own: only the fields are kept.
    assert csrf_token(first) != csrf_token(Client().get(url))


def csrf_token(response):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())[1]


def test_report_page_shows_the_quote_and_the_form(client, position):
    response = client.get(report_url(position))

    assertTemplateUsed(response, "proceedings/position_report.html")
    assertContains(response, "<h1>回報錯誤</h1>", html=True)
    assertContains(response, '<blockquote class="reported-position__text" lang="zh-Hant">')
    assertContains(response, "企業對市場需求變化具備敏銳洞察力")
    assertContains(response, '<meta name="robots" content="noindex">')
    assert stored() == []


def test_staff_preview_of_a_hidden_position_has_no_report_form(client, django_user_model, pujiang):
    draft = Position.objects.get(ref=REF)
    transition(objects=[draft], to=Status.DRAFT)
    staff = django_user_model.objects.create_user("editor", password="x", is_staff=True)
    client.force_login(staff)

    response = client.get(draft.get_absolute_url())

    assert response.status_code == 200
    assertNotContains(response, "report-form")


# ---------------------------------------------------------------------------------------------
# Sending a report
# ---------------------------------------------------------------------------------------------


def test_valid_report_is_stored_with_the_text_and_thanks_the_reader(client, position):
    response = client.post(
        report_url(position), {"message": MESSAGE, "email": "reader@example.org", "website": ""}
    )
    thanks = client.get(response["Location"])

    assert response.status_code == 302
    assert response["Location"] == thanks_url(position)
    report = CorrectionRequest.objects.get()
    assert (report.position, report.message, report.email, report.state) == (
        position,
        MESSAGE,
        "reader@example.org",
        CorrectionRequest.State.OPEN,
    )
    assert report.position_text == position.text
    assertTemplateUsed(thanks, "proceedings/position_report_thanks.html")
    assertContains(thanks, "<h1>感謝您的回報</h1>", html=True)
    assertContains(
        thanks, f'<a class="button" href="{position.get_absolute_url()}">回到觀點</a>', html=True
    )


def test_email_is_optional(client, position):
    response = client.post(report_url(position), {"message": MESSAGE})

    assert response.status_code == 302
    assert stored() == [{"position__ref": REF, "message": MESSAGE, "email": "", "state": "open"}]


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({"message": "", "email": "reader@example.org"}, "message", "這個欄位是必須的。"),
        ({"message": "   ", "email": "reader@example.org"}, "message", "這個欄位是必須的。"),
        (
            {"message": "錯" * 2001, "email": "reader@example.org"},
            "message",
            "請確認這個值至多包含 2000 個字 (目前為 2001 個字)。",
        ),
        ({"message": MESSAGE, "email": "not an address"}, "email", "請輸入有效的電子郵件地址。"),
    ],
    ids=["empty", "blank", "too-long", "bad-email"],
)
def test_invalid_report_shows_the_errors_and_keeps_what_was_typed(
    client, position, data, field, error
):
    response = client.post(report_url(position), data)

    assert response.status_code == 200
    assertTemplateUsed(response, "proceedings/position_report.html")
    assert response.context["form"].errors == {field: [error]}
    assertContains(
        response, f'<ul class="errorlist" id="id_{field}_error"><li>{error}</li></ul>', html=True
    )
    assertContains(response, '<p class="form-alert" role="alert">')
    # What the reader typed is still there, to correct.
    if data["message"].strip():
        assertContains(response, f"{data['message']}</textarea>")
    assertContains(response, f'name="email" value="{data["email"]}"')
    assert stored() == []


def test_filled_honeypot_thanks_but_stores_nothing(client, position):
    response = client.post(
        report_url(position), {"message": MESSAGE, "email": "", "website": "https://spam.example"}
    )
    invalid_too = client.post(report_url(position), {"message": "", "website": "x"})

    assert (response.status_code, response["Location"]) == (302, thanks_url(position))
    assert (invalid_too.status_code, invalid_too["Location"]) == (302, thanks_url(position))
    assert stored() == []


def test_sixth_report_within_the_hour_is_refused_with_429(client, position):
    sent = [
        client.post(report_url(position), {"message": f"{MESSAGE} ({n})"}).status_code
        for n in range(REPORTS_PER_WINDOW)
    ]

    refused = client.post(report_url(position), {"message": "第六則回報"})
    other_reader = client.post(
        report_url(position), {"message": "另一位讀者"}, REMOTE_ADDR="192.0.2.7"
    )

    assert sent == [302] * 5
    assert refused.status_code == 429
    assert refused["Retry-After"] == "3600"
    assertTemplateUsed(refused, "proceedings/position_report_limited.html")
    assertContains(refused, "<h1>回報次數過多</h1>", status_code=429, html=True)
    assertContains(refused, "請在 60 分鐘後再試。", status_code=429)
    # Nothing typed is lost: the message is there to copy.
    assertContains(
        refused,
        '<textarea id="unsent-message" rows="6" readonly>第六則回報</textarea>',
        status_code=429,
        html=True,
    )
    assert other_reader.status_code == 302
    assert [r["message"] for r in stored()] == [
        "另一位讀者",
        f"{MESSAGE} (4)",
        f"{MESSAGE} (3)",
        f"{MESSAGE} (2)",
        f"{MESSAGE} (1)",
        f"{MESSAGE} (0)",
    ]


def test_honeypot_submissions_count_towards_the_limit(client, position):
    for _ in range(REPORTS_PER_WINDOW):
        client.post(report_url(position), {"message": MESSAGE, "website": "x"})

    refused = client.post(report_url(position), {"message": MESSAGE})

    assert refused.status_code == 429
    assert stored() == []


def test_invalid_reports_do_not_count_towards_the_limit(client, position):
    for _ in range(REPORTS_PER_WINDOW + 2):
        client.post(report_url(position), {"message": ""})

    response = client.post(report_url(position), {"message": MESSAGE})

    assert response.status_code == 302
    assert len(stored()) == 1


# ---------------------------------------------------------------------------------------------
# CSRF
# ---------------------------------------------------------------------------------------------


def test_report_without_a_csrf_token_is_refused(position):
    client = Client(enforce_csrf_checks=True)

    response = client.post(report_url(position), {"message": MESSAGE})

    assert response.status_code == 403
    assertTemplateUsed(response, "403_csrf.html")
    assertContains(response, "<h1>表單無法送出</h1>", status_code=403, html=True)
    assert stored() == []


def test_report_with_the_token_of_the_position_page_is_accepted(position):
    client = Client(enforce_csrf_checks=True)
    page = client.get(position.get_absolute_url())
    token = page.context["csrf_token"]

    response = client.post(
        report_url(position), {"message": MESSAGE, "csrfmiddlewaretoken": str(token)}
    )

    assert response.status_code == 302
    assert len(stored()) == 1


# ---------------------------------------------------------------------------------------------
# Only public positions
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("hidden", ["position", "speaker"])
def test_reports_on_positions_that_are_not_public_are_404(
    client, django_user_model, pujiang, hidden
):
    position = Position.objects.get(ref=REF)
    target = position if hidden == "position" else Speaker.objects.get(slug="liu-dongmei")
    transition(objects=[target], to=Status.DRAFT)
    staff = Client()
    staff.force_login(django_user_model.objects.create_user("editor", is_staff=True))

    responses = [
        client.get(report_url(position)),
        client.post(report_url(position), {"message": MESSAGE}),
        client.get(thanks_url(position)),
        staff.get(report_url(position)),
        staff.post(report_url(position), {"message": MESSAGE}),
    ]

    assert [r.status_code for r in responses] == [404] * 5
    assert stored() == []


def test_report_on_a_withdrawn_position_is_404(client, position):
    transition(objects=[position], to=Status.WITHDRAWN)

    response = client.post(report_url(position), {"message": MESSAGE})

    assert response.status_code == 404
    assert stored() == []
