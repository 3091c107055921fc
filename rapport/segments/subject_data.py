"""The segments area's part in privacy requests (see ``rapport.core.subjects``): the
person's orders and what was computed from them (customer value: RFM and the predicted
value, which is profiling), the values of the scores admins defined (profiling too, so
an export also says how each was reached: the score's rules in words), the lists they
are on, and their stays in segments.

An erasure (or an anonymisation) removes all of it. Order imports are cleaned too: a
finished import keeps no file (see ``services.order_imports``), but the orders it
changed keep their earlier values for an undo, and its report may quote an address;
those go. A file uploaded and still waiting for its columns is discarded when a row
names the person; one being imported now is left as it is (it is deleted when the
import ends)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from rapport.core.errors import InvalidInput
from rapport.core.subjects import Counts, DataCategory, Exported, Subject, SubjectProvider
from rapport.segments.models import (
    ContactScore,
    CustomerValue,
    ListMember,
    Order,
    OrderImport,
    ScoreRule,
    SegmentMember,
)

logger = logging.getLogger(__name__)

_RUNNING = (OrderImport.Status.QUEUED, OrderImport.Status.RUNNING)


def _ids(subject: Subject) -> list[int]:
    return list(subject.contact_ids)


def _orders(subject: Subject) -> list[dict[str, Any]]:
    return [
        {
            "external_id": o.external_id,
            "ordered_at": o.ordered_at,
            "amount": str(o.amount),
            "currency": o.currency,
            "status": o.status,
            "products": o.products,
            "categories": o.categories,
        }
        for o in Order.objects.filter(contact_id__in=_ids(subject)).order_by("ordered_at", "pk")
    ]


def _customer_value(subject: Subject) -> list[dict[str, Any]]:
    return [
        {
            "orders": v.orders,
            "revenue": str(v.revenue),
            "first_order_at": v.first_order_at,
            "last_order_at": v.last_order_at,
            "recency_score": v.recency,
            "frequency_score": v.frequency,
            "monetary_score": v.monetary,
            "group": v.group_label,
            "expected_orders": v.expected_orders,
            "chance_still_a_customer": v.p_alive,
            "predicted_value": None if v.predicted_value is None else str(v.predicted_value),
            "computed_at": v.computed_at,
            "how": (
                "Recency, frequency and monetary value scored 1-5 by quintile among all "
                "customers from paid and fulfilled orders; the group follows from recency "
                "and frequency. Expected orders, the chance of still being a customer and "
                "the predicted value come from a BG/NBD and Gamma-Gamma model fitted on "
                "every customer's order history."
            ),
        }
        for v in CustomerValue.objects.filter(contact_id__in=_ids(subject))
    ]


def _scores(subject: Subject) -> list[dict[str, Any]]:
    rows = list(
        ContactScore.objects.filter(contact_id__in=_ids(subject))
        .select_related("score")
        .order_by("score__name_key", "contact_id")
    )
    rules: dict[int, list[str]] = {}
    for rule in ScoreRule.objects.filter(score_id__in={r.score_id for r in rows}):
        rules.setdefault(rule.score_id, []).append(rule.summary)
    return [
        {
            "score": r.score.name,
            "value": r.value,
            "computed_at": r.computed_at,
            "rules": rules.get(r.score_id, []),
        }
        for r in rows
    ]


def export(subject: Subject) -> Exported:
    ids = _ids(subject)
    lists = [
        {"list": m.list.name, "added_at": m.added_at}
        for m in ListMember.objects.filter(contact_id__in=ids)
        .select_related("list")
        .order_by("list__name_key", "added_at")
    ]
    stays = [
        {
            "segment": s.segment.name,
            "query": s.segment.query,
            "entered_at": s.entered_at,
            "left_at": s.left_at,
        }  # fmt: skip
        for s in SegmentMember.objects.filter(contact_id__in=ids)
        .select_related("segment")
        .order_by("segment__name_key", "entered_at")
    ]
    return Exported(
        sections={
            "Orders": _orders(subject),
            "Customer value (profiling)": _customer_value(subject),
            "Scores": _scores(subject),
            "Lists": lists,
            "Segment membership": stays,
        }
    )


def _waiting_files(subject: Subject) -> tuple[list[OrderImport], int]:
    """Uploaded order files still waiting for their columns whose rows name the person,
    and how many imports are running now (not read)."""
    from rapport.segments.services.order_imports import stored_table

    found, running = [], 0
    for batch in OrderImport.objects.exclude(file="").order_by("pk"):
        if batch.status in _RUNNING:
            running += 1
            continue
        if batch.status != OrderImport.Status.DRAFT:
            continue
        try:
            rows = stored_table(batch).rows
            if any(cells and subject.mentioned_in(" ".join(map(str, cells))) for _n, cells in rows):
                found.append(batch)
        except (InvalidInput, OSError, ValueError) as exc:
            logger.warning(
                "Order import %s cannot be read for a privacy request: %s", batch.pk, exc
            )
    return found, running


def _reports(subject: Subject) -> list[OrderImport]:
    """Finished order imports whose report quotes the person or that hold the earlier
    values of one of their orders."""
    ids = set(_ids(subject))
    named = []
    for batch in OrderImport.objects.only("errors", "previous").order_by("pk"):
        quoted = any(subject.mentioned_in(line) for line in batch.errors)
        theirs = any(v.get("contact_id") in ids for v in batch.previous.values())
        if quoted or theirs:
            named.append(batch)
    return named


def _counts(
    subject: Subject, files: list[OrderImport], running: int, reports: list[OrderImport]
) -> Counts:
    ids = _ids(subject)
    return {
        "orders": Order.objects.filter(contact_id__in=ids).count(),
        "customer value (RFM, predicted value)": CustomerValue.objects.filter(
            contact_id__in=ids
        ).count(),
        "score values": ContactScore.objects.filter(contact_id__in=ids).count(),
        "list memberships": ListMember.objects.filter(contact_id__in=ids).count(),
        "segment stays": SegmentMember.objects.filter(contact_id__in=ids).count(),
        "order imports naming them": len(reports),
        "order files waiting for their columns (discarded)": len(files),
        "order imports running now (left as they are)": running,
    }


def preview(subject: Subject) -> Counts:
    return _counts(subject, *_waiting_files(subject), _reports(subject))


def erase(subject: Subject) -> Counts:
    files, running = _waiting_files(subject)
    reports = _reports(subject)
    counts = _counts(subject, files, running, reports)
    ids = _ids(subject)
    set_ids = set(ids)
    for batch in reports:
        previous = {k: v for k, v in batch.previous.items() if v.get("contact_id") not in set_ids}
        errors = [subject.redact(line) for line in batch.errors]
        OrderImport.objects.filter(pk=batch.pk).update(previous=previous, errors=errors)
    Order.objects.filter(contact_id__in=ids).delete()
    CustomerValue.objects.filter(contact_id__in=ids).delete()
    ContactScore.objects.filter(contact_id__in=ids).delete()
    ListMember.objects.filter(contact_id__in=ids).delete()
    SegmentMember.objects.filter(contact_id__in=ids).delete()
    for batch in files:
        name = str(batch.file.name)
        storage = batch.file.storage
        batch.delete()
        transaction.on_commit(lambda n=name, s=storage: s.delete(n))  # type: ignore[misc]
    return counts


PROVIDER = SubjectProvider(
    name="segments",
    label="Orders, scores, lists and segments",
    export=export,
    preview=preview,
    erase=erase,
    order=450,
    categories=(
        DataCategory(
            "Orders",
            "what they bought: when, amount and currency, status, products and categories",
            "segments_order; order import reports (segments_orderimport)",
        ),
        DataCategory(
            "Customer value (profiling)",
            "RFM scores and group, revenue, predicted orders and value, computed from orders",
            "segments_customervalue",
        ),
        DataCategory(
            "Scores (profiling)",
            "points per score from rules admins define: tags, stage, interactions, recency",
            "segments_contactscore",
        ),
        DataCategory(
            "List and segment membership",
            "the lists they were put on and when they entered and left each segment",
            "segments_listmember, segments_segmentmember",
        ),
    ),
)
