"""Write data/experiment_recipients.csv and data/orders.csv: an SMS experiment whose truth is known.

    .venv/bin/python data/make_experiment_data.py   # deterministic: same files on every run

The story: 10,000 customers of a shop; a spring-sale SMS in two wordings, A and B (the marketing
templates ``…741a`` and ``…741b`` of data/templates.csv), with 10 % held out.

* Arms: ``assign_variants(recipients, ARMS, seed=SEED, id="customer_id", stratify="tier")``: 10 %
  ``holdout``, 45 % ``A``, 45 % ``B``, exactly within each tier.
* Campaign start ``START`` = 2025-03-03 09:00 UTC; the outcome window is 7 days.
* A recipient of A or B is reached (the SMS delivered) with probability ``REACH`` = 0.95, the
  emulator's default delivery rate; the holdout is never sent.
* Chance of ordering within the 7 days without any SMS: gold 8 %, silver 5 %, bronze 3 %.
* The SMS adds, for a reached recipient, ``EFFECT`` = +2.0 points (A) or +4.0 points (B) to that
  chance, in every tier; an unreached recipient behaves as if held out.
* A buyer places 1 + Poisson(0.3) orders in the window (1.3 on average) of ``AMOUNT_MEAN`` = 40.00
  each on average (log-normal, sd 0.6 on the log scale), whatever the arm.

So the true effects against the holdout are, per assigned recipient (intention to treat):
conversion A +1.9 points, B +3.8 points; revenue A +0.988, B +1.976 (points × 1.3 × 40); and among
the reached (the CACE) +2.0 / +4.0 points and +1.04 / +2.08 of revenue. ``TRUTH`` holds these.

Orders outside the window (the 14 days before the start, days 7–14 after it) and orders of
customers not in the campaign are in the file too: they must not count. Order times are relative
to ``START``; to replay the file against a live send, shift ``ordered_at`` by
``results["sent_at"].min() - START``. The effects act on the generator's own draw of who was
reached; a live send reaches other recipients at the same rate, which leaves the ITT and CACE
estimands unchanged.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from smskit.experiments import assign_variants  # noqa: E402

SEED = 14
N = 10_000
START = pd.Timestamp("2025-03-03 09:00", tz="UTC")
WINDOW = pd.Timedelta("7D")
ARMS = {"holdout": 0.1, "A": 0.45, "B": 0.45}
TEMPLATES = {"A": "d2cbcd3946ad63cbcdc62ee3c8cc741a", "B": "d2cbcd3946ad63cbcdc62ee3c8cc741b"}
TIERS = {"gold": (0.10, 0.08), "silver": (0.30, 0.05), "bronze": (0.60, 0.03)}  # share, base rate
REACH = 0.95
EFFECT = {"holdout": 0.0, "A": 0.02, "B": 0.04}
EXTRA_ORDERS = 0.3
AMOUNT_MEAN = 40.0
AMOUNT_LOG_SD = 0.6
PREFIXES = ("+33612", "+4915112", "+447412", "+6591", "+16502", "+8613800")  # + 6 digits: valid mobiles
NAMES = ("Anna", "Ben", "Chloé", "David", "Emma", "Felix", "Grace", "Hugo", "Ines", "Jonas", "Lea", "Mei", "Noah")
TRUTH = {
    arm: {
        "itt_conversion": REACH * EFFECT[arm],
        "cace_conversion": EFFECT[arm],
        "itt_value": REACH * EFFECT[arm] * (1 + EXTRA_ORDERS) * AMOUNT_MEAN,
        "cace_value": EFFECT[arm] * (1 + EXTRA_ORDERS) * AMOUNT_MEAN,
    }
    for arm in ("A", "B")
}


def generate(seed: int = SEED, n: int = N) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """The recipients (customer_id, phone, name, tier), their orders (customer_id, ordered_at, amount),
    and who the generator's SMS reached (bool per recipient; not written to the files)."""
    rng = np.random.default_rng(seed)
    prefix = np.array(PREFIXES)[rng.integers(0, len(PREFIXES), n)]
    serial = rng.choice(10**6, n, replace=False)
    phone = [f"{p}{s:06d}" for p, s in zip(prefix.tolist(), serial.tolist(), strict=True)]
    tiers = list(TIERS)
    recipients = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(1, n + 1)],
            "phone": phone,
            "name": np.array(NAMES)[rng.integers(0, len(NAMES), n)],
            "tier": np.array(tiers)[rng.choice(len(tiers), n, p=[s for s, _ in TIERS.values()])],
        }
    )
    arm = assign_variants(recipients, ARMS, seed=seed, id="customer_id", stratify="tier")["variant"].astype(str)
    base = recipients["tier"].map({t: r for t, (_, r) in TIERS.items()}).to_numpy()
    reached = (arm != "holdout").to_numpy() & (rng.random(n) < REACH)
    lift = arm.map(EFFECT).to_numpy() * reached
    u = rng.random(n)
    buys_anyway, buys_because = u < base, (u >= base) & (u < base + lift)
    hour, week = 3600.0, WINDOW.total_seconds()
    first = np.where(
        buys_because,
        hour + np.minimum(rng.exponential(86400.0, n), week - 2 * hour - 1),  # soon after the SMS
        rng.uniform(hour, week - hour, n),
    )
    buyers = np.flatnonzero(buys_anyway | buys_because)
    extra = rng.poisson(EXTRA_ORDERS, len(buyers))
    who = np.concatenate([buyers, np.repeat(buyers, extra)])
    when = np.concatenate([first[buyers], rng.uniform(np.repeat(first[buyers], extra), week - hour)])
    # orders that must not count: before the start, after the window, from customers not in the campaign
    before = rng.choice(n, n // 10, replace=False)
    after = rng.choice(n, n // 10, replace=False)
    ids = recipients["customer_id"].to_numpy()
    strangers = np.array([f"W{i:05d}" for i in range(1, n // 20 + 1)])
    order_ids = np.concatenate([ids[who], ids[before], ids[after], strangers])
    offsets = np.concatenate(
        [
            when,
            rng.uniform(-14 * 86400.0, -60.0, len(before)),
            rng.uniform(week + 60.0, 2 * week, len(after)),
            rng.uniform(-week, 2 * week, len(strangers)),
        ]
    )
    amount = rng.lognormal(np.log(AMOUNT_MEAN) - AMOUNT_LOG_SD**2 / 2, AMOUNT_LOG_SD, len(order_ids))
    orders = pd.DataFrame(
        {
            "customer_id": order_ids,
            "ordered_at": (START + pd.to_timedelta(np.round(offsets), unit="s")).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "amount": np.round(amount, 2),
        }
    )
    orders = orders.sort_values(["ordered_at", "customer_id"], kind="stable").reset_index(drop=True)
    return recipients, orders, reached


def main() -> None:
    recipients, orders, _ = generate()
    recipients.to_csv(HERE / "experiment_recipients.csv", index=False)
    orders.to_csv(HERE / "orders.csv", index=False)
    print(f"wrote {len(recipients):,} recipients and {len(orders):,} orders to {HERE}")


if __name__ == "__main__":
    main()
