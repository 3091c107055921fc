"""Opaque keyset cursors: the last row's sort key, base64-encoded JSON."""

from __future__ import annotations

import base64
import json
from typing import Any

from rapport.core.errors import InvalidInput


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    """Return the sort key stored in ``cursor``; raise InvalidInput when it is not ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput.single("cursor", "This cursor is not valid.") from None
    if not isinstance(values, list) or len(values) != size:
        raise InvalidInput.single("cursor", "This cursor is not valid.")
    if any(isinstance(v, int) and not -(2**63) <= v < 2**63 for v in values):
        # Beyond what a database integer holds: SQLite would overflow.
        raise InvalidInput.single("cursor", "This cursor is not valid.")
    return values
