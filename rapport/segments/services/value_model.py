"""Predicted customer value: how many orders each customer will place over the next
months, how likely they are to still be a customer, and what those orders will be worth
— where the data allows.

``value_model_fit`` reads every customer's order figures as ``rfm_refresh`` left them
(orders, revenue in the base currency, first and last order), fits BG/NBD and
Gamma-Gamma (``services.clv``) and writes ``expected_orders``, ``p_alive`` and
``predicted_value`` on each ``CustomerValue``, recording the fit as a ``ValueModel``.

What a customer's history is, for the models: every counted order (paid, fulfilled) is a
purchase; ``x`` = orders − 1 repeat purchases, ``t_x`` = weeks from the first order to
the last, ``T`` = weeks from the first order to now (both to the day); the order value is the mean of all
their orders (revenue / orders, the first included), fitted on the customers with at
least two orders and a positive mean. Customers whose first order lies in the future
are left out, and their figures stay empty.

Refused, with the reason and the numbers (and every prediction emptied) when the data is
too thin: fewer than ``MIN_CUSTOMERS`` customers, fewer than ``MIN_REPEAT_CUSTOMERS``
who ordered again (with a positive order value), or orders spanning less than
``MIN_SPAN_DAYS``; or when either fit does not converge to finite parameters inside its
bounds, or Gamma-Gamma's q ≤ 1 (no finite mean order value). A correlation between
spend and frequency beyond ``CORRELATION_WARNING`` does not refuse the fit but is said
in its reason: Gamma-Gamma assumes there is none.

Needs numpy and scipy, the optional ``clv`` extra: without them ``clv_available()`` is
false and ``value_model_fit`` raises ``PredictionUnavailable`` (the message says what to
install); historical value is unaffected.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.util
import logging
import math
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from rapport.core import bulk
from rapport.segments.models import CustomerValue, ValueModel

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

MIN_CUSTOMERS = 200
MIN_REPEAT_CUSTOMERS = 50
MIN_SPAN_DAYS = 90
CORRELATION_WARNING = 0.3
HORIZON_MONTHS = 12
MAX_HORIZON_MONTHS = 120
KEEP_MODELS = 100
READ_CHUNK = 50_000
WRITE_BATCH = 10_000
DAY = 86_400.0
WEEKS_PER_MONTH = 365.25 / 7 / 12
EXTRA_MESSAGE = (
    "Predictive value needs the optional `clv` extra (numpy and scipy): "
    "pip install -r requirements-clv.lock (or pip install 'rapport[clv]'), then restart "
    "Rapport."
)


class PredictionUnavailable(Exception):
    """numpy or scipy is not installed: the optional ``clv`` extra is missing."""


@functools.cache
def clv_available() -> bool:
    """Whether numpy and scipy can be imported (looked up, not imported: cheap)."""
    return all(importlib.util.find_spec(name) is not None for name in ("numpy", "scipy"))


@dataclass(frozen=True)
class History:
    """Every customer's history as the models read it, one array element per customer."""

    contact_ids: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    orders: np.ndarray
    mean: np.ndarray
    span_days: float


def customer_history(*, now: dt.datetime) -> History:
    """Read every ``CustomerValue`` in chunks of ``READ_CHUNK`` (by contact id) into
    arrays; customers whose first order is after ``now`` are left out."""
    import numpy as np

    ids: list[int] = []
    orders: list[int] = []
    revenue: list[float] = []
    first: list[float] = []
    last: list[float] = []
    after = 0
    stamp = now.timestamp()
    while True:
        chunk = list(
            CustomerValue.objects.filter(contact_id__gt=after)
            .order_by("contact_id")
            .values_list("contact_id", "orders", "revenue", "first_order_at", "last_order_at")[
                :READ_CHUNK
            ]
        )
        if not chunk:
            break
        for contact_id, count, total, first_at, last_at in chunk:
            if first_at.timestamp() > stamp:
                continue
            ids.append(contact_id)
            orders.append(count)
            revenue.append(float(total))
            first.append(first_at.timestamp())
            last.append(last_at.timestamp())
        after = chunk[-1][0]
    first_a = np.asarray(first, dtype=np.float64)
    last_a = np.minimum(np.asarray(last, dtype=np.float64), stamp)
    orders_a = np.asarray(orders, dtype=np.float64)
    # to the day: customers who share a history are fitted once (services.clv)
    return History(
        contact_ids=np.asarray(ids, dtype=np.int64),
        x=np.maximum(orders_a - 1, 0),
        t_x=np.round(np.maximum(last_a - first_a, 0) / DAY) / 7,
        T=np.round((stamp - first_a) / DAY) / 7,
        orders=orders_a,
        mean=np.asarray(revenue, dtype=np.float64) / np.maximum(orders_a, 1),
        span_days=float((stamp - first_a.min()) / DAY) if len(first_a) else 0.0,
    )


def value_model_fit(
    *,
    now: dt.datetime | None = None,
    horizon_months: int = HORIZON_MONTHS,
    annual_discount: float = 0.0,
) -> ValueModel:
    """Fit the models on every customer and write each one's predictions, or refuse and
    empty them (see the module's docstring). Returns the ``ValueModel`` recorded either
    way. Raises PredictionUnavailable without the ``clv`` extra, ValueError for a horizon
    outside 1–120 months or a negative discount."""
    if not clv_available():
        raise PredictionUnavailable(EXTRA_MESSAGE)
    if not 1 <= horizon_months <= MAX_HORIZON_MONTHS:
        raise ValueError(f"The horizon is 1 to {MAX_HORIZON_MONTHS} months.")
    if not 0 <= annual_discount < 1:
        raise ValueError("The yearly discount rate is from 0 to 1 (0.1 for 10 %).")
    import numpy as np

    from rapport.segments.services import clv

    started = time.monotonic()
    now = now or timezone.now()
    history = customer_history(now=now)
    repeat = (history.orders >= 2) & (history.mean > 0)
    record = ValueModel(
        fitted_at=now,
        customers=len(history.x),
        repeat_customers=int(repeat.sum()),
        horizon_months=horizon_months,
        annual_discount=annual_discount,
    )
    thin = _too_thin(record, history.span_days)
    if thin:
        return _refuse(record, ValueModel.Status.TOO_THIN, thin, started)
    correlation = clv.spend_frequency_correlation(history.orders[repeat], history.mean[repeat])
    record.correlation = correlation if math.isfinite(correlation) else None
    purchases = clv.bgnbd_fit(history.x, history.t_x, history.T)
    spend = clv.gamma_gamma_fit(history.orders[repeat], history.mean[repeat])
    record.params = {
        "time_unit": "week",
        "bgnbd": _numbers({**purchases.as_dict(), "log_likelihood": purchases.log_likelihood}),
        "gamma_gamma": _numbers({**spend.as_dict(), "log_likelihood": spend.log_likelihood}),
    }
    failed = _not_converged(purchases, spend)
    if failed:
        return _refuse(record, ValueModel.Status.NOT_CONVERGED, failed, started)
    horizon = horizon_months * WEEKS_PER_MONTH
    expected, value = clv.predicted_value(
        purchases, spend, x=history.x, t_x=history.t_x, T=history.T, n=history.orders,
        mean=history.mean, horizon=horizon, annual_discount=annual_discount,
    )  # fmt: skip
    alive = clv.p_alive(purchases, history.x, history.t_x, history.T)
    _write(history.contact_ids, expected, alive, value)
    record.params["gamma_gamma"]["mean_order_value"] = round(spend.mean_order_value, 4)
    record.status = ValueModel.Status.FITTED
    record.reason = (
        f"Spend and frequency correlate (r = {correlation:.2f}): Gamma-Gamma assumes they "
        "do not, so the predicted values may be biased."
        if abs(correlation) > CORRELATION_WARNING
        else ""
    )
    record.summary = _summary(np, expected, alive, value, history.contact_ids)
    _save(record, started)
    logger.info(
        "Predicted customer value fitted on %s customers in %.1f s", record.customers,
        record.seconds,
    )  # fmt: skip
    return record


def _numbers(values: dict[str, float]) -> dict[str, float | None]:
    """JSON has no NaN or infinity: a parameter that is not a number is recorded empty."""
    return {k: (v if math.isfinite(v) else None) for k, v in values.items()}


def _too_thin(record: ValueModel, span_days: float) -> str:
    needs = (
        f"predictions need at least {MIN_CUSTOMERS} customers, {MIN_REPEAT_CUSTOMERS} of "
        f"them with more than one order, over at least {MIN_SPAN_DAYS} days"
    )
    if record.customers < MIN_CUSTOMERS or record.repeat_customers < MIN_REPEAT_CUSTOMERS:
        return (
            f"{record.customers} customer(s), {record.repeat_customers} with more than one "
            f"order: {needs}."
        )
    if span_days < MIN_SPAN_DAYS:
        return f"The orders span {span_days:.0f} days: {needs}."
    return ""


def _not_converged(purchases: Any, spend: Any) -> str:
    if not purchases.converged:
        return "The purchase model (BG/NBD) did not converge to finite parameters."
    if not spend.converged:
        return "The spend model (Gamma-Gamma) did not converge to finite parameters."
    if spend.q <= 1:
        return f"The spend model's q is {spend.q:.2f} (≤ 1): no finite mean order value."
    return ""


def _refuse(record: ValueModel, status: str, reason: str, started: float) -> ValueModel:
    record.status = status
    record.reason = reason
    # predictions of an earlier fit must not outlive a refusal: the page and queries would
    # show them as current
    CustomerValue.objects.filter(p_alive__isnull=False).update(
        expected_orders=None, p_alive=None, predicted_value=None
    )
    # hourly, and said on the page: a refusal is no news for the log
    logger.debug("Predicted customer value not fitted: %s", reason)
    return _save(record, started)


def _save(record: ValueModel, started: float) -> ValueModel:
    record.seconds = round(time.monotonic() - started, 3)
    record.save()
    keep = ValueModel.objects.values_list("pk", flat=True)[:KEEP_MODELS]
    ValueModel.objects.exclude(pk__in=list(keep)).delete()
    return record


def _write(ids: Any, expected: Any, alive: Any, value: Any) -> None:
    """Each customer's predictions, ``WRITE_BATCH`` rows per transaction: the table is
    never locked for long (SQLite writers wait a fraction of a second), and a customer
    removed meanwhile is simply not updated."""
    import numpy as np

    finite = np.isfinite(expected) & np.isfinite(alive) & np.isfinite(value)
    columns = ["expected_orders", "p_alive", "predicted_value"]
    for start in range(0, len(ids), WRITE_BATCH):
        rows = [
            (int(ids[i]), round(float(expected[i]), 4), round(float(alive[i]), 4),
             Decimal(f"{value[i]:.2f}"))
            if finite[i] else (int(ids[i]), None, None, None)
            for i in range(start, min(start + WRITE_BATCH, len(ids)))
        ]  # fmt: skip
        with transaction.atomic():
            bulk.update_rows(CustomerValue, "contact_id", columns, rows)


def _summary(np: Any, expected: Any, alive: Any, value: Any, ids: Any) -> dict[str, Any]:
    """Totals and quantiles (10th, 25th, median, 75th, 90th, 99th percentile) of what was
    predicted, and how many customers are likely still customers."""
    quantiles = (10, 25, 50, 75, 90, 99)

    def spread(values: Any) -> dict[str, float]:
        return {f"p{q}": round(float(v), 4) for q, v in zip(quantiles, np.percentile(values, quantiles), strict=True)}  # fmt: skip

    return {
        "customers": len(ids),
        "expected_orders": round(float(expected.sum()), 2),
        "predicted_value": round(float(value.sum()), 2),
        "likely_active": int((alive >= 0.5).sum()),
        "value": spread(value),
        "p_alive": spread(alive),
    }


def value_model_latest() -> ValueModel | None:
    """The fit in force: the latest recorded, fitted or refused."""
    return ValueModel.objects.order_by("-fitted_at", "-id").first()


@dataclass(frozen=True)
class PredictionState:
    """What can be said of predicted value now, for the page, the API and the command
    line alike: ``state`` is the latest fit's status, or ``unavailable`` (no ``clv``
    extra) or ``not_fitted``; ``message`` says why there are no predictions, or warns
    about the ones there are; ``model`` is the latest fit, if any."""

    state: str
    message: str
    model: ValueModel | None

    @property
    def fitted(self) -> bool:
        return self.state == ValueModel.Status.FITTED


def prediction_state() -> PredictionState:
    """The state of predicted value (one query: the latest ``ValueModel``)."""
    if not clv_available():
        return PredictionState("unavailable", EXTRA_MESSAGE, None)
    model = value_model_latest()
    if model is None:
        return PredictionState(
            "not_fitted",
            "Not fitted yet: the worker fits it every hour after customer value "
            "(or run `rapport orders clv`).",
            None,
        )
    return PredictionState(model.status, model.reason, model)


THRESHOLDS = {
    "min_customers": MIN_CUSTOMERS,
    "min_repeat_customers": MIN_REPEAT_CUSTOMERS,
    "min_span_days": MIN_SPAN_DAYS,
    "correlation_warning": CORRELATION_WARNING,
}


def prediction_out(state: PredictionState) -> dict[str, Any]:
    """The state and the latest fit as plain data: the API's answer and the command
    line's JSON."""
    model = state.model
    return {
        "status": state.state,
        "message": state.message,
        "fitted_at": model.fitted_at if model else None,
        "customers": model.customers if model else None,
        "repeat_customers": model.repeat_customers if model else None,
        "horizon_months": model.horizon_months if model else None,
        "annual_discount": model.annual_discount if model else None,
        "correlation": model.correlation if model else None,
        "params": model.params if model else {},
        "summary": model.summary if model else {},
        "seconds": model.seconds if model else None,
        "thresholds": THRESHOLDS,
    }
