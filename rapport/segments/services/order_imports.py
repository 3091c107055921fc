"""Files of orders: read through the order checks one row at a time, every bad row
reported by number and column with nothing of it saved, the batch recorded so it can be
undone.

On the page a file is uploaded (``orders_upload``: kept, its columns read and matched to
order fields by name), its columns confirmed (``orders_import_start``) and read by the
worker (``orders_import_run``), which survives being killed: rows are written 500 at a
time, each group in one transaction with the batch's progress, so a run taken over by
another worker goes on exactly where the last group ended. The command line reads a file
where it lies (``orders_import``) through the same steps.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from rapport.core import jobs, policy
from rapport.core.errors import InvalidInput
from rapport.segments.models import Order, OrderImport
from rapport.segments.services.orders import order_write

TARGETS = ("external_id", "contact", "email", "organization", "ordered_at", "amount", "currency",
           "status", "products", "categories")  # fmt: skip
_SYNONYMS = {
    "order": "external_id", "order_id": "external_id", "order_number": "external_id",
    "id": "external_id", "number": "external_id", "contact_id": "contact",
    "customer_email": "email", "e_mail": "email", "organization_id": "organization",
    "date": "ordered_at", "order_date": "ordered_at", "created": "ordered_at",
    "total": "amount", "value": "amount", "price": "amount", "product": "products",
    "items": "products", "category": "categories",
}  # fmt: skip
MAX_REPORTED = 1_000
MAX_BYTES = 1024**3
CHUNK = 500


def _target(header: str) -> str | None:
    key = "_".join(header.strip().lower().replace("-", " ").split())
    if key in TARGETS:
        return key
    return _SYNONYMS.get(key)


def proposed_mapping(headers: list[str]) -> dict[str, str]:
    """Each column's order field, found by its name ("" where none is)."""
    return {h: _target(h) or "" for h in headers}


@dataclass
class ImportResult:
    batch: Any
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _targets(headers: list[str], mapping: Mapping[str, str]) -> dict[int, str]:
    """Column index -> order field; InvalidInput when a field is unknown or a needed one
    has no column."""
    targets: dict[int, str] = {}
    for index, header in enumerate(headers):
        target = str(mapping.get(header) or "")
        if target and target not in TARGETS:
            raise InvalidInput.single("mapping", f"“{target[:40]}” is not an order field.")
        if target:
            if target in targets.values():
                raise InvalidInput.single("mapping", f"Two columns fill {target}; choose one.")
            targets[index] = target
    found = set(targets.values())
    missing = [f for f in ("ordered_at", "amount") if f not in found]
    if not found & {"contact", "email", "organization"}:
        missing.append("email, contact or organization")
    if missing:
        raise InvalidInput.single(
            "mapping",
            f"No column for {', '.join(missing)} (columns: {', '.join(headers[:20])}).",
        )
    return targets


def _table(path: Path, file_name: str) -> Any:
    from rapport.ingest import parsers

    try:
        return parsers.detect(path, file_name)
    except parsers.UnreadableFile as exc:
        raise InvalidInput.single("file", str(exc)) from None


def stored_table(batch: OrderImport) -> Any:
    """The rows of an uploaded file kept for an import; InvalidInput if unreadable."""
    return _table(Path(batch.file.path), batch.file_name)


def _forget_file(batch: OrderImport) -> None:
    """An import that ended keeps no copy of its file (it holds people's addresses):
    its report, the orders it created and the values it changed are what undo needs."""
    name, storage = str(batch.file.name), batch.file.storage
    if name:
        OrderImport.objects.filter(pk=batch.pk).update(file="")
        transaction.on_commit(lambda: storage.delete(name))


def orders_upload(*, actor: Any, upload: IO[bytes], file_name: str) -> OrderImport:
    """Keep an uploaded file of orders and match its columns to order fields; nothing is
    kept when it cannot be read."""
    policy.require(actor, "orders.change")
    file_name = Path(file_name or "orders").name[:255]
    digest, size = hashlib.sha256(), 0
    for chunk in iter(lambda: upload.read(1024 * 1024), b""):
        digest.update(chunk)
        size += len(chunk)
        if size > MAX_BYTES:
            raise InvalidInput.single("file", "The file is larger than 1 GB.")
    if size == 0:
        raise InvalidInput.single("file", "The file is empty.")
    upload.seek(0)
    batch = OrderImport(
        file_name=file_name, status=OrderImport.Status.DRAFT,
        created_by=actor if getattr(actor, "pk", None) else None,
    )  # fmt: skip
    batch.file.save(f"{digest.hexdigest()[:16]}-{file_name}", File(upload), save=False)
    try:
        table = _table(Path(batch.file.path), file_name)
    except InvalidInput:
        batch.file.delete(save=False)
        raise
    batch.headers = list(table.headers)
    batch.mapping = proposed_mapping(batch.headers)
    batch.save()
    return batch


def orders_import_start(
    *, actor: Any, batch: OrderImport, mapping: Mapping[str, str]
) -> OrderImport:
    """Confirm the columns and queue the import for the worker."""
    from rapport.segments.tasks import run_order_import

    policy.require(actor, "orders.change")
    if batch.status != OrderImport.Status.DRAFT:
        raise InvalidInput.single("batch", "This import has started already.")
    clean = {h: str(mapping.get(h) or "") for h in batch.headers}
    _targets(batch.headers, clean)
    updated = OrderImport.objects.filter(pk=batch.pk, status=OrderImport.Status.DRAFT).update(
        mapping=clean, status=OrderImport.Status.QUEUED
    )
    if not updated:
        raise InvalidInput.single("batch", "This import has started already.")
    transaction.on_commit(lambda: run_order_import.enqueue(batch_id=batch.pk))
    batch.refresh_from_db()
    return batch


def orders_import_run(*, batch_id: int) -> None:
    """Read a queued import's file (or take over one whose worker died), 500 rows at a
    time, and mark it done; a file that cannot be read marks it failed."""
    claim = jobs.job_claim(
        OrderImport,
        batch_id,
        startable=[OrderImport.Status.QUEUED],
        running=OrderImport.Status.RUNNING,
    )
    if claim is None:
        return
    batch = OrderImport.objects.get(pk=batch_id)
    with jobs.job_heartbeat(claim):
        try:
            table = stored_table(batch)
            targets = _targets(list(table.headers), batch.mapping)
        except (InvalidInput, OSError) as exc:
            message = exc.errors[0].message if isinstance(exc, InvalidInput) else str(exc)
            claim.update(
                status=OrderImport.Status.FAILED, error=message[:500], finished_at=timezone.now()
            )
            _forget_file(batch)
            return
        actor = batch.created_by
        _read(batch, table, targets, actor=actor, via="ui", claim=claim)
        claim.update(status=OrderImport.Status.DONE, finished_at=timezone.now())
        _forget_file(batch)


def order_import_stopped_message(batch: OrderImport) -> str:
    return f"The worker importing {batch.file_name} stopped; another takes it over from row {batch.rows + 1}."


def orders_import(
    *, actor: Any, path: Any, file_name: str, mapping: Mapping[str, str] | None = None,
    via: str = "cli",
) -> ImportResult:  # fmt: skip
    """Import a CSV or XLSX file of orders where it lies: one order per row, columns found
    by name (``external_id``/``order``, ``email`` or ``contact``, ``date``, ``amount``,
    ``currency``, ``status``, ``products``, ``categories``; or ``mapping`` header →
    field). Good rows are saved, each bad one reported by row number with the column
    and reason, nothing of a bad row saved; the batch can be undone. Memory stays
    bounded whatever the file (rows are read one at a time)."""
    policy.require(actor, "orders.change")
    table = _table(Path(path), file_name)
    headers = list(table.headers)
    chosen = (
        {h: (mapping or {}).get(h, "") for h in headers} if mapping else proposed_mapping(headers)
    )
    if mapping:
        unknown = [h for h in mapping if h not in headers]
        if unknown:
            raise InvalidInput.single("mapping", f"There is no column “{unknown[0][:60]}”.")
    targets = _targets(headers, chosen)
    batch = OrderImport.objects.create(
        file_name=str(file_name)[:255], status=OrderImport.Status.RUNNING, headers=headers,
        mapping=chosen, created_by=actor if getattr(actor, "pk", None) else None,
    )  # fmt: skip
    result = _read(batch, table, targets, actor=actor, via=via, claim=None)
    OrderImport.objects.filter(pk=batch.pk).update(
        status=OrderImport.Status.DONE, finished_at=timezone.now()
    )
    batch.refresh_from_db()
    result.batch = batch
    return result


def _read(
    batch: OrderImport, table: Any, targets: dict[int, str], *, actor: Any, via: str,
    claim: jobs.Claim | None,
) -> ImportResult:  # fmt: skip
    """Write the rows after the last group recorded, a group of ``CHUNK`` rows per
    transaction together with the batch's progress."""
    counts = {"created": 0, "changed": 0, "unchanged": 0, "failed": 0, **batch.counts}
    result = ImportResult(
        batch,
        counts["created"],
        counts["changed"],
        counts["unchanged"],
        counts["failed"],
        list(batch.errors),
    )
    done = batch.rows
    created, previous = list(batch.created_ids), dict(batch.previous)
    rows = iter(table.rows)
    position = 0
    finished = False
    while not finished:
        with transaction.atomic():
            if claim is not None:
                claim.confirm()  # holds the job until this group commits
            taken = 0
            for row_number, cells in rows:
                position += 1
                if position <= done:
                    continue  # written by an earlier run
                taken += 1
                _row(result, table, targets, row_number, cells, actor, via, created, previous)
                if taken >= CHUNK:
                    break
            else:
                finished = True
            if result.failed > 10 * MAX_REPORTED and len(result.errors) >= MAX_REPORTED:
                _report(result, "Too many refused rows: the rest of the file was not read.")
                finished = True
            progress = {
                "rows": position, "created_ids": created, "previous": previous,
                "errors": result.errors, "counts": {
                    "created": result.created, "changed": result.changed,
                    "unchanged": result.unchanged, "failed": result.failed,
                },
            }  # fmt: skip
            if claim is not None:
                claim.update(**progress)
            else:
                OrderImport.objects.filter(pk=batch.pk).update(**progress)
    return result


def _row(
    result: ImportResult, table: Any, targets: dict[int, str], row_number: int, cells: Any,
    actor: Any, via: str, created: list[int], previous: dict[str, Any],
) -> None:  # fmt: skip
    if cells is None:
        result.failed += 1
        _report(result, f"Row {row_number}: {table.take_problem(row_number) or 'unreadable'}")
        return
    data = {f: cells[i] for i, f in targets.items() if i < len(cells)}
    external_id = str(data.get("external_id") or "").strip()
    try:
        with transaction.atomic():
            before = (
                Order.objects.filter(external_id=external_id).values().first()
                if external_id
                else None
            )
            written = order_write(actor=actor, data=data, via=via)
    except (ValueError, ArithmeticError, OverflowError) as exc:
        result.failed += 1
        _report(result, f"Row {row_number}: cannot be read ({exc.__class__.__name__}).")
        return
    except InvalidInput as exc:
        result.failed += 1
        for error in exc.errors:
            column = next(
                (table.headers[i] for i, f in targets.items() if f == error.path), error.path
            )
            _report(result, f"Row {row_number}, {column}: {error.message}")
        return
    if written.created:
        result.created += 1
        created.append(written.order.pk)
    elif before is not None and written.order.version != before["version"]:
        result.changed += 1
        previous.setdefault(str(written.order.pk), _plain(before))
    else:
        result.unchanged += 1


def _report(result: ImportResult, line: str) -> None:
    if len(result.errors) < MAX_REPORTED:
        result.errors.append(line)


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: (
            str(v) if isinstance(v, Decimal) else v.isoformat() if isinstance(v, dt.datetime) else v
        )
        for k, v in row.items()
        if k not in ("id", "created_at")
    }


@transaction.atomic
def orders_import_undo(*, actor: Any, batch_id: int) -> int:
    """Take an import back: the orders it created are deleted, the ones it changed get
    their earlier values back. Returns how many orders were touched."""
    policy.require(actor, "orders.change")
    batch = OrderImport.objects.select_for_update().filter(pk=batch_id).first()
    if batch is None:
        raise InvalidInput.single("batch", "No such import.")
    if batch.undone_at is not None:
        raise InvalidInput.single("batch", "This import was undone already.")
    if batch.status in (OrderImport.Status.QUEUED, OrderImport.Status.RUNNING):
        raise InvalidInput.single("batch", "This import is still running; undo it when it ends.")
    touched = Order.objects.filter(pk__in=batch.created_ids).delete()[0]
    for pk, values in batch.previous.items():
        values = dict(values)
        values["ordered_at"] = dt.datetime.fromisoformat(values["ordered_at"])
        values["amount"] = Decimal(values["amount"])
        values.pop("updated_at", None)
        touched += Order.objects.filter(pk=int(pk)).update(**values)
    batch.undone_at = timezone.now()
    batch.save(update_fields=["undone_at"])
    return touched
