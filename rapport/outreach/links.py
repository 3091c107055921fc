"""Signed links in outbound mail: the public preference page of one contact and the
one-click unsubscribe from one purpose. Signed with the server's SECRET_KEY (Django's
TimestampSigner, one salt per kind of link) and valid RAPPORT_LINK_DAYS; nothing is
stored, so a link cannot be guessed, changed or used for another person or purpose."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

_PREFERENCES = "rapport.outreach.preferences"
_UNSUBSCRIBE = "rapport.outreach.unsubscribe"


class LinkInvalid(Exception):
    """A forged or mangled link (``expired`` False) or an expired one (True)."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True)
class LinkTarget:
    contact_id: int
    purpose: str = ""


def _max_age() -> int:
    return int(getattr(settings, "RAPPORT_LINK_DAYS", 365)) * 86400


def preference_token(contact_id: int) -> str:
    return signing.dumps({"c": contact_id}, salt=_PREFERENCES, compress=True)


def unsubscribe_token(contact_id: int, purpose: str) -> str:
    return signing.dumps({"c": contact_id, "p": purpose}, salt=_UNSUBSCRIBE, compress=True)


def _load(token: str, salt: str) -> dict[str, object]:
    try:
        value = signing.loads(token, salt=salt, max_age=_max_age())
    except signing.SignatureExpired as exc:
        raise LinkInvalid("This link has expired.", expired=True) from exc
    except signing.BadSignature as exc:
        raise LinkInvalid("This link is not valid.") from exc
    if not isinstance(value, dict) or not isinstance(value.get("c"), int):
        raise LinkInvalid("This link is not valid.")
    return value


def preference_link_check(token: str) -> LinkTarget:
    """The contact a preference link is for; raises LinkInvalid."""
    value = _load(token, _PREFERENCES)
    return LinkTarget(int(value["c"]))  # type: ignore[call-overload]


def unsubscribe_link_check(token: str) -> LinkTarget:
    """The contact and purpose an unsubscribe link is for; raises LinkInvalid."""
    value = _load(token, _UNSUBSCRIBE)
    purpose = value.get("p")
    if not isinstance(purpose, str) or not purpose:
        raise LinkInvalid("This link is not valid.")
    return LinkTarget(int(value["c"]), purpose)  # type: ignore[call-overload]


def base_url() -> str:
    return (getattr(settings, "RAPPORT_BASE_URL", "") or "http://localhost:8000").rstrip("/")


def links_for(contact_id: int, purpose: str, *, base: str = "") -> dict[str, str]:
    """The preference page and one-click unsubscribe addresses for one message."""
    root = (base or base_url()).rstrip("/")
    return {
        "preferences": f"{root}/public/p/{preference_token(contact_id)}/",
        "unsubscribe": f"{root}/public/u/{unsubscribe_token(contact_id, purpose)}/",
    }


def unsubscribe_mailbox() -> str:
    """The address of RAPPORT_UNSUBSCRIBE_MAILTO, lower case ("" when none is set): the
    List-Unsubscribe mailto and the unsubscribe mails Rapport acts on."""
    from email.utils import parseaddr

    return parseaddr(getattr(settings, "RAPPORT_UNSUBSCRIBE_MAILTO", "") or "")[1].lower()
