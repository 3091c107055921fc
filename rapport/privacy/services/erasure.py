"""Erasure and anonymisation of one person, everywhere at once.

``erasure_preview`` asks every area what would go and signs a confirmation for that
actor, contact and mode (valid for an hour); ``contact_erase`` only runs with it, so
the page, API call or command that erases has shown what will go first. The erasure
itself (``subject_erase``) is one transaction: every area's eraser in turn (the
contact row last), the suppression entries, and the log, which holds counts, never
data. On SQLite the connection overwrites what it deletes (``secure_delete``) for the
duration, and the full-text index is compacted in the background afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db import connection, transaction

from rapport.contacts.models import Contact, Email, Phone
from rapport.core import policy
from rapport.core.errors import FieldError, InvalidInput
from rapport.core.subjects import Counts, Subject, providers
from rapport.privacy.models import Anonymised, ErasureLog, Mode, RetentionRun
from rapport.privacy.services.subjects import subject_of
from rapport.privacy.suppression import suppression_add

logger = logging.getLogger(__name__)

_SALT = "rapport.privacy.erasure"
CONFIRMATION_SECONDS = 3600


@dataclass(frozen=True)
class PartCounts:
    """What one area holds (or would remove) about the person."""

    name: str
    label: str
    counts: Counts

    @property
    def shown(self) -> dict[str, int]:
        return {k: v for k, v in self.counts.items() if v}

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class ErasurePreview:
    """What an erasure (or anonymisation) of the contact would remove, area by area,
    how many suppression entries it would leave, and the signed ``confirmation`` that
    ``contact_erase`` needs."""

    contact_id: int
    merged_ids: tuple[int, ...]
    mode: str
    parts: list[PartCounts]
    suppress_emails: int
    suppress_phones: int
    confirmation: str

    @property
    def total(self) -> int:
        return sum(p.total for p in self.parts)


def suppressible(subject: Subject) -> tuple[list[str], list[str]]:
    """The person's addresses and numbers no other contact holds (a shared switchboard
    number or info@ address must not keep everyone else out)."""
    others = Email.objects.filter(address_key__in=list(subject.emails)).exclude(
        contact_id__in=subject.contact_ids
    )
    taken_emails = set(others.values_list("address_key", flat=True))
    taken_phones = set(
        Phone.objects.filter(e164__in=list(subject.phones))
        .exclude(contact_id__in=subject.contact_ids)
        .values_list("e164", flat=True)
    )
    return (
        [e for e in subject.emails if e not in taken_emails],
        [p for p in subject.phones if p not in taken_phones],
    )


def _confirmation(actor: Any, contact_id: int, mode: str) -> str:
    return signing.dumps({"contact": contact_id, "by": actor.pk, "mode": mode}, salt=_SALT)


def _check_confirmation(value: str, actor: Any, contact_id: int, mode: str) -> None:
    problem = (
        "This confirmation is not valid: it was altered, is for another contact or "
        "person, or is older than an hour. Look at what will be erased again and confirm."
    )
    if not value:
        raise InvalidInput.single(
            "confirmation", "Look at what will be erased first, then confirm with its token."
        )
    try:
        data = signing.loads(value, salt=_SALT, max_age=CONFIRMATION_SECONDS)
    except signing.BadSignature:
        raise InvalidInput.single("confirmation", problem) from None
    if data != {"contact": contact_id, "by": getattr(actor, "pk", None), "mode": mode}:
        raise InvalidInput.single("confirmation", problem)


def _mode(mode: str) -> str:
    if mode not in Mode.values:
        raise InvalidInput.single("mode", f"Must be one of: {', '.join(Mode.values)}.")
    return mode


def erasure_preview(*, actor: Any, contact_id: int, mode: str = Mode.ERASE) -> ErasurePreview:
    """What erasing (or anonymising) the contact would remove; changes nothing.

    Raises NotPermitted unless the actor may erase, Contact.DoesNotExist, InvalidInput
    for a merged-away id or an unknown mode.
    """
    policy.require(actor, "privacy.erase")
    subject = subject_of(contact_id, keep_record=_mode(mode) == Mode.ANONYMISE)
    emails, phones = suppressible(subject)
    anonymise = mode == Mode.ANONYMISE
    return ErasurePreview(
        contact_id=contact_id,
        merged_ids=subject.contact_ids[1:],
        mode=mode,
        parts=[PartCounts(p.name, p.label, p.preview(subject)) for p in providers()],
        suppress_emails=0 if anonymise else len(emails),
        suppress_phones=0 if anonymise else len(phones),
        confirmation=_confirmation(actor, contact_id, mode),
    )


def contact_erase(
    *,
    actor: Any,
    contact_id: int,
    confirmation: str,
    reason: str = ErasureLog.Reason.REQUEST,
    note: str = "",
    suppress: bool = True,
    mode: str = Mode.ERASE,
    via: str = "ui",
) -> ErasureLog:
    """Erase (or anonymise) the contact as ``erasure_preview`` showed; returns the log.

    ``confirmation`` is the preview's, for the same actor, contact and mode, at most an
    hour old. ``suppress`` leaves suppression entries for the person's addresses and
    numbers (erasures only). ``note`` must not hold the person's details: it is kept.
    Raises NotPermitted, Contact.DoesNotExist, InvalidInput (nothing changed) for a
    missing, forged or expired confirmation, an unknown reason or mode, a long note.
    """
    policy.require(actor, "privacy.erase")
    _mode(mode)
    errors: list[FieldError] = []
    if reason not in ErasureLog.Reason.values:
        errors.append(
            FieldError("reason", f"Must be one of: {', '.join(ErasureLog.Reason.values)}.")
        )
    note = " ".join((note or "").split())
    if len(note) > 500:
        errors.append(FieldError("note", "At most 500 characters."))
    if errors:
        raise InvalidInput(errors)
    _check_confirmation(confirmation, actor, contact_id, mode)
    subject = subject_of(contact_id, keep_record=mode == Mode.ANONYMISE)
    return subject_erase(
        subject,
        actor=actor,
        reason=reason,
        note=note,
        suppress=suppress and mode == Mode.ERASE,
        via=via,
    )


@contextmanager
def _overwriting_deletes() -> Iterator[None]:
    """SQLite overwrites deleted content with zeros while this runs, so what an erasure
    deletes does not linger in free pages of the database file."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA secure_delete")
        before = cursor.fetchone()[0]
        cursor.execute("PRAGMA secure_delete = ON")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA secure_delete = {int(before)}")


def subject_erase(
    subject: Subject,
    *,
    actor: Any,
    reason: str,
    note: str = "",
    suppress: bool = True,
    via: str = "ui",
    run: RetentionRun | None = None,
) -> ErasureLog:
    """Remove the person's data from every area in one transaction (see the module).

    Permission is the caller's to check. Raises Contact.DoesNotExist when the contact
    went meanwhile (nothing changed).
    """
    return subjects_erase(
        [subject], actor=actor, reason=reason, note=note, suppress=suppress, via=via, run=run
    )[0]


def subjects_erase(
    subjects: Sequence[Subject],
    *,
    actor: Any,
    reason: str,
    note: str = "",
    suppress: bool = True,
    via: str = "ui",
    run: RetentionRun | None = None,
) -> list[ErasureLog]:
    """``subject_erase`` for several people in one transaction (a retention run's
    chunk): areas that read much to find a person (stored files) read once for all.
    One log per person. Raises Contact.DoesNotExist when one of them went meanwhile
    (nothing changed)."""
    with _overwriting_deletes(), transaction.atomic():
        ids = [s.contact_id for s in subjects]
        present = set(
            Contact.objects.select_for_update().filter(pk__in=ids).values_list("pk", flat=True)
        )
        for contact_id in ids:
            if contact_id not in present:
                raise Contact.DoesNotExist(f"There is no contact #{contact_id}.")
        kept = [suppressible(s) for s in subjects]
        logs = [
            ErasureLog.objects.create(
                contact_id=s.contact_id,
                merged_ids=list(s.contact_ids[1:]),
                mode=Mode.ANONYMISE if s.keep_record else Mode.ERASE,
                reason=reason,
                note=note,
                actor=actor if getattr(actor, "pk", None) else None,
                via=via,
                retention_run=run,
            )
            for s in subjects
        ]
        counts: list[dict[str, Counts]] = [{} for _ in subjects]
        for part in providers():
            if part.erase_many is not None:
                results = part.erase_many(subjects)
            else:
                results = [part.erase(s) for s in subjects]
            for into, result in zip(counts, results, strict=True):
                shown = {k: v for k, v in result.items() if v}
                if shown:
                    into[part.name] = shown
        for subject, log, (emails, phones), removed in zip(
            subjects, logs, kept, counts, strict=True
        ):
            if subject.keep_record:
                Anonymised.objects.update_or_create(
                    contact_id=subject.contact_id, defaults={"erasure": log}
                )
            else:
                Anonymised.objects.filter(contact_id__in=subject.contact_ids).delete()
                if Contact.objects.filter(pk=subject.contact_id).exists():
                    raise RuntimeError("The contact record was not erased; nothing was changed.")
            log.counts = removed
            if suppress:
                log.suppressed = suppression_add(erasure=log, emails=emails, phones=phones)
            log.save(update_fields=["counts", "suppressed"])
        transaction.on_commit(_compact_search_later)
    return logs


def _compact_search_later() -> None:
    from rapport.privacy.tasks import compact_search_index

    try:
        compact_search_index.enqueue()
    except Exception:  # the erasure stands; the index is compacted by the next one
        logger.exception("Could not queue the search index compaction after an erasure")
