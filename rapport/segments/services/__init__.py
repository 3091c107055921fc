"""Every write of the segments area: segments, lists, orders and scores. UI, API and CLI
call these and nothing else."""

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
from rapport.segments.services.scores import (
    score_create,
    score_delete,
    score_refresh_request,
    score_update,
)
from rapport.segments.services.scoring import (
    ScoreRefreshed,
    score_refresh_due,
    scores_due,
    scores_refresh,
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
from rapport.segments.services.value_model import (
    PredictionState,
    PredictionUnavailable,
    clv_available,
    prediction_out,
    prediction_state,
    value_model_fit,
)

__all__ = [
    "BULK_ACTIONS", "GROUP_NAMES", "ImportResult", "orders_import", "orders_import_run", "orders_import_start", "orders_import_undo", "orders_upload", "MAX_LIST_ADD", "MAX_NAME", "REFRESH_CHUNK", "REFRESH_EVERY",
    "Refreshed", "RfmResult", "ScoreRefreshed", "score_create", "score_delete",
    "score_refresh_due", "score_refresh_request", "score_update", "scores_due", "scores_refresh", "Written", "group_of", "list_add", "list_add_matching", "list_create", "list_delete",
    "list_remove", "order_delete", "order_fields", "order_write", "rfm_refresh", "segment_bulk",
    "segment_bulk_preview", "segment_create", "segment_delete", "segment_refresh",
    "segment_update", "segments_due", "segments_mark_stale", "PredictionState",
    "PredictionUnavailable", "clv_available", "prediction_out", "prediction_state",
    "value_model_fit",
]  # fmt: skip
