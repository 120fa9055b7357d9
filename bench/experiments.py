"""Experiment analysis at scale: attach_outcomes + compare_arms on 1,000,000 recipients and 5,000,000 orders.

Prints the time of each step and the speed-up over per-recipient Python loops measured in the same
run. The loops are too slow to run on everyone, so each runs on a random sample of recipients and is
extrapolated linearly to all of them (said so in the output):

* naive loop: for each recipient, filter the orders frame by id and window (pandas boolean masks);
* indexed loop: the orders grouped by id once (counted), then a Python loop over recipients.

Both loops' results on the sample are checked against attach_outcomes' before timing counts.

    .venv/bin/python bench/experiments.py [--recipients 1000000] [--events 5000000]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from smskit import experiments

START = pd.Timestamp("2025-03-03 09:00", tz="UTC")
WINDOW = pd.Timedelta("7D")


def synthetic(n: int, n_events: int, *, text_ids: bool = False, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assigned recipients shaped like send results joined with the funnel, and orders around the send.

    Customer ids are integers, or text ("C0000001") with ``text_ids``; a fifth of the order ids are
    not in the campaign.
    """
    rng = np.random.default_rng(seed)
    pool = np.arange(int(n * 1.2), dtype=np.int64) + 10**6
    if text_ids:
        pool = pd.Series([f"C{i:07d}" for i in range(len(pool))], dtype="str").to_numpy()
    ids = pool[:n]
    variant = rng.choice(["holdout", "A", "B"], n, p=[0.1, 0.45, 0.45])
    held = variant == "holdout"
    state = np.where(held, "held_out", rng.choice(["accepted", "rejected", "invalid"], n, p=[0.95, 0.03, 0.02]))
    sent_at = pd.Series(START + pd.to_timedelta(rng.uniform(0, 1800, n), unit="s"))
    sent_at = sent_at.where(state != "invalid")
    sent_at[held] = START
    frame = pd.DataFrame(
        {
            "customer_id": ids,
            "variant": pd.Categorical(variant, categories=["holdout", "A", "B"]),
            "state": pd.Categorical(state),
            "delivered": (state == "accepted") & (rng.random(n) < 0.93),
            "sent_at": sent_at,
        }
    )
    events = pd.DataFrame(
        {
            "customer_id": pool[rng.integers(0, len(pool), n_events)],
            "ordered_at": START + pd.to_timedelta(rng.uniform(-7 * 86400, 14 * 86400, n_events), unit="s"),
            "amount": np.round(rng.gamma(2.0, 20.0, n_events), 2),
        }
    )
    return frame, events


def naive_loop(frame: pd.DataFrame, events: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """Per recipient: scan the orders for its id, keep those in its window."""
    ref = pd.to_datetime(frame["sent_at"], utc=True)
    ref = ref.fillna(ref.min())
    out = []
    for i in rows.tolist():
        rid, start = frame["customer_id"].iat[i], ref.iat[i]
        mine = events.loc[
            (events["customer_id"] == rid) & (events["ordered_at"] >= start) & (events["ordered_at"] < start + WINDOW)
        ]
        out.append((len(mine) > 0, float(mine["amount"].sum())))
    return pd.DataFrame(out, columns=["converted", "value"], index=frame.index[rows])


def indexed_loop(
    frame: pd.DataFrame, events: pd.DataFrame, rows: np.ndarray, groups: dict[Any, np.ndarray]
) -> pd.DataFrame:
    """Per recipient: look its orders up in a prebuilt id → positions dict, keep those in its window."""
    ref = pd.to_datetime(frame["sent_at"], utc=True).dt.as_unit("ns")
    ref_ns = ref.fillna(ref.min()).to_numpy(dtype="datetime64[ns]").astype(np.int64)
    times = events["ordered_at"].dt.as_unit("ns").to_numpy(dtype="datetime64[ns]").astype(np.int64)
    amounts = events["amount"].to_numpy()
    ids = frame["customer_id"].to_numpy()
    span = WINDOW.value
    converted, value = [], []
    for i in rows.tolist():
        positions = groups.get(ids[i])
        hit = 0.0
        found = False
        if positions is not None:
            for p in positions.tolist():
                lag = times[p] - ref_ns[i]
                if 0 <= lag < span:
                    found = True
                    hit += amounts[p]
        converted.append(found)
        value.append(hit)
    return pd.DataFrame({"converted": converted, "value": value}, index=frame.index[rows])


def timed(label: str, fn: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - began
    print(f"  {label:<58} {elapsed:8.3f} s")
    return result, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--naive-sample", type=int, default=200)
    parser.add_argument("--indexed-sample", type=int, default=100_000)
    parser.add_argument("--text-ids", action="store_true", help="customer ids as text instead of integers")
    args = parser.parse_args()
    n, n_events = args.recipients, args.events
    kind = "text" if args.text_ids else "integer"
    print(f"building {n:,} recipients and {n_events:,} orders ({kind} customer ids) …")
    frame, events = synthetic(n, n_events, text_ids=args.text_ids)

    print("vectorized:")
    out, t_attach = timed(
        "attach_outcomes(value='amount')",
        lambda: experiments.attach_outcomes(
            frame, events, on="customer_id", time="ordered_at", value="amount", window=WINDOW
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", experiments.ExperimentWarning)
        _, t_conv = timed(
            "compare_arms(metric='converted', control='holdout')",
            lambda: experiments.compare_arms(out, control="holdout", metric="converted"),
        )
        table, t_value = timed(
            "compare_arms(metric='value', control='holdout')",
            lambda: experiments.compare_arms(out, control="holdout", metric="value"),
        )
    total = t_attach + t_conv + t_value
    print(f"  {'total: attach + both comparisons':<58} {total:8.3f} s  (target ≤ 5 s)")
    print(table[["variant", "n", "mean", "diff", "diff_low", "diff_high", "p_adjusted", "cace"]].to_string(index=False))

    rng = np.random.default_rng(1)
    print("per-recipient loops (on a random sample, extrapolated linearly to every recipient):")
    naive_rows = np.sort(rng.choice(n, args.naive_sample, replace=False))
    naive, t_naive = timed(f"naive loop, {len(naive_rows):,} recipients", lambda: naive_loop(frame, events, naive_rows))
    groups, t_group = timed("indexed loop: group orders by id (once)", lambda: events.groupby("customer_id").indices)
    indexed_rows = np.sort(rng.choice(n, min(args.indexed_sample, n), replace=False))
    indexed, t_indexed = timed(
        f"indexed loop, {len(indexed_rows):,} recipients", lambda: indexed_loop(frame, events, indexed_rows, groups)
    )
    for got, rows in ((naive, naive_rows), (indexed, indexed_rows)):
        want = out.iloc[rows]
        assert (got["converted"].to_numpy() == want["converted"].to_numpy()).all()
        assert np.allclose(got["value"].to_numpy(), want["value"].to_numpy())
    naive_all = t_naive * n / len(naive_rows)
    indexed_all = t_group + t_indexed * n / len(indexed_rows)
    print(
        f"  naive loop, extrapolated to {n:,}: {naive_all:,.0f} s → attach_outcomes is "
        f"{naive_all / t_attach:,.0f}× faster"
    )
    print(
        f"  indexed loop, extrapolated to {n:,}: {indexed_all:,.1f} s → attach_outcomes is "
        f"{indexed_all / t_attach:,.1f}× faster"
    )


if __name__ == "__main__":
    main()
