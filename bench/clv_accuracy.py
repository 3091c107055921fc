"""Accuracy of predicted customer value on data we did not make, and on data drawn from
known parameters.

    python bench/clv_accuracy.py [--simulated 30000,1000000]

1. CDNOW (rapport/segments/tests/data/cdnow, a public sample of 2,357 customers): BG/NBD
   and Gamma-Gamma fitted on the first 39 weeks, next to the published estimates; the
   next 39 weeks forecast per customer and compared with what they bought, in total
   and by number of repeat purchases in the calibration period; the cumulative
   repeat purchases of the cohort at week 78, forecast and made.
2. Simulated customers (BG/NBD and Gamma-Gamma at the CDNOW estimates, 78 weeks, the
   next 78 forecast): the parameters fitted back, the forecast against what the draw
   bought, and the time the fits took.

Needs the ``clv`` extra (in requirements-dev.lock). Prints tables and writes
var/bench/clv-accuracy.json. See docs/segments.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DIR = ROOT / "var" / "bench"

PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_LL = -9582.4
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def cdnow() -> dict[str, Any]:
    import numpy as np

    from rapport.segments.services import clv
    from rapport.segments.tests import clv_data

    data = clv_data.cdnow()
    started = time.perf_counter()
    fit = clv.bgnbd_fit(data.x, data.t_x, data.T)
    bgnbd_seconds = time.perf_counter() - started
    repeat = data.x > 0
    started = time.perf_counter()
    spend = clv.gamma_gamma_fit(data.x[repeat], data.mean[repeat])
    gg_seconds = time.perf_counter() - started
    forecast = clv.expected_purchases(fit, clv_data.HOLDOUT_WEEKS, data.x, data.t_x, data.T)
    groups = []
    for low, high in ((0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (5, 6), (7, 10**6)):
        rows = (data.x >= low) & (data.x <= high)
        groups.append({
            "x": f"{low}" if low == high else f"{low}+" if high > 100 else f"{low}–{high}",
            "customers": int(rows.sum()),
            "forecast_per_customer": round(float(forecast[rows].mean()), 3),
            "made_per_customer": round(float(data.holdout[rows].mean()), 3),
        })  # fmt: skip
    cumulative = float(clv.expected_purchases_new(fit, 78 - data.first).sum())
    made = float(data.x.sum() + data.holdout.sum())
    return {
        "customers": len(data.x),
        "repeat_customers": int(repeat.sum()),
        "bgnbd": {**fit.as_dict(), "log_likelihood": fit.log_likelihood,
                  "seconds": round(bgnbd_seconds, 3)},
        "bgnbd_published": {**PUBLISHED_BGNBD, "log_likelihood": PUBLISHED_LL},
        "gamma_gamma": {**spend.as_dict(), "log_likelihood": spend.log_likelihood,
                        "seconds": round(gg_seconds, 3)},
        "gamma_gamma_published": PUBLISHED_GAMMA_GAMMA,
        "correlation": clv.spend_frequency_correlation(data.x[repeat], data.mean[repeat]),
        "holdout": {
            "weeks": clv_data.HOLDOUT_WEEKS,
            "forecast": round(float(forecast.sum()), 1),
            "made": int(data.holdout.sum()),
            "error": round(float(forecast.sum() / data.holdout.sum() - 1), 4),
            "mean_absolute_error_per_customer": round(
                float(np.abs(forecast - data.holdout).mean()), 4
            ),
            "by_calibration_repeats": groups,
        },
        "cumulative_week_78": {
            "forecast": round(cumulative, 1), "made": int(made),
            "error": round(cumulative / made - 1, 4),
        },
    }  # fmt: skip


def simulated(customers: int) -> dict[str, Any]:
    from rapport.segments.services import clv
    from rapport.segments.tests import clv_data

    drawn = clv_data.simulate(
        customers=customers, weeks=78, **PUBLISHED_BGNBD, **PUBLISHED_GAMMA_GAMMA
    )
    # the service reads times to the second; rounding them to days is what it stores
    t_x, T = (drawn.t_x * 7).round() / 7, (drawn.T * 7).round() / 7
    started = time.perf_counter()
    fit = clv.bgnbd_fit(drawn.x, t_x, T)
    bgnbd_seconds = time.perf_counter() - started
    repeat = drawn.x > 0
    started = time.perf_counter()
    spend = clv.gamma_gamma_fit(drawn.x[repeat], drawn.mean[repeat])
    gg_seconds = time.perf_counter() - started
    started = time.perf_counter()
    forecast = float(clv.expected_purchases(fit, 78, drawn.x, t_x, T).sum())
    predict_seconds = time.perf_counter() - started
    true = {**PUBLISHED_BGNBD, **PUBLISHED_GAMMA_GAMMA}
    fitted = {**fit.as_dict(), **spend.as_dict()}
    return {
        "customers": customers,
        "repeat_customers": int(repeat.sum()),
        "fitted": {k: round(v, 4) for k, v in fitted.items()},
        "relative_error": {k: round(fitted[k] / true[k] - 1, 4) for k in true},
        "forecast": round(forecast, 1),
        "made": int(drawn.holdout.sum()),
        "forecast_error": round(forecast / float(drawn.holdout.sum()) - 1, 4),
        "seconds": {"bgnbd": round(bgnbd_seconds, 2), "gamma_gamma": round(gg_seconds, 2),
                    "predict": round(predict_seconds, 2)},
    }  # fmt: skip


def report(result: dict[str, Any]) -> str:
    c = result["cdnow"]
    lines = [f"CDNOW: {c['customers']:,} customers, {c['repeat_customers']} repeat"]
    lines.append(f"{'':<14}{'ours':>12}{'published':>12}")
    for key in ("r", "alpha", "a", "b", "log_likelihood"):
        lines.append(f"BG/NBD {key:<7}{c['bgnbd'][key]:>12.4f}{c['bgnbd_published'][key]:>12.4f}")
    for key in ("p", "q", "gamma"):
        lines.append(
            f"Gamma-Gamma {key:<2}{c['gamma_gamma'][key]:>12.4f}"
            f"{c['gamma_gamma_published'][key]:>12.4f}"
        )
    lines.append(f"spend/frequency correlation {c['correlation']:.3f}")
    h = c["holdout"]
    lines.append(
        f"holdout ({h['weeks']:.0f} weeks): {h['forecast']:,.1f} repeat purchases forecast, "
        f"{h['made']:,} made ({h['error']:+.1%}); mean absolute error per customer "
        f"{h['mean_absolute_error_per_customer']:.3f}"
    )
    lines.append(f"{'repeats in calibration':<24}{'customers':>10}{'forecast':>10}{'made':>10}")
    for g in h["by_calibration_repeats"]:
        lines.append(
            f"{g['x']:<24}{g['customers']:>10}{g['forecast_per_customer']:>10.3f}"
            f"{g['made_per_customer']:>10.3f}"
        )
    w = c["cumulative_week_78"]
    lines.append(
        f"cumulative repeat purchases at week 78: {w['forecast']:,.1f} forecast, "
        f"{w['made']:,} made ({w['error']:+.1%})"
    )
    for s in result["simulated"]:
        errors = ", ".join(f"{k} {v:+.1%}" for k, v in s["relative_error"].items())
        lines.append(
            f"simulated {s['customers']:,} ({s['repeat_customers']:,} repeat): {errors}; "
            f"forecast {s['forecast']:,.0f} vs {s['made']:,} made ({s['forecast_error']:+.1%}); "
            f"fits {s['seconds']['bgnbd']} s + {s['seconds']['gamma_gamma']} s, "
            f"predictions {s['seconds']['predict']} s"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulated", default="30000,1000000",
                        help="Sizes of the simulated populations, comma-separated.")  # fmt: skip
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()
    sizes = [int(n) for n in args.simulated.split(",") if n.strip()]
    result = {"cdnow": cdnow(), "simulated": [simulated(n) for n in sizes]}
    print(report(result))
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    (BENCH_DIR / "clv-accuracy.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
