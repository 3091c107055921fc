"""What a newer area hears of the contact services' writes, without being imported by them.

The contact, import and merge services call ``contacts_saved``, ``contacts_merged`` and
``contacts_unmerged`` inside their transactions (the mail intake ``mail_arrived``); a newer app (activity, segments…)
registers a listener for each in its ``AppConfig.ready()``. Before they create a
contact (or add an email address or phone number to one) they ask
``contacts_admitting``, which a newer area (privacy: people who asked to be erased)
may answer with refusals; nothing is written then. A listener runs in the same
transaction as the write: when it raises, the write is rolled back with it, so what it
keeps in step (a mail participant linked to the contact whose email it is) never
drifts from the contacts.

Listeners must be cheap per call: an import sends one call per few hundred contacts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

SavedListener = Callable[[Sequence[int]], None]


@dataclass(frozen=True)
class Newcomer:
    """A person about to be created, or the details about to be added to a contact:
    normalised email addresses (``Email.address_key``) and E.164 numbers, each in the
    order of the input, so a refusal can name the field (``emails[1].address``)."""

    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    email_paths: tuple[str, ...] = ()
    phone_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refusal:
    """Why newcomer number ``index`` may not be admitted, naming the field (``path``)."""

    index: int
    path: str
    message: str


@dataclass(frozen=True)
class ArrivedMail:
    """What a newer area may act on in a message that came in (a synced mailbox, an
    upload, the drop box): its subject and the addresses it is from and to."""

    subject: str
    senders: tuple[str, ...]
    recipients: tuple[str, ...]


AdmittingListener = Callable[[Sequence[Newcomer]], list[Refusal]]
MailListener = Callable[[ArrivedMail], None]
MergedListener = Callable[[int, Sequence[int]], None]
DemoListener = Callable[[int], None]


@dataclass
class _Registry:
    saved: list[SavedListener] = field(default_factory=list)
    merged: list[MergedListener] = field(default_factory=list)
    unmerged: list[MergedListener] = field(default_factory=list)
    demo: list[DemoListener] = field(default_factory=list)
    admitting: list[AdmittingListener] = field(default_factory=list)
    mail: list[MailListener] = field(default_factory=list)


_registry = _Registry()


def on_contacts_saved(listener: SavedListener) -> SavedListener:
    """Call ``listener(contact_ids)`` after contacts were created or changed (their
    emails and phones may be new)."""
    if listener not in _registry.saved:
        _registry.saved.append(listener)
    return listener


def on_contacts_merged(listener: MergedListener) -> MergedListener:
    """Call ``listener(survivor_id, merged_ids)`` after contacts were merged into one
    (everything that pointed at the merged ones now points at the survivor)."""
    if listener not in _registry.merged:
        _registry.merged.append(listener)
    return listener


def on_contacts_unmerged(listener: MergedListener) -> MergedListener:
    """Call ``listener(survivor_id, restored_ids)`` after a merge was undone."""
    if listener not in _registry.unmerged:
        _registry.unmerged.append(listener)
    return listener


def contacts_saved(contact_ids: Sequence[int]) -> None:
    if contact_ids:
        for listener in _registry.saved:
            listener(contact_ids)


def contacts_merged(survivor_id: int, merged_ids: Sequence[int]) -> None:
    for listener in _registry.merged:
        listener(survivor_id, merged_ids)


def contacts_unmerged(survivor_id: int, restored_ids: Sequence[int]) -> None:
    for listener in _registry.unmerged:
        listener(survivor_id, restored_ids)


def on_demo_loaded(listener: DemoListener) -> DemoListener:
    """Call ``listener(first_contact_id)`` after realistic demo contacts were loaded, so
    a newer area adds demo data of its own to them."""
    if listener not in _registry.demo:
        _registry.demo.append(listener)
    return listener


def demo_loaded(first_contact_id: int) -> None:
    for listener in _registry.demo:
        listener(first_contact_id)


def on_contacts_admitting(listener: AdmittingListener) -> AdmittingListener:
    """Call ``listener(newcomers)`` before contacts are created or given new email
    addresses or phone numbers; what it returns refuses them (nothing is saved)."""
    if listener not in _registry.admitting:
        _registry.admitting.append(listener)
    return listener


def contacts_admitting(newcomers: Sequence[Newcomer]) -> list[Refusal]:
    """Every listener's refusals of ``newcomers`` (none: all may be saved). Cheap when
    nobody listens or nothing is given."""
    if not newcomers or not any(n.emails or n.phones for n in newcomers):
        return []
    refusals: list[Refusal] = []
    for listener in _registry.admitting:
        refusals += listener(newcomers)
    return refusals


def on_mail_arrived(listener: MailListener) -> MailListener:
    """Call ``listener(mail)`` for each message the mail intake reads (once per
    capture: a message captured again is heard again, so act idempotently)."""
    if listener not in _registry.mail:
        _registry.mail.append(listener)
    return listener


def mail_arrived(mail: ArrivedMail) -> None:
    for listener in _registry.mail:
        listener(mail)
