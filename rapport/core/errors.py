"""Errors raised by services and understood by every entry path (UI, API, CLI)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field, addressed by its path (``emails[1].address``)."""

    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.path, "message": self.message}

    @property
    def label(self) -> str:
        """The field as a person reads it (``given_name`` → "Given name")."""
        from rapport.core.labels import label_for

        return label_for(self.path)

    def __str__(self) -> str:
        return f"{self.label}: {self.message}"


class InvalidInput(Exception):
    """Raised by a service when any part of the input is invalid; nothing was saved."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__(errors)

    def __str__(self) -> str:
        """Every problem, each with its field's label: what a message or a CLI shows."""
        return "; ".join(str(e) for e in self.errors)

    @classmethod
    def single(cls, path: str, message: str) -> InvalidInput:
        return cls([FieldError(path, message)])

    def by_field(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for error in self.errors:
            grouped.setdefault(error.path, []).append(error.message)
        return grouped


class NotAdmitted(InvalidInput):
    """The person may not be created (or given these details) now: they asked to be
    erased and are on the suppression list (see ``core.hooks.contacts_admitting``).
    An importer reports the row as suppressed instead of dropping the refused value."""


class Conflict(Exception):
    """The object changed since the caller read it (a failed If-Match)."""


class NotPermitted(Exception):
    """The actor may not do this; raised by the policy module."""


class UnsupportedMediaType(Exception):
    """The request body is in a format the endpoint does not read (HTTP 415)."""
