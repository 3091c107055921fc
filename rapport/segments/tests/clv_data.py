"""Data for the predicted-value tests and the accuracy benchmark: the CDNOW sample (a
public data set, see data/cdnow/README.md) split into a calibration and a holdout
period as Fader, Hardie and Lee did, and customers simulated from known BG/NBD and
Gamma-Gamma parameters."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CDNOW = Path(__file__).parent / "data" / "cdnow" / "CDNOW_sample.txt"
CALIBRATION_END = dt.date(1997, 9, 30)  # 39 weeks from 1 January 1997
HOLDOUT_END = dt.date(1998, 6, 30)  # 39 weeks more
HOLDOUT_WEEKS = 39.0


@dataclass(frozen=True)
class Customers:
    """Per customer: repeat purchases ``x``, weeks from the first to the last ``t_x``,
    weeks observed ``T``, mean value of the repeat purchases ``mean`` (0 without one),
    repeat purchases in the holdout ``holdout``, when the first purchase was (``first``,
    weeks after the start) and what it was worth (``first_value``)."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    mean: np.ndarray
    holdout: np.ndarray
    first: np.ndarray
    first_value: np.ndarray


def cdnow() -> Customers:
    """The 2,357 customers of the sample. Purchases on one day are one purchase (their
    amounts added), as in the published summary."""
    days: dict[int, dict[dt.date, float]] = defaultdict(lambda: defaultdict(float))
    for line in CDNOW.read_text().splitlines():
        _master, customer, day, _quantity, amount = line.split()
        days[int(customer)][dt.date(int(day[:4]), int(day[4:6]), int(day[6:]))] += float(amount)
    start = dt.date(1997, 1, 1)
    rows = []
    for customer in sorted(days):
        bought = days[customer]
        calibration = sorted(d for d in bought if d <= CALIBRATION_END)
        first, last = calibration[0], calibration[-1]
        repeat = [bought[d] for d in calibration[1:]]
        rows.append((
            len(repeat), (last - first).days / 7, (CALIBRATION_END - first).days / 7,
            float(np.mean(repeat)) if repeat else 0.0,
            sum(1 for d in bought if CALIBRATION_END < d <= HOLDOUT_END),
            (first - start).days / 7,
            bought[first],
        ))  # fmt: skip
    columns = np.array(rows, dtype=np.float64).T
    return Customers(*columns)


def simulate(
    *, customers: int, r: float, alpha: float, a: float, b: float, weeks: float,
    p: float, q: float, gamma: float, seed: int = 7,
) -> Customers:  # fmt: skip
    """Customers drawn from BG/NBD (rate λ ~ Gamma(r, α), drop-out p ~ Beta(a, b)) and
    Gamma-Gamma (order value ~ Gamma(p, ν), ν ~ Gamma(q, γ)), their first purchase spread
    evenly over the first quarter of ``weeks``; ``holdout`` counts purchases in the
    ``weeks`` after the end."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(r, 1 / alpha, customers)
    drop = rng.beta(a, b, customers)
    nu = rng.gamma(q, 1 / gamma, customers)
    first = rng.uniform(0, weeks / 4, customers)
    T = weeks - first
    x = np.zeros(customers)
    t_x = np.zeros(customers)
    spent = np.zeros(customers)
    holdout = np.zeros(customers)
    now = np.zeros(customers)
    alive = np.ones(customers, dtype=bool)
    repeat = False
    while alive.any():
        # a repeat purchase has just been made at ``now``: the customer may drop out
        # (not after the first purchase: BG/NBD's drop-out follows repeat purchases)
        if repeat:
            alive &= rng.random(customers) >= drop
        repeat = True
        now = now + rng.exponential(1 / np.maximum(rate, 1e-300))
        buys = alive & (now <= T)
        x += buys
        t_x = np.where(buys, now, t_x)
        spent += np.where(buys, rng.gamma(p, 1 / nu), 0.0)
        holdout += alive & (now > T) & (now <= T + weeks)
        alive &= now <= T + weeks
    mean = np.where(x > 0, spent / np.maximum(x, 1), 0.0)
    return Customers(x, t_x, T, mean, holdout, first, rng.gamma(p, 1 / nu))
