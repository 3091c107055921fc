"""A contact's photo: checked, re-encoded (which drops hidden metadata) and stored."""

from __future__ import annotations

import io
import uuid
import warnings
from typing import IO, Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F

from rapport.access.services import change_record
from rapport.contacts.models import Contact
from rapport.contacts.services._common import lock_version
from rapport.core import policy
from rapport.core.errors import InvalidInput

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000
SIDE = 512
ALLOWED_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}


def _encode(upload: IO[bytes]) -> bytes:
    from PIL import Image, ImageOps, UnidentifiedImageError  # heavy; only photos need it

    if upload.seekable():
        upload.seek(0)
    head = upload.read(MAX_BYTES + 1)
    if len(head) > MAX_BYTES:
        raise InvalidInput.single("photo", "A photo can be at most 5 MB.")
    if not head:
        raise InvalidInput.single("photo", "The file is empty.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(head))
            if image.format not in ALLOWED_FORMATS:
                raise InvalidInput.single("photo", "Use a JPEG, PNG, GIF or WebP image.")
            if image.width * image.height > MAX_PIXELS:
                raise InvalidInput.single("photo", "This image has too many pixels.")
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((SIDE, SIDE))
            out = io.BytesIO()
            upright.convert("RGB").save(out, format="JPEG", quality=85, optimize=True)
    except InvalidInput:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        SyntaxError,
    ):
        raise InvalidInput.single("photo", "This file is not an image that can be read.") from None
    return out.getvalue()


@transaction.atomic
def contact_photo_set(
    *,
    actor: Any,
    contact: Contact,
    upload: IO[bytes] | None,
    expected_version: int | None = None,
    via: str = "ui",
) -> Contact:
    """Replace (or, with ``upload=None``, remove) the contact's photo.

    Raises NotPermitted, or InvalidInput on the ``photo`` field when the file is not a
    readable JPEG/PNG/GIF/WebP image of at most 5 MB and 40 megapixels.
    """
    policy.require(actor, "contacts.change", contact)
    data = _encode(upload) if upload is not None else None
    lock_version(Contact, contact.pk, expected_version)
    current = Contact.objects.get(pk=contact.pk)
    old = current.photo.name if current.photo else ""
    if data is not None:
        current.photo.save(
            f"{current.pk}-{uuid.uuid4().hex[:12]}.jpg", ContentFile(data), save=False
        )
    else:
        current.photo = ""
    current.version = F("version") + 1
    current.save(update_fields=["photo", "version", "updated_at"])
    current.refresh_from_db()
    if old:
        old_name = old
        transaction.on_commit(lambda: current.photo.storage.delete(old_name))
    change_record(
        actor=actor,
        object_type="contact",
        object_id=current.pk,
        object_repr=current.display_name,
        action="update",
        changes={"photo": ["set" if old else None, "set" if data else None]},
        via=via,
    )
    return current
