"""Every write of the segments area: segments, lists and orders. UI, API and CLI call
these and nothing else."""

from rapport.segments.services.order_imports import (
    ImportResult,
    orders_import,
    orders_import_run,
    orders_import_start,
    orders_import_undo,
    orders_upload,
)
from rapport.segments.services.orders import (
    GROUP_NAMES,
    RfmResult,
    Written,
    group_of,
    order_delete,
    order_fields,
    order_write,
    rfm_refresh,
)
from rapport.segments.services.segments import (
    BULK_ACTIONS,
    MAX_LIST_ADD,
    MAX_NAME,
    REFRESH_CHUNK,
    REFRESH_EVERY,
    Refreshed,
    list_add,
    list_add_matching,
    list_create,
    list_delete,
    list_remove,
    segment_bulk,
    segment_bulk_preview,
    segment_create,
    segment_delete,
    segment_refresh,
    segment_update,
    segments_due,
    segments_mark_stale,
)

__all__ = [
    "BULK_ACTIONS", "GROUP_NAMES", "ImportResult", "orders_import", "orders_import_run", "orders_import_start", "orders_import_undo", "orders_upload", "MAX_LIST_ADD", "MAX_NAME", "REFRESH_CHUNK", "REFRESH_EVERY",
    "Refreshed", "RfmResult", "Written", "group_of", "list_add", "list_add_matching", "list_create", "list_delete",
    "list_remove", "order_delete", "order_fields", "order_write", "rfm_refresh", "segment_bulk",
    "segment_bulk_preview", "segment_create", "segment_delete", "segment_refresh",
    "segment_update", "segments_due", "segments_mark_stale",
]  # fmt: skip
