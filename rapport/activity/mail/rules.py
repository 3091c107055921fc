"""What is never logged: bulk and automated mail, and the never-log list."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction

from rapport.activity.mail.parsing import ParsedMail
from rapport.activity.models import NeverLog
from rapport.core import policy
from rapport.core.errors import InvalidInput

_NOREPLY = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|donotreply|mailer[-_.]?daemon|postmaster|"
    r"bounces?|notifications?|notify|alerts?|newsletters?|news|marketing|mailer|"
    r"auto[-_.]?(?:reply|responder|mailer)|system|daemon|info-?noreply)(?:[-+_.].*)?$",
    re.IGNORECASE,
)
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:automatic reply|auto(?:matic)?[- ]?reply|out of (?:the )?office|"
    r"abwesenheitsnotiz|automatische antwort|réponse automatique|absence du bureau|"
    r"respuesta automática|fuera de la oficina|automatisch antwoord|afwezig|"
    r"undeliverable|delivery status notification|mail delivery failed|"
    r"returned mail|unzustellbar|non remis)\b",
    re.IGNORECASE,
)


def bulk_reason(mail: ParsedMail) -> str:
    """Why this is bulk or automated mail, or "" when it is written by a person."""
    headers = mail.headers
    if "list-id" in headers:
        return "mailing list (List-Id)"
    if "list-unsubscribe" in headers:
        return "bulk mail (List-Unsubscribe)"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in ("bulk", "list", "junk", "auto_reply"):
        return f"bulk mail (Precedence: {precedence})"
    auto = headers.get("auto-submitted", "").strip().lower()
    if auto and not auto.startswith("no"):
        return f"automated mail (Auto-Submitted: {auto.split(';')[0]})"
    if "x-autoreply" in headers or "x-autorespond" in headers:
        return "automatic reply"
    for sender in mail.senders:
        local = sender.address.rsplit("@", 1)[0]
        if _NOREPLY.match(local):
            return f"automated sender ({sender.address})"
    if _AUTO_SUBJECT.match(mail.subject):
        return "automatic reply (subject)"
    return ""


def pattern_of(text: str) -> str:
    """The stored form of a never-log entry: a lower-cased address, or a domain
    (``example.com``; ``@example.com`` and ``*@example.com`` mean the same)."""
    value = (text or "").strip().lower()
    value = value.removeprefix("*")
    if value.startswith("@"):
        value = value[1:]
    return value


class NeverLogList:
    """The never-log entries, read once per capture run."""

    def __init__(self, patterns: Iterable[str] | None = None) -> None:
        entries = (
            list(NeverLog.objects.values_list("pattern", flat=True))
            if patterns is None
            else list(patterns)
        )
        self.addresses = {p for p in entries if "@" in p}
        self.domains = {p for p in entries if "@" not in p}

    def matches(self, address_key: str) -> bool:
        if not address_key:
            return False
        if address_key in self.addresses:
            return True
        if not self.domains:
            return False
        domain = address_key.rsplit("@", 1)[-1]
        labels = domain.split(".")
        return any(".".join(labels[i:]) in self.domains for i in range(len(labels)))


_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def never_log_add(*, actor: Any, pattern: str) -> NeverLog:
    """Add an address or a domain to the never-log list (admins). Raises InvalidInput
    naming ``pattern`` when it is neither, or is listed already."""
    policy.require(actor, "mail.never_log")
    value = pattern_of(pattern)
    if "@" in value:
        local, _, domain = value.rpartition("@")
        ok = bool(local) and bool(_DOMAIN.match(domain)) and not any(c.isspace() for c in local)
    else:
        ok = bool(_DOMAIN.match(value))
    if not ok:
        raise InvalidInput.single(
            "pattern", f"“{pattern.strip()[:100]}” is neither an email address nor a domain."
        )
    try:
        with transaction.atomic():
            return NeverLog.objects.create(
                pattern=value, created_by=actor if getattr(actor, "pk", None) else None
            )
    except IntegrityError:
        raise InvalidInput.single("pattern", f"{value} is on the list already.") from None


def never_log_remove(*, actor: Any, entry_id: int) -> None:
    """Take an entry off the never-log list (admins); mail from then on may be logged."""
    policy.require(actor, "mail.never_log")
    deleted, _ = NeverLog.objects.filter(pk=entry_id).delete()
    if not deleted:
        raise NeverLog.DoesNotExist(f"There is no never-log entry {entry_id}.")


def never_log_list(*, actor: Any) -> list[NeverLog]:
    """The never-log list, in order (anyone who may see interactions may read it)."""
    policy.require(actor, "interactions.view")
    return list(NeverLog.objects.select_related("created_by"))
