"""Every error under /api/ is JSON, whichever layer answers: unknown URLs, wrong methods,
bodies that are too large or not JSON."""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.conftest import bearer


@pytest.fixture
def api(bob) -> Client:
    return Client(**bearer(bob))


def _detail(response) -> str:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/nothing", "/api/v1/contacts/x/y"])
def test_an_unknown_api_url_is_a_json_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert _detail(response) == "Not found."


def test_a_method_the_route_does_not_take_is_a_json_405(api):
    response = api.delete("/api/v1/me")
    assert response.status_code == 405
    assert _detail(response) == "Method not allowed."
    assert "GET" in response["Allow"]


def test_a_body_over_the_limit_is_a_json_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    response = api.post("/api/v1/tags", "x" * (1024 * 1024 + 1), content_type="application/json")
    assert response.status_code == 413
    assert "too large (at most 1 MB)" in _detail(response)


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "application/xml"]
)
def test_a_body_that_is_not_json_is_a_json_415(api, content_type):
    response = api.post("/api/v1/tags", '{"name": "VIP"}', content_type=content_type)
    assert response.status_code == 415
    assert "Content-Type: application/json" in _detail(response)


def test_json_with_a_charset_or_a_json_suffix_is_accepted(api):
    plain = api.post(
        "/api/v1/tags", '{"name": "VIP"}', content_type="application/json; charset=utf-8"
    )
    assert plain.status_code == 201
    suffixed = api.post("/api/v1/tags", '{"name": "Press"}', content_type="application/merge+json")
    assert suffixed.status_code == 201


def test_pages_outside_the_api_keep_their_html_errors(bob_client):
    response = bob_client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_an_unreadable_upload_is_a_json_400_saying_why(api):
    response = api.post("/api/v1/imports", b"not multipart", content_type="multipart/form-data")
    assert response.status_code == 400
    assert "multipart body could not be read" in _detail(response)
