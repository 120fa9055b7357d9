"""A small experiment with known outcomes, shared by the report's tests (Python and command line)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from smskit.reports.ingest import read_status_reports

T0 = pd.Timestamp("2026-06-24T08:00:00Z")
ARMS = {"holdout": 100, "A": 250, "B": 250}
WEIGHTS = {"holdout": 1 / 6, "A": 5 / 12, "B": 5 / 12}


def experiment_campaign(seed: int = 14) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(results, reports, orders)``: 600 customers, 100 held out (state ``held_out``, never sent), 250
    each in A and B; 90 % of the sent delivered. Customers buy with chance 5 %, B's delivered ones 30 %;
    each buyer orders once, 1.5 days after the send, for 40.00. Orders that must not count: the day
    before the send, 9 days after it, and from a customer not in the campaign."""
    rng = np.random.default_rng(seed)
    variant = np.repeat(list(ARMS), list(ARMS.values()))
    n = len(variant)
    held = variant == "holdout"
    ids = np.array([f"C{i:04d}" for i in range(n)])
    messages = np.array([f"m{i}" for i in range(n)], dtype=object)
    results = pd.DataFrame(
        {
            "to": [f"+6591{i:06d}" for i in range(n)],
            "template_id": np.where(held, None, np.where(variant == "A", "tA", "tB")),
            "state": np.where(held, "held_out", "accepted"),
            "sms_msg_id": np.where(held, None, messages),
            "status": np.where(held, None, "000000"),
            "sent_at": T0,
            "customer_id": ids,
            "variant": pd.Categorical(variant, categories=list(ARMS)),
        }
    )
    delivered = ~held & (rng.random(n) < 0.9)
    reports = read_status_reports(
        pd.DataFrame(
            {
                "sms_msg_id": messages[~held],
                "status": np.where(delivered[~held], "DELIVRD", "UNDELIV"),
                "update_time": (T0 + pd.Timedelta(seconds=30)).isoformat(),
                "to": results.loc[~held, "to"].to_numpy(),
            }
        )
    )
    chance = np.where((variant == "B") & delivered, 0.30, 0.05)
    buyers = ids[rng.random(n) < chance]
    strays = ids[rng.choice(n, 20, replace=False)]
    orders = pd.DataFrame(
        {
            "customer_id": [*buyers, *strays, *strays, "W0001"],
            "ordered_at": [T0 + pd.Timedelta("36h")] * len(buyers)
            + [T0 - pd.Timedelta("1D")] * len(strays)
            + [T0 + pd.Timedelta("9D")] * len(strays)
            + [T0 + pd.Timedelta("1D")],
            "amount": 40.0,
        }
    )
    return results, reports, orders
