"""
Redirects that must not lose protection or strand the reader: the plain-HTTP to HTTPS redirect
carries the same security headers as any response (HSTS aside, which means nothing over HTTP),
and a login whose ``next`` was refused lands on the admin index, not a 404.
"""

import pytest
from django.test import override_settings
from django.urls import reverse

from tests.production.test_security import (
    ADMIN_CSP,
    PUBLIC_CSP,
    expected_headers,
    security_headers,
)

pytestmark = pytest.mark.django_db


@override_settings(SECURE_SSL_REDIRECT=True)
@pytest.mark.parametrize("path", ["/", "/zh-hant/", "/en/speakers/", "/admin/login/", "/api/v1/"])
def test_https_redirect_carries_the_security_headers(client, path):
    response = client.get(path, HTTP_HOST="testserver")
    over_https = client.get(path, secure=True)

    assert (response.status_code, response["Location"]) == (301, f"https://testserver{path}")
    assert over_https.status_code != 301
    assert security_headers(response) == {
        **expected_headers(ADMIN_CSP if path.startswith("/admin/") else PUBLIC_CSP),
        # Over plain HTTP a browser ignores HSTS; SecurityMiddleware sends it over HTTPS only.
        "Strict-Transport-Security": None,
    }


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example/admin/",
        "javascript:alert(1)",
        "http://testserver@evil.example/",
    ],
)
def test_login_with_a_refused_next_lands_on_the_admin_index(client, django_user_model, next_url):
    django_user_model.objects.create_user("editor", password="pw-editor-1", is_staff=True)

    response = client.post(
        reverse("admin:login") + "?" + f"next={next_url}",
        {"username": "editor", "password": "pw-editor-1", "next": next_url},
    )
    landing = client.get(response["Location"])

    assert (response.status_code, response["Location"]) == (302, reverse("admin:index"))
    assert landing.status_code == 200
    assert landing.context["title"] == "網站管理"
