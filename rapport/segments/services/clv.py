"""The models behind predicted customer value: BG/NBD for how many more orders a customer
will place and whether they are still a customer, Gamma-Gamma for how much each order is
worth. Plain arrays in, plain arrays out; nothing here knows about the database.

Needs numpy and scipy (the optional ``clv`` extra): import this module only after
``services.value_model.clv_available()`` said yes.

BG/NBD (Fader, Hardie & Lee, "Counting your customers the easy way", 2005): while alive,
a customer buys at a rate λ ~ Gamma(r, α); after each purchase they drop out for good
with probability p ~ Beta(a, b). What is known of each customer: ``x`` repeat purchases
(orders after the first), ``t_x`` the time from the first purchase to the last, ``T`` the
time from the first purchase to now. Times are in any one unit (weeks here); α is in
that unit.

Gamma-Gamma (Fader & Hardie, "The Gamma-Gamma model of monetary value", 2013): each of a
customer's orders is worth Gamma(p, ν), ν ~ Gamma(q, γ) across customers; what is known
is the number of orders ``n`` and their mean value. It assumes the value of orders does
not depend on how often the customer buys: check the correlation
(``spend_frequency_correlation``) before trusting it.

Both are fitted by maximum likelihood (``scipy.optimize.minimize`` over the logarithms of
the parameters, so they stay positive; L-BFGS-B). Customers who share (x, t_x, T) are counted once
with a weight, which makes a fit over a million customers cost what one over their
distinct histories does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import betaln, expit, gammaln, hyp2f1

Array = NDArray[np.float64]
# log-parameters are kept within e^±20 (a fit that runs into the bound did not converge)
LOG_BOUND = 20.0


@dataclass(frozen=True)
class BgNbd:
    """Fitted BG/NBD parameters, the log-likelihood at them (summed over customers), and
    whether the optimiser converged inside the bounds to finite values."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    converged: bool

    def as_dict(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}


@dataclass(frozen=True)
class GammaGamma:
    """Fitted Gamma-Gamma parameters (p, q, γ), the log-likelihood at them and whether the
    fit converged. The mean order value across customers is pγ/(q − 1), finite only
    when q > 1."""

    p: float
    q: float
    gamma: float
    log_likelihood: float
    converged: bool

    def as_dict(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "gamma": self.gamma}

    @property
    def mean_order_value(self) -> float:
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else math.inf


def _arrays(*values: object) -> list[Array]:
    return [np.asarray(v, dtype=np.float64) for v in values]


# -- BG/NBD -------------------------------------------------------------------------------------


def bgnbd_log_likelihood(
    r: float, alpha: float, a: float, b: float, x: Array, t_x: Array, T: Array
) -> Array:
    """Each customer's log-likelihood (FHL 2005), in logs."""
    x, t_x, T = _arrays(x, t_x, T)
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    still = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    # dropped out right after the last purchase: only possible after a repeat purchase
    dropped = np.full_like(x, -np.inf)
    xr = x[repeat]
    dropped[repeat] = np.log(a) - np.log(b + xr - 1) - (r + xr) * np.log(alpha + t_x[repeat])
    return common + np.logaddexp(still, dropped)


def _distinct(columns: list[Array], weights: Array | None) -> tuple[list[Array], Array]:
    """The distinct rows of ``columns`` and how many customers (or how much weight) each
    stands for."""
    stacked = np.column_stack(columns)
    rows, inverse = np.unique(stacked, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    w = np.ones(len(stacked)) if weights is None else np.asarray(weights, dtype=np.float64)
    counts = np.bincount(inverse, weights=w, minlength=len(rows)).astype(np.float64)
    return [rows[:, i] for i in range(rows.shape[1])], counts


def _minimize(objective: Callable[[Array], float], start: Array) -> tuple[Array, float, bool]:
    """Minimise over log-parameters; converged means the optimiser said so, inside the
    bounds, at a finite value."""
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    result = minimize(objective, start, method="L-BFGS-B", bounds=bounds,
                      options={"ftol": 1e-12, "gtol": 1e-8, "maxiter": 1000})  # fmt: skip
    values = np.exp(result.x)
    converged = bool(
        result.success
        and np.all(np.isfinite(values))
        and math.isfinite(float(result.fun))
        and result.fun < 1e299
        and np.all(np.abs(result.x) < LOG_BOUND - 1e-3)
    )
    return values, float(result.fun), converged


def bgnbd_fit(x: Array, t_x: Array, T: Array, *, weights: Array | None = None) -> BgNbd:
    """Maximum-likelihood BG/NBD parameters for customers with ``x`` repeat purchases,
    the last at ``t_x``, observed for ``T`` (0 ≤ t_x ≤ T), optionally weighted."""
    x, t_x, T = _arrays(x, t_x, T)
    (ux, ut, uT), counts = _distinct([x, t_x, T], weights)
    total = float(counts.sum())
    scale = float(np.average(uT, weights=counts)) or 1.0

    def objective(theta: Array) -> float:
        r, alpha, a, b = np.exp(theta)
        ll = bgnbd_log_likelihood(r, alpha, a, b, ux, ut, uT)
        value = -float(np.dot(counts, ll)) / total
        return value if math.isfinite(value) else 1e300

    start = np.log(np.array([1.0, scale, 1.0, 1.0]))
    (r, alpha, a, b), nll, converged = _minimize(objective, start)
    return BgNbd(float(r), float(alpha), float(a), float(b), -nll * total, converged)


def p_alive(model: BgNbd, x: Array, t_x: Array, T: Array) -> Array:
    """P(still a customer | history) (FHL 2005); 1 for anyone without a repeat
    purchase, as the model has it."""
    x, t_x, T = _arrays(x, t_x, T)
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    repeat = x > 0
    odds = np.full_like(x, -np.inf)
    xr = x[repeat]
    odds[repeat] = (
        np.log(a) - np.log(b + xr - 1)
        + (r + xr) * (np.log(alpha + T[repeat]) - np.log(alpha + t_x[repeat]))
    )  # fmt: skip
    return expit(-odds)


def expected_purchases(model: BgNbd, t: float, x: Array, t_x: Array, T: Array) -> Array:
    """Expected purchases in the next ``t`` given each history (FHL 2005): P(alive) ×
    what a customer alive now buys in ``t``."""
    x, t_x, T = _arrays(x, t_x, T)
    return p_alive(model, x, t_x, T) * _while_alive(model, t, x, T)


def _while_alive(model: BgNbd, t: float | Array, x: Array, T: Array) -> Array:
    """Expected purchases in the next ``t`` of a customer alive now: the numerator of FHL
    2005's conditional expectation. Its hypergeometric function is taken through Euler's transformation,
    2F1(r+x, b+x; c; z) = (1−z)^(a−1−r−x) · 2F1(a+b−1−r, a−1; c; z) with c = a+b+x−1:
    the form as printed overflows for customers with hundreds of orders, this one stays
    exact (checked against numerical integration over the posterior of p)."""
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    t = np.maximum(np.asarray(t, dtype=np.float64), 0.0)
    if abs(a - 1) < 1e-7:  # the formula's removable singularity at a = 1
        a = 1 + 1e-7
    z = t / (alpha + T + t)
    series = hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
    return (a + b + x - 1) / (a - 1) * (1 - np.power(1 - z, a - 1) * series)


def expected_purchases_new(model: BgNbd, t: Array) -> Array:
    """Expected repeat purchases by time ``t`` of a customer just acquired (FHL 2005): the
    aggregate curve a holdout is compared with."""
    (t,) = _arrays(t)
    return _while_alive(model, t, np.zeros_like(t), np.zeros_like(t))


# -- Gamma-Gamma --------------------------------------------------------------------------------


def gamma_gamma_log_likelihood(p: float, q: float, gamma: float, n: Array, mean: Array) -> Array:
    """Each customer's log-likelihood of their mean order value over ``n`` orders (Fader &
    Hardie 2013), in logs; ``mean`` must be positive."""
    n, mean = _arrays(n, mean)
    return (
        gammaln(p * n + q) - gammaln(p * n) - gammaln(q) + q * np.log(gamma)
        + (p * n - 1) * np.log(mean) + p * n * np.log(n) - (p * n + q) * np.log(gamma + n * mean)
    )  # fmt: skip


def gamma_gamma_fit(n: Array, mean: Array, *, weights: Array | None = None) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma parameters from customers' numbers of orders ``n``
    and mean order value ``mean`` (both positive: leave out the others)."""
    n, mean = _arrays(n, mean)
    (un, um), counts = _distinct([n, mean], weights)
    total = float(counts.sum())

    def objective(theta: Array) -> float:
        p, q, gamma = np.exp(theta)
        value = -float(np.dot(counts, gamma_gamma_log_likelihood(p, q, gamma, un, um))) / total
        return value if math.isfinite(value) else 1e300

    start = np.log(np.array([1.0, 2.0, float(np.average(um, weights=counts))]))
    (p, q, gamma), nll, converged = _minimize(objective, start)
    return GammaGamma(float(p), float(q), float(gamma), -nll * total, converged)


def expected_order_value(model: GammaGamma, n: Array, mean: Array) -> Array:
    """Expected value of a customer's future orders given ``n`` orders averaging ``mean``
    (Fader & Hardie 2013): their own mean shrunk towards the population's, less so
    the more orders they made. With ``n`` 0, the population's mean pγ/(q − 1)."""
    n, mean = _arrays(n, mean)
    p, q, gamma = model.p, model.q, model.gamma
    return p * (gamma + n * mean) / (p * n + q - 1)


def spend_frequency_correlation(n: Array, mean: Array) -> float:
    """Pearson correlation of the number of orders and the mean order value among the
    customers Gamma-Gamma is fitted on: near 0 is what the model assumes."""
    n, mean = _arrays(n, mean)
    if len(n) < 2 or np.std(n) == 0 or np.std(mean) == 0:
        return 0.0
    return float(np.corrcoef(n, mean)[0, 1])


# -- value --------------------------------------------------------------------------------------


def predicted_value(
    purchases: BgNbd,
    spend: GammaGamma,
    *,
    x: Array,
    t_x: Array,
    T: Array,
    n: Array,
    mean: Array,
    horizon: float,
    annual_discount: float = 0.0,
    periods_per_year: float = 365.25 / 7,
) -> tuple[Array, Array]:
    """Expected purchases over ``horizon`` and their expected value: expected purchases ×
    expected order value. With ``annual_discount`` (0.1 for 10 %), the purchases of each
    month are discounted to now by the end of that month; 0 leaves value undiscounted."""
    count = expected_purchases(purchases, horizon, x, t_x, T)
    worth = expected_order_value(spend, n, mean)
    if annual_discount <= 0:
        return count, count * worth
    months = max(1, math.ceil(horizon / periods_per_year * 12))
    step = horizon / months
    discounted = np.zeros_like(count)
    before = np.zeros_like(count)
    for month in range(1, months + 1):
        upto = expected_purchases(purchases, step * month, x, t_x, T)
        discounted += (upto - before) / (1 + annual_discount) ** (step * month / periods_per_year)
        before = upto
    return count, discounted * worth
