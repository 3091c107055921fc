"""Everything Rapport holds about one person, reached through one registry.

A privacy request (a subject access export, an erasure, a retention policy's
anonymisation) must find the person's data in every area: the contact record, the
interactions and tasks, the rows of stored import files, merge snapshots, matching
keys, search indexes, stored exports, and whatever areas come later (consent). The
privacy app knows none of them; each app registers a ``SubjectProvider`` for what it
keeps, in its ``AppConfig.ready()``::

    subjects.register_provider("activity", "rapport.activity.subject_data:PROVIDER")

The path is imported the first time a privacy request needs it, so no command pays
for it at start. The privacy app then calls, for one ``Subject``:

- ``identify(contact_ids)`` of every provider that has one, before anything else: the
  email addresses, phone numbers, names and external ids the person is known by
  (their own and those of contacts merged into them, which live on in merge
  snapshots). The union goes into the ``Subject`` every other call receives, so a
  provider that runs after the contact's own rows are gone still knows what to look for.
- ``export(subject)`` → ``Exported``: JSON-able sections (title → records) and files
  (attachments, a photo) for the subject access archive.
- ``preview(subject)`` → ``Counts``: what an erasure would remove, as counts.
- ``erase(subject)`` → ``Counts``: remove it, inside the privacy app's one transaction,
  in ``order`` (the contact record itself goes last). A provider never returns or logs
  the data it removed, only how much of each kind. A provider that reads much to find
  the person (stored files) may also offer ``erase_many(subjects)`` → one ``Counts`` per
  subject, which a retention run calls for a chunk of people in one transaction.

``Counts`` map a short phrase ("interactions", "participant rows") to a number; the
same phrases in ``preview`` and ``erase`` so the page that asked "what will go" and the
log of what went read alike. ``Subject.keep_record`` asks for an anonymisation: the
contact row stays with the statistical fields the contacts provider keeps (see
docs/privacy.md); every other provider removes the same as for an erasure.
``categories`` describe, for the records of processing (GDPR Art. 30), which kinds of
personal data a provider keeps. ``notes(contact_id)`` may give short lines for the
contact's privacy page ("Processing restricted since 3 May").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from typing import IO, Any

Counts = dict[str, int]


@dataclass(frozen=True)
class Identity:
    """What a person is known by in one area: normalised email addresses (lower case),
    E.164 phone numbers, names as written, and (source, value) external ids."""

    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    external_ids: tuple[tuple[str, str], ...] = ()


# Names shorter than this (after folding spaces) are not searched for in text: "Li"
# or "Ana" alone would match far more than the person.
MIN_NAME_CHARS = 5


@dataclass(frozen=True)
class Subject:
    """The person a privacy request is about, as every provider receives them.

    ``contact_id`` is the contact the request names; ``contact_ids`` holds it and every
    contact merged into it over time (merged-away ids). The identifiers are the union of
    the providers' ``identify`` answers, gathered before anything was erased.
    """

    contact_id: int
    contact_ids: tuple[int, ...]
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    external_ids: tuple[tuple[str, str], ...] = ()
    keep_record: bool = False

    def text_identifiers(self) -> tuple[str, ...]:
        """What identifies the person inside free text (an email body, a history entry,
        a cell of an import file): their addresses, numbers and full names, longest
        first so a redaction replaces "Ada King-Lovelace" before "Ada King"."""
        names = [n for n in self.names if len(" ".join(n.split())) >= MIN_NAME_CHARS]
        found = {*self.emails, *self.phones, *names}
        return tuple(sorted((x for x in found if x), key=lambda x: (-len(x), x)))

    def mentioned_in(self, text: str) -> bool:
        """True when ``text`` holds one of the person's identifiers (case ignored)."""
        return bool(text) and bool(_pattern(self.text_identifiers()).search(text))

    def redact(self, text: str, replacement: str = "[erased]") -> str:
        """``text`` with each of the person's identifiers replaced (case ignored)."""
        if not text:
            return text
        return _pattern(self.text_identifiers()).sub(replacement, text)


_EMAIL = re.compile(r"[^\s@<>\"',;:()\[\]\x00]+@[^\s@<>\"',;:()\[\]\x00]+")


def emails_in(text: str) -> list[str]:
    """The email addresses in ``text`` (a cell, a message), lower case, for looking up
    many people at once where ``Subject.mentioned_in`` would take one pass each."""
    if "@" not in text:
        return []
    return [found.casefold().rstrip(".") for found in _EMAIL.findall(text)]


_patterns: dict[tuple[str, ...], re.Pattern[str]] = {}


def _pattern(identifiers: tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive pattern for all identifiers; a name matches with any run
    of spaces between its words. Never matches when there is nothing to look for."""
    if identifiers not in _patterns:
        if not identifiers:
            _patterns[identifiers] = re.compile(r"(?!x)x")
        else:
            parts = [r"\s+".join(re.escape(word) for word in x.split()) for x in identifiers]
            _patterns[identifiers] = re.compile("|".join(parts), re.IGNORECASE)
        if len(_patterns) > 256:
            _patterns.pop(next(iter(_patterns)))
    return _patterns[identifiers]


@dataclass(frozen=True)
class ExportedFile:
    """A file for the archive (an attachment, a photo): where it goes inside
    ``files/<provider>/``, how to open it, and its size in bytes."""

    name: str
    open: Callable[[], IO[bytes]]
    size: int


@dataclass
class Exported:
    """What one provider holds about the person: ``sections`` map a title to JSON-able
    records (a dict, or a list of dicts); ``files`` go into the archive beside them."""

    sections: dict[str, Any] = field(default_factory=dict)
    files: list[ExportedFile] = field(default_factory=list)


@dataclass(frozen=True)
class DataCategory:
    """A kind of personal data a provider keeps, for the records of processing:
    ``name`` ("Contact details"), ``examples`` ("email addresses, phone numbers"),
    ``where`` (the tables or files it lives in)."""

    name: str
    examples: str
    where: str


@dataclass(frozen=True)
class SubjectProvider:
    """One area's part in privacy requests; see the module docstring for the contract."""

    name: str
    label: str
    export: Callable[[Subject], Exported]
    preview: Callable[[Subject], Counts]
    erase: Callable[[Subject], Counts]
    order: int = 100
    identify: Callable[[Sequence[int]], Identity] | None = None
    erase_many: Callable[[Sequence[Subject]], list[Counts]] | None = None
    categories: tuple[DataCategory, ...] = ()
    notes: Callable[[int], list[str]] | None = None


_paths: dict[str, str] = {}
_loaded: dict[str, SubjectProvider] = {}


def register_provider(name: str, path: str) -> None:
    """Register the provider ``module:attribute`` under ``name`` (imported when first
    needed). Registering a name again replaces it."""
    _paths[name] = path
    _loaded.pop(name, None)


def provider(name: str) -> SubjectProvider:
    """The provider registered as ``name``; KeyError when there is none."""
    if name not in _loaded:
        module, _, attribute = _paths[name].partition(":")
        found = getattr(import_module(module), attribute)
        if not isinstance(found, SubjectProvider) or found.name != name:
            raise TypeError(f"{_paths[name]} is not the SubjectProvider named {name!r}")
        _loaded[name] = found
    return _loaded[name]


def providers() -> list[SubjectProvider]:
    """Every registered provider, in erasure order (then by name)."""
    return sorted((provider(name) for name in _paths), key=lambda p: (p.order, p.name))


def identity_union(parts: Iterable[Identity]) -> Identity:
    """One identity holding every part's identifiers once, in first-seen order."""
    emails: dict[str, None] = {}
    phones: dict[str, None] = {}
    names: dict[str, None] = {}
    ids: dict[tuple[str, str], None] = {}
    for part in parts:
        emails.update(dict.fromkeys(e.casefold() for e in part.emails if e))
        phones.update(dict.fromkeys(p for p in part.phones if p))
        names.update(dict.fromkeys(" ".join(n.split()) for n in part.names if n.strip()))
        ids.update(dict.fromkeys(x for x in part.external_ids if x[0] and x[1]))
    return Identity(tuple(emails), tuple(phones), tuple(names), tuple(ids))
