from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from rapport.contacts.models import Contact
from rapport.contacts.tests.factories import make_contact


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


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
