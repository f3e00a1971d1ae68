"""
Security headers on every response, the admin's own policy and URL, login lockout, and error
pages that show nothing of the code or the settings.
"""

import importlib

import pytest
from django.test import override_settings
from django.urls import clear_url_caches, reverse

from forum_portal.security import client_ip
from tests.factories import make_forum

pytestmark = pytest.mark.django_db

PUBLIC_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
ADMIN_CSP = PUBLIC_CSP.replace(
    "style-src 'self';",
    "style-src 'self' 'unsafe-hashes' 'sha256-XMXSevYjgSjXgRafBFDvtjwX+yyWLrxfso9DcNZ9UXM=';",
)


def security_headers(response):
    return {
        name: response.get(name)
        for name in [
            "Content-Security-Policy",
            "Strict-Transport-Security",
            "X-Content-Type-Options",
            "Referrer-Policy",
            "X-Frame-Options",
            "Cross-Origin-Opener-Policy",
        ]
    }


def expected_headers(csp):
    return {
        "Content-Security-Policy": csp,
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


@pytest.mark.parametrize(
    "page", ["bare", "home", "forum", "speakers", "missing", "switcher", "healthz", "readyz"]
)
def test_public_responses_carry_every_security_header(client, page):
    forum = make_forum(published=True)
    home = reverse("proceedings:home")
    path = {
        "bare": "/",  # the redirect to the reader's language
        "home": home,
        "forum": forum.get_absolute_url(),
        "speakers": reverse("proceedings:speaker-list"),
        "missing": home + "no-such-page/",
        "switcher": reverse("choose-language", args=["en"]) + "?next=" + home,
        "healthz": reverse("healthz"),
        "readyz": reverse("readyz"),
    }[page]

    response = client.get(path, secure=True)

    assert security_headers(response) == expected_headers(PUBLIC_CSP)


@pytest.mark.parametrize("path", ["/admin/login/", "/admin/"])
def test_admin_responses_carry_the_admin_policy(client, path):
    response = client.get(path, secure=True)

    assert security_headers(response) == expected_headers(ADMIN_CSP)


def test_cookies_are_secure_and_http_only(client, django_user_model):
    django_user_model.objects.create_superuser("boss", "boss@example.org", "a-long-passphrase")

    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "boss", "password": "a-long-passphrase"},
        secure=True,
    )

    session = response.cookies["sessionid"]
    assert (response.status_code, session["secure"], session["httponly"]) == (302, True, True)
    assert response.cookies["csrftoken"]["secure"] is True


def test_admin_url_comes_from_the_setting():
    import forum_portal.urls

    try:
        with override_settings(ADMIN_URL="backstage-7f3a/"):
            importlib.reload(forum_portal.urls)
            clear_url_caches()
            assert reverse("admin:index") == "/backstage-7f3a/"
    finally:
        importlib.reload(forum_portal.urls)
        clear_url_caches()
    assert reverse("admin:index") == "/admin/"


# ---------------------------------------------------------------------------------------------
# Login lockout (django-axes)
# ---------------------------------------------------------------------------------------------


def login(client, password, address="203.0.113.7"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": "boss", "password": password},
        REMOTE_ADDR=address,
        secure=True,
    )


def test_admin_login_locks_out_after_five_failures_for_that_username_and_address(
    client, django_user_model
):
    django_user_model.objects.create_superuser("boss", "boss@example.org", "right-passphrase")

    failures = [login(client, f"guess-{i}").status_code for i in range(5)]
    locked = login(client, "right-passphrase")
    elsewhere = login(client, "right-passphrase", address="198.51.100.2")

    # A failed login redisplays the form (200); the sixth attempt is refused even with the
    # right password; the same user from another address still gets in.
    assert failures == [200, 200, 200, 200, 429]
    assert locked.status_code == 429
    assert "sessionid" not in locked.cookies
    assert (elsewhere.status_code, elsewhere["Location"]) == (302, "/admin/")


def test_successful_login_resets_the_failure_count(client, django_user_model):
    django_user_model.objects.create_superuser("boss", "boss@example.org", "right-passphrase")

    for i in range(4):
        login(client, f"guess-{i}")
    login(client, "right-passphrase")
    client.logout()
    after = [login(client, f"again-{i}").status_code for i in range(4)]

    assert after == [200, 200, 200, 200]


def test_test_client_login_still_works(client, django_user_model):
    django_user_model.objects.create_user("editor", password="pw", is_staff=True)

    assert client.login(username="editor", password="pw") is True


@pytest.mark.parametrize(
    ("proxies", "meta", "expected"),
    [
        (0, {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "1.2.3.4"}, "10.0.0.5"),
        (1, {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4"}, "1.2.3.4"),
        # A client's own X-Forwarded-For entry is left of the one the proxy appended.
        (1, {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 1.2.3.4"}, "1.2.3.4"),
        (
            2,
            {"REMOTE_ADDR": "10.0.0.9", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 1.2.3.4, 10.0.0.8"},
            "1.2.3.4",
        ),
        (1, {"REMOTE_ADDR": "127.0.0.1"}, "127.0.0.1"),
    ],
)
def test_client_ip_trusts_only_the_configured_proxies(rf, settings, proxies, meta, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = rf.get("/", **meta)

    assert client_ip(request) == expected


# ---------------------------------------------------------------------------------------------
# Error pages
# ---------------------------------------------------------------------------------------------


@override_settings(ROOT_URLCONF="tests.production.urls")
def test_server_error_shows_the_friendly_page_and_nothing_else(client):
    client.raise_request_exception = False

    response = client.get("/test/boom/")

    body = response.content.decode()
    assert response.status_code == 500
    assert "<h1>伺服器錯誤</h1>" in body  # 500.html, in the default language
    assert "secret detail" not in body
    assert "Traceback" not in body
    assert "SECRET_KEY" not in body


@pytest.mark.parametrize("path", ["tags/%00/", "speakers/a%00b/"])
def test_null_characters_in_the_path_are_a_bad_request(client, path):
    # On PostgreSQL a NUL reaching a query was a 500 (bench/fuzz.py found /tags/%00/).
    client.raise_request_exception = False

    response = client.get(reverse("proceedings:home") + path)

    assert response.status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "query"),
    [("home", "?order=%00"), ("home", "?%00=1"), ("speaker-list", "?order=na%00me")],
)
def test_null_characters_in_the_query_are_dropped(client, name, query):
    assert client.get(reverse(f"proceedings:{name}") + query).status_code == 200
