"""The hash chain over the ledger: what each row's hash covers, and its check.

``hash = sha256(canonical JSON of the row's content, including prev_hash)``. The JSON
has sorted keys, no spaces, UTF-8, and times as ISO 8601 in UTC with microseconds,
so the same row always gives the same bytes on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64

# Every column a row's hash covers (all but ``id`` and ``hash`` itself).
HASHED_FIELDS = (
    "seq",
    "contact_id",
    "subject_key",
    "purpose_id",
    "purpose_key",
    "lawful_basis",
    "channel",
    "point_key",
    "point_sealed",
    "action",
    "given_at",
    "recorded_at",
    "valid_until",
    "source",
    "source_ref",
    "method",
    "text_id",
    "text_sha256",
    "text_version",
    "evidence_sealed",
    "token_id",
    "needs_confirmation",
    "confirms_id",
    "recorded_by_id",
    "recorded_by_name",
    "reference_sealed",
    "note_sealed",
    "prev_hash",
)


def _canonical_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # SQLite hands back naive UTC
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return value


def row_hash(values: Mapping[str, Any]) -> str:
    """The hash of one row, from its column values (``HASHED_FIELDS``)."""
    content = {name: _canonical_value(values[name]) for name in HASHED_FIELDS}
    raw = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Break:
    """The first row where the chain does not hold, and why."""

    seq: int
    event_id: int | None
    reason: str


def first_break(
    rows: Iterable[Mapping[str, Any]], *, head_seq: int, head_hash: str
) -> tuple[int, Break | None]:
    """Walk ``rows`` (every column of ``HASHED_FIELDS`` plus ``id`` and ``hash``, in
    ``seq`` order) and return how many were checked and the first break, if any:
    a missing or extra row, a row whose content no longer gives its hash, a row that
    does not follow the one before it, or a chain head that disagrees with the end."""
    expected_prev = GENESIS
    expected_seq = 1
    count = 0
    for row in rows:
        count += 1
        seq = int(row["seq"])
        if seq != expected_seq:
            missing = "missing" if seq > expected_seq else "repeated"
            return count, Break(expected_seq, row["id"], f"row #{expected_seq} is {missing}")
        if row["prev_hash"] != expected_prev:
            return count, Break(seq, row["id"], "it does not follow the row before it")
        if row_hash(row) != row["hash"]:
            return count, Break(seq, row["id"], "its content was changed after it was written")
        expected_prev = row["hash"]
        expected_seq += 1
    if head_seq != expected_seq - 1 or head_hash != expected_prev:
        return count, Break(
            expected_seq,
            None,
            f"rows after #{expected_seq - 1} are missing (the chain head says #{head_seq})",
        )
    return count, None


def batched(rows: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
