"""Delivery metrics and figures on 1,000,000 synthetic funnel rows.

Prints the time of each metric and plot, and the speed-up of ``delivery_rate(by=...)`` over a
per-row Python loop computing the same table on a sample (measured in the same run).

    .venv/bin/python bench/analytics.py [--rows 1000000] [--numbers 50000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from smskit import analytics, codes, experiments, plots

STATES = ["accepted", "rejected", "unknown", "invalid", "suppressed"]
PREFIXES = ["+33612", "+8613800", "+4915112", "+6591", "+1650253", "+447911"]


def synthetic_funnel(n: int, *, numbers: int, seed: int = 0) -> pd.DataFrame:
    """``n`` funnel rows over ``numbers`` distinct recipients, shaped like ``delivery_funnel``'s."""
    rng = np.random.default_rng(seed)
    pool = pd.Series(np.array(PREFIXES)[rng.integers(0, len(PREFIXES), numbers)]).str.cat(
        pd.Series(rng.integers(0, 10**6, numbers)).astype(str).str.zfill(6)
    )
    state = rng.choice(STATES, n, p=[0.9, 0.04, 0.01, 0.03, 0.02])
    accepted = state == "accepted"
    final = np.where(
        accepted,
        rng.choice(["DELIVRD", "UNDELIV", "EXPIRED", "MK:0001", "BLACK", "MILIMIT", ""], n,
                   p=[0.84, 0.05, 0.03, 0.02, 0.02, 0.01, 0.03]),
        "",
    )  # fmt: skip
    sent_at = pd.Timestamp("2024-05-01", tz="UTC") + pd.to_timedelta(rng.uniform(0, 2 * 86400, n), unit="s")
    frame = pd.DataFrame(
        {
            "to": pd.array(pool.to_numpy()[rng.integers(0, numbers, n)], dtype="str"),
            "template_id": rng.choice(["welcome", "promo", "otp"], n),
            "state": pd.Categorical(state, categories=STATES),
            "status": pd.Series(np.where(state == "rejected", "E200028", "000000")).astype("str"),
            "sent_at": sent_at,
            "final_status": pd.Series(final).replace("", None).astype("str"),
            "delivered": final == "DELIVRD",
            "latency_s": np.where(final != "", rng.lognormal(2.5, 1.0, n), np.nan),
            "variant": rng.choice(["A", "B"], n),
        }
    )
    frame["category"] = codes.categorize(frame["final_status"])["category"]
    frame["reported_at"] = frame["sent_at"] + pd.to_timedelta(frame["latency_s"], unit="s")
    return frame


def loop_rate_by_group(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Baseline: the same table as ``delivery_rate(by=...)`` with a per-row Python loop."""
    sent: dict[tuple[Any, ...], int] = defaultdict(int)
    delivered: dict[tuple[Any, ...], int] = defaultdict(int)
    for row in frame.to_dict("records"):
        if row["state"] in analytics.NOT_SENT_STATES:
            continue
        key = tuple(row[k] for k in by)
        sent[key] += 1
        delivered[key] += bool(row["delivered"])
    keys = sorted(sent)
    n = np.array([sent[k] for k in keys])
    k = np.array([delivered[k] for k in keys])
    low, high = analytics.wilson_interval(k, n)
    return pd.DataFrame({"sent": n, "delivered": k, "rate": k / n, "low": low, "high": high})


def timed(label: str, fn: Callable[[], Any], *, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    print(f"{label:<56} {best:8.3f} s")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--numbers", type=int, default=50_000, help="distinct recipients")
    parser.add_argument("--sample", type=int, default=100_000, help="rows for the loop baseline")
    args = parser.parse_args()

    start = time.perf_counter()
    funnel = synthetic_funnel(args.rows, numbers=args.numbers)
    print(f"synthetic funnel: {len(funnel):,} rows, {args.numbers:,} numbers in {time.perf_counter() - start:.1f} s\n")

    print("metrics")
    timed("delivery_rate()", lambda: analytics.delivery_rate(funnel), repeat=3)
    timed(
        "delivery_rate(by=[template_id, variant])",
        lambda: analytics.delivery_rate(funnel, by=["template_id", "variant"]),
        repeat=3,
    )
    timed("delivery_rate(by=hour)", lambda: analytics.delivery_rate(funnel, by="hour"), repeat=3)
    timed(
        f"delivery_rate(by=[country, carrier]), {args.numbers:,} numbers",
        lambda: analytics.delivery_rate(funnel, by=["country", "carrier"]),
    )
    timed("failure_breakdown()", lambda: analytics.failure_breakdown(funnel), repeat=3)
    timed("latency_quantiles(by=variant)", lambda: analytics.latency_quantiles(funnel, by="variant"), repeat=3)
    timed("rate_over_time(freq=1h)", lambda: analytics.rate_over_time(funnel, freq="1h"), repeat=3)
    timed("funnel_counts()", lambda: analytics.funnel_counts(funnel), repeat=3)
    timed("compare_arms(control=A)", lambda: experiments.compare_arms(funnel, control="A"), repeat=3)
    timed(
        "assign_variants(stratify=template_id)",
        lambda: experiments.assign_variants(
            funnel.drop(columns="variant"), {"A": 0.5, "B": 0.5}, seed=1, stratify="template_id"
        ),
        repeat=3,
    )

    print("\nfigures (drawn and rendered to PNG)")
    with tempfile.TemporaryDirectory() as tmp:
        drawings: dict[str, Callable[[], Any]] = {
            "plots.delivery_rate(by=template_id)": lambda: plots.delivery_rate(funnel, by="template_id"),
            "plots.delivery_over_time(freq=1h)": lambda: plots.delivery_over_time(funnel, freq="1h"),
            "plots.failure_reasons(top=10)": lambda: plots.failure_reasons(funnel),
            "plots.latency(by=variant)": lambda: plots.latency(funnel, by="variant"),
            "plots.funnel()": lambda: plots.funnel(funnel),
        }
        for i, (label, draw) in enumerate(drawings.items()):
            timed(label, lambda draw=draw, i=i: draw().figure.savefig(f"{tmp}/{i}.png", dpi=100))
            plt.close("all")
        timed("plots.save_figures (all five)", lambda: plots.save_figures(funnel, tmp))

    print("\nbaseline: per-row Python loop vs delivery_rate, same sample")
    sample = funnel.sample(min(args.sample, len(funnel)), random_state=0)
    by = ["template_id", "variant"]
    loop = timed(f"loop rate-by-group, {len(sample):,} rows", lambda: loop_rate_by_group(sample, by))
    fast = timed(
        f"delivery_rate(by=...), {len(sample):,} rows", lambda: analytics.delivery_rate(sample, by=by), repeat=3
    )
    ours = analytics.delivery_rate(sample, by=by)
    theirs = loop_rate_by_group(sample, by)
    assert np.array_equal(ours["delivered"].to_numpy(), theirs["delivered"].to_numpy()), "results differ"
    print(f"ratio (loop / vectorized): {loop / fast:,.0f}x; loop extrapolated to {len(funnel):,} rows: "
          f"{loop * len(funnel) / len(sample):.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
