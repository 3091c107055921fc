from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from rapport.conftest import bearer
from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import make_contact


def png(width: int = 800, height: int = 600) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def test_an_uploaded_photo_is_shrunk_stored_and_served_only_to_signed_in_users(
    bob, bob_client, client
):
    contact = make_contact(bob)
    response = bob_client.post(
        f"/contacts/{contact.pk}/photo/",
        {"photo": SimpleUploadedFile("me.png", png(), "image/png")},
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.photo
    served = bob_client.get(f"/contacts/{contact.pk}/photo/")
    assert served.status_code == 200
    image = Image.open(io.BytesIO(b"".join(served.streaming_content)))
    assert image.format == "JPEG"
    assert max(image.size) == 512
    assert client.get(f"/contacts/{contact.pk}/photo/").status_code == 302  # to the login page
    page = bob_client.get(f"/contacts/{contact.pk}/")
    assert f'src="/contacts/{contact.pk}/photo/' in page.content.decode()


def test_a_file_that_is_not_an_image_is_refused_with_a_message(bob, bob_client):
    contact = make_contact(bob)
    response = bob_client.post(
        f"/contacts/{contact.pk}/photo/",
        {"photo": SimpleUploadedFile("me.png", b"MZ\x90\x00 not an image", "image/png")},
        follow=True,
    )
    assert "not an image that can be read" in response.content.decode()
    assert not Contact.objects.get(pk=contact.pk).photo


def test_read_only_users_cannot_change_a_photo(bob, charlie_client):
    contact = make_contact(bob)
    response = charlie_client.post(
        f"/contacts/{contact.pk}/photo/",
        {"photo": SimpleUploadedFile("me.png", png(), "image/png")},
    )
    assert response.status_code == 403


def test_a_photo_can_be_removed_and_the_change_is_in_the_history(bob, bob_client):
    contact = make_contact(bob)
    bob_client.post(
        f"/contacts/{contact.pk}/photo/", {"photo": SimpleUploadedFile("a.png", png(), "image/png")}
    )
    bob_client.post(f"/contacts/{contact.pk}/photo/", {"remove": "1"})
    contact.refresh_from_db()
    assert not contact.photo
    assert contact.version == 3
    assert bob_client.get(f"/contacts/{contact.pk}/photo/").status_code == 404


def test_the_api_sets_serves_and_removes_a_photo(bob):
    contact = make_contact(bob)
    auth = bearer(bob)
    api = Client()
    upload = SimpleUploadedFile("me.png", png(300, 200), "image/png")
    response = api.post(f"/api/v1/contacts/{contact.pk}/photo", {"photo": upload}, **auth)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["photo_url"] == f"/api/v1/contacts/{contact.pk}/photo"
    image = api.get(body["photo_url"], **auth)
    assert image["Content-Type"] == "image/jpeg"
    stale = api.delete(body["photo_url"], HTTP_IF_MATCH=f'"{contact.pk}-1"', **auth)
    assert stale.status_code == 412
    assert api.delete(body["photo_url"], HTTP_IF_MATCH=response["ETag"], **auth).status_code == 204
    assert api.get(f"/api/v1/contacts/{contact.pk}", **auth).json()["photo_url"] is None
    bad = api.post(
        f"/api/v1/contacts/{contact.pk}/photo",
        {"photo": SimpleUploadedFile("x.png", b"nope", "image/png")},
        **auth,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "photo"
