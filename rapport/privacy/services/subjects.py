"""Who a privacy request is about: the contact, the contacts merged into it, and what
every area knows them by."""

from __future__ import annotations

from typing import Any

from rapport.contacts import normalize
from rapport.contacts.models import Contact, Email
from rapport.core.errors import InvalidInput
from rapport.core.subjects import Subject, identity_union, providers
from rapport.core.text import fold
from rapport.merges.selectors import redirect_target
from rapport.merges.subject_data import merged_into


def subject_of(contact_id: int, *, keep_record: bool = False) -> Subject:
    """The person behind contact ``contact_id``, with every identifier the areas know.

    Raises Contact.DoesNotExist for an unknown id, InvalidInput (``contact``) for the id
    of a contact merged into another (naming that one, which holds their data now).
    """
    if not 0 < contact_id < 2**63 or not Contact.objects.filter(pk=contact_id).exists():
        target = redirect_target(kind="contact", object_id=contact_id) if contact_id > 0 else None
        if target is not None:
            raise InvalidInput.single(
                "contact",
                f"Contact #{contact_id} was merged into #{target}, which holds their data "
                f"now; make the request for #{target}.",
            )
        raise Contact.DoesNotExist(f"There is no contact #{contact_id}.")
    ids = (contact_id, *merged_into(contact_id))
    identity = identity_union(p.identify(ids) for p in providers() if p.identify is not None)
    # folded forms too: several areas keep names folded (search text, thread keys)
    names = tuple(dict.fromkeys([*identity.names, *(fold(n) for n in identity.names)]))
    return Subject(
        contact_id=contact_id,
        contact_ids=ids,
        emails=identity.emails,
        phones=identity.phones,
        names=names,
        external_ids=identity.external_ids,
        keep_record=keep_record,
    )


def contact_find(reference: Any) -> int:
    """The contact id a person typed: an id (``42`` or ``#42``) or one of the contact's
    email addresses. Raises Contact.DoesNotExist, or InvalidInput when an address
    belongs to several contacts (naming them)."""
    text = str(reference or "").strip().lstrip("#")
    if text.isdecimal():
        return int(text)
    if "@" in text:
        try:
            key = normalize.email_key(normalize.email(text))
        except ValueError as exc:
            raise InvalidInput.single("contact", str(exc)) from None
        ids = sorted(
            set(Email.objects.filter(address_key=key).values_list("contact_id", flat=True))
        )
        if len(ids) > 1:
            listed = ", ".join(f"#{pk}" for pk in ids)
            raise InvalidInput.single(
                "contact", f"{text} belongs to several contacts ({listed}); give the id."
            )
        if ids:
            return int(ids[0])
        raise Contact.DoesNotExist(f"No contact has the email address {text}.")
    raise InvalidInput.single("contact", "Give a contact's id or one of its email addresses.")
