"""Row locks taken in one order, and one retry for the loser of a deadlock.

The order every write follows (so two writers never wait on each other in a circle):
records first — contacts, then organizations, each by ascending id — then the shared
vocabulary they point at (tags, custom field definitions). A write that changes a tag
therefore locks the records carrying it before the tag itself, like a record edit does.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import IntegrityError, OperationalError, connection

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# PostgreSQL: deadlock_detected, serialization_failure, and a foreign key to a row that a
# concurrent transaction deleted (the retry validates again and sees it gone).
_RETRYABLE = {"40P01", "40001", "23503"}


def _sqlstate(exc: Exception) -> str | None:
    return getattr(exc.__cause__, "sqlstate", None)


def retry_once_on_conflict(func: Callable[P, T]) -> Callable[P, T]:
    """Run ``func`` (a whole transaction) again once if the database aborted it as the
    victim of a deadlock or a concurrent delete.

    Safe because the aborted attempt was rolled back entirely; for the same reason it
    retries only when no outer transaction is open (inside one, the caller's work would
    be lost, so the error is left to the caller).
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        if connection.in_atomic_block:
            return func(*args, **kwargs)
        try:
            return func(*args, **kwargs)
        except (OperationalError, IntegrityError) as exc:
            if _sqlstate(exc) not in _RETRYABLE:
                raise
            logger.warning("Retrying %s once after a concurrent write: %s", func.__qualname__, exc)
        return func(*args, **kwargs)

    return wrapper
