"""Contact-policy benchmark: planning 1,000,000 rows with the full ContactPolicy against a 10,000,000-row
contact history, versus planning with no policy, measured in the same run.

Inputs are synthetic (not timed): 1M recipients, 20 % Chinese mainland (+86), the rest from 15 other
countries, 36 % of all rows in countries whose numbers span several time zones (+1, +7, +44, +52,
+55, +61, +62); promotional, notification and verification templates from data/templates.csv,
distinct params per row. The history has 10M messages over 30 days to planned and other numbers
(``to``, ``template_id``, ``params``, ``kind`` and ``campaign_id`` categorical, ``sent_at`` UTC), with 2,000
busy +86 numbers that had 60 messages in the last day; 500,000 status reports (0.5 % blacklist codes)
and 20,000 replies (30 % unsubscribes). The clock is fixed at 23:30 Beijing time, so every promotional
+86 row is deferred and the other rules all have work.

Timed: ``plan_campaign`` (the baseline) and ``evaluate_policy`` with ``ContactPolicy(frequency_cap={"7D": 2},
not_after=…, max_segments=…)`` plus ``budget_check``; the ratio is (plan + policy) ÷ plan. Everything
runs in a child process whose peak RSS (``ru_maxrss``) is reported; ``--trace-memory`` adds the
tracemalloc peak of the policy step alone. Best of ``--repeat`` runs, wall clock and process CPU time
(the CPU ratio is steadier on a shared machine).

Run: ``.venv/bin/python bench/policy.py [--rows N] [--history N] [--repeat N] [--trace-memory]``
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from smskit.campaign.plan import plan_campaign  # noqa: E402
from smskit.campaign.policy import ContactPolicy, budget_check, evaluate_policy, held_back  # noqa: E402
from smskit.reports.ingest import read_status_reports  # noqa: E402
from smskit.reports.replies import read_replies  # noqa: E402
from smskit.templates import load_templates  # noqa: E402

DATA = ROOT / "data"
NOW = pd.Timestamp("2026-11-03T15:30:00Z")  # 23:30 in Beijing
MAINLAND = {"marketing": "bdcd13c0fb12fc0bf37f609c03139d65", "verification": "913069432e57a27e9f4f82974fb87a53"}
INTERNATIONAL = {
    "marketing": "d2cbcd3946ad63cbcdc62ee3c8cc741a",
    "notification": "1084df3291afc97c2ee0c0af7c157be7",
    "verification": "bfccfa780ff5e8f11245b2dfbc82efae",
}

KINDS = ["marketing", "notification", "verification"]
US_AREAS = ["212", "415", "312", "617", "713", "305", "206", "303", "602", "808", "907", "404", "214", "702", "503"]
# country: (share, prefix choices, random digits after the prefix)
COUNTRIES: dict[str, tuple[float, list[str], int]] = {
    "CN": (0.20, ["+86138", "+86139", "+86150", "+86151", "+86158", "+86186", "+86187", "+86188"], 8),
    "US": (0.10, [f"+1{a}{e}" for a in US_AREAS for e in ("555", "634", "720", "881")], 4),
    "GB": (0.05, ["+4477", "+4479", "+4475"], 8),
    "RU": (0.05, ["+7916", "+7903", "+7926"], 7),
    "AU": (0.03, ["+6141", "+6140", "+6143"], 7),
    "BR": (0.05, ["+55119", "+55219", "+55319", "+55419"], 8),
    "MX": (0.03, ["+5255", "+5233", "+5281"], 8),
    "ID": (0.05, ["+62811", "+62812", "+62813"], 8),
    "DE": (0.06, ["+49151", "+49160", "+49170"], 8),
    "FR": (0.05, ["+336"], 8),
    "IN": (0.08, ["+9198", "+9199"], 8),
    "SG": (0.05, ["+659", "+658"], 7),
    "AE": (0.05, ["+97150", "+97155"], 7),
    "TH": (0.05, ["+668"], 8),
    "PH": (0.05, ["+639"], 9),
    "ZA": (0.05, ["+2782"], 7),
}


def _numbers(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random numbers in the country mix, and whether each is +86."""
    names = list(COUNTRIES)
    country = rng.choice(len(names), size=n, p=[COUNTRIES[c][0] for c in names])
    out = np.empty(n, dtype=object)
    for i, name in enumerate(names):
        where = np.flatnonzero(country == i)
        _, prefixes, digits = COUNTRIES[name]
        head = np.array(prefixes, dtype=object)[rng.integers(0, len(prefixes), len(where))]
        tail = pd.Series(rng.integers(0, 10**digits, len(where)).astype(str)).str.zfill(digits).to_numpy(dtype=object)
        out[where] = head + tail
    return out, country == names.index("CN")


def make_recipients(n: int, rng: np.random.Generator) -> pd.DataFrame:
    numbers, mainland = _numbers(rng, n)
    kind_cn = rng.choice(["marketing", "verification"], size=n, p=[0.8, 0.2])
    kind_intl = rng.choice(["marketing", "notification", "verification"], size=n, p=[0.6, 0.25, 0.15])
    template = np.where(
        mainland, pd.Series(kind_cn).map(MAINLAND).to_numpy(), pd.Series(kind_intl).map(INTERNATIONAL).to_numpy()
    )
    code = pd.Series(rng.integers(0, 1_000_000, n).astype(str)).str.zfill(6)
    return pd.DataFrame({"phone": numbers, "template": template, "code": code, "name": "Ada"})


def make_history(n: int, recipients: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` past messages: 60 % to this campaign's numbers, 40 % to others; 2,000 busy +86 numbers in the last day."""
    others, _ = _numbers(rng, 1_000_000)
    categories = pd.Index(pd.unique(np.concatenate([recipients, others])))
    cn = np.flatnonzero(pd.Series(recipients).str.startswith("+86").to_numpy())
    busy = recipients[rng.choice(cn, 2_000, replace=False)]
    n_busy = 60 * len(busy)
    n_rest = n - n_busy
    planned_codes = categories.get_indexer(recipients)
    other_codes = categories.get_indexer(others)
    to = np.where(
        rng.random(n_rest) < 0.6,
        planned_codes[rng.integers(0, len(recipients), n_rest)],
        other_codes[rng.integers(0, len(others), n_rest)],
    )
    to = np.concatenate([to, np.repeat(categories.get_indexer(busy), 60)]).astype(np.int32)
    span = 30 * 86400
    ages = np.concatenate([rng.integers(0, span, n_rest), rng.integers(0, 86400, n_busy)])
    sent = NOW.value - ages.astype(np.int64) * 1_000_000_000
    templates = [*MAINLAND.values(), *INTERNATIONAL.values()]
    kind_codes = np.array(
        [KINDS.index(k) for k in ("marketing", "verification", "marketing", "notification", "verification")],
        dtype=np.int8,
    )
    tpl = rng.integers(0, len(templates), n).astype(np.int8)
    params = pd.Categorical.from_codes(
        rng.integers(0, 1000, n).astype(np.int32), categories=[f'["{i:06d}"]' for i in range(1000)]
    )
    return pd.DataFrame(
        {
            "to": pd.Categorical.from_codes(to, categories=categories),
            "template_id": pd.Categorical.from_codes(tpl, categories=templates),
            "params": params,
            "kind": pd.Categorical.from_codes(kind_codes[tpl], categories=KINDS),
            "sent_at": pd.to_datetime(sent, utc=True),
            "campaign_id": pd.Categorical.from_codes(
                rng.integers(0, 50, n).astype(np.int8), [f"c{i}" for i in range(50)]
            ),
        }
    )


def make_reports(history: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    pick = rng.integers(0, len(history), n)
    status = np.where(rng.random(n) < 0.005, rng.choice(["MBBLACK", "TDBLACK", "BLACK"], n), "DELIVRD")
    frame = pd.DataFrame(
        {
            "sms_msg_id": [f"m{i}" for i in range(n)],
            "status": status,
            "to": history["to"].to_numpy()[pick].astype(object),
            "update_time": history["sent_at"].to_numpy()[pick],
        }
    )
    return read_status_reports(frame)


def make_replies(planned: np.ndarray, n: int, rng: np.random.Generator) -> pd.DataFrame:
    cn = planned[pd.Series(planned).str.startswith("+86").to_numpy()]
    bodies = rng.choice(["TD", "退订", "R", "ok", "thanks", "who is this?", "stop", "好的", "Y", "?"], n)
    times = (NOW - pd.to_timedelta(rng.integers(0, 30 * 86400, n), unit="s")).strftime("%Y-%m-%dT%H:%M:%SZ")
    frame = pd.DataFrame(
        {"sms_msg_id": [f"u{i}" for i in range(n)], "from": cn[rng.integers(0, len(cn), n)], "to": "1069012345"}
        | {"body": bodies, "create_time": times}
    )
    return read_replies(frame)


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make(path: Path, rows: int, history_rows: int, single: bool) -> None:
    """Build the inputs (not timed) and pickle them for the measuring process."""
    rng = np.random.default_rng(13)
    recipients = make_recipients(rows, rng)
    if single:  # one promotional template for every row
        recipients["template"] = INTERNATIONAL["marketing"]
    numbers = recipients["phone"].to_numpy(dtype=object)
    history = make_history(history_rows, numbers, rng)
    reports = make_reports(history, 500_000, rng)
    replies = make_replies(numbers, 20_000, rng)
    pd.to_pickle((recipients, history, reports, replies), path)


def measure(path: Path, repeat: int, trace: bool) -> None:
    """Time planning alone and the full policy on top, alternately, in this process; report peak RSS."""
    recipients, history, reports, replies = pd.read_pickle(path)  # noqa: S301 - the file make() just wrote
    inputs_rss = _rss_mib()
    catalog = load_templates(DATA / "templates.csv")
    kind_of = {t.template_id: t.kind for t in catalog.values()}
    kwargs = {"template_column": "template", "params": ["code", "name"], "templates": catalog, "skip_invalid": True}
    policy = ContactPolicy(frequency_cap={"7D": 2}, not_after="2026-11-03T23:00:00Z", max_segments=10_000_000)
    plan_times, policy_times, plan_cpu, policy_cpu = [], [], [], []
    verdict, totals = None, {}
    plan_rss = 0.0
    for i in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        plan = plan_campaign(recipients, **kwargs)
        plan_times.append(time.perf_counter() - t0)
        plan_cpu.append(time.process_time() - c0)
        plan_rss = plan_rss or _rss_mib()
        traced = trace and i == repeat - 1
        if traced:
            tracemalloc.start()
        t0, c0 = time.perf_counter(), time.process_time()
        rec = plan.recipients
        rows = rec.loc[rec["state"] == "ready", ["to", "region", "template_id", "params"]]
        rows["kind"] = rows["template_id"].map(kind_of)
        verdict = evaluate_policy(rows, now=NOW, policy=policy, history=history, reports=reports, replies=replies)
        totals = budget_check(plan.summary, policy)
        policy_times.append(time.perf_counter() - t0)
        policy_cpu.append(time.process_time() - c0)
        if traced:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"  tracemalloc peak of the policy step: {peak / 2**20:.0f} MiB")
        del plan, rec, rows
    assert verdict is not None
    plan_s, policy_s = min(plan_times), min(policy_times)
    hist_mib = history.memory_usage(deep=False).sum() / 2**20
    print(f"history: {len(history):,} rows ({hist_mib:.0f} MiB of codes), ", end="")
    print(f"reports {len(reports):,}, replies {len(replies):,}")
    print(f"planned rows evaluated: {len(verdict):,}  segments {totals['segments']:,}")
    print("  " + held_back(verdict).to_string(index=False).replace("\n", "\n  "))
    print(f"  states: {verdict['state'].value_counts().to_dict()}")
    runs = ", ".join(f"{t:.2f}" for t in plan_times)
    print(f"plan_campaign, no policy: {plan_s:.2f} s wall (runs: {runs}), {min(plan_cpu):.2f} s CPU")
    runs = ", ".join(f"{t:.2f}" for t in policy_times)
    print(f"full policy on top:       {policy_s:.2f} s wall (runs: {runs}), {min(policy_cpu):.2f} s CPU")
    wall, cpu = (plan_s + policy_s) / plan_s, (min(plan_cpu) + min(policy_cpu)) / min(plan_cpu)
    print(f"ratio (plan + policy) ÷ plan: {wall:.2f}x wall, {cpu:.2f}x CPU  (target ≤ 2x)")
    print(
        f"peak RSS {_rss_mib():.0f} MiB (inputs loaded: {inputs_rss:.0f} MiB, after the first plan: {plan_rss:.0f} MiB)"
        "  (target ≤ 1.5 GB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--history", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--single-template", action="store_true", help="one promotional template for every row")
    parser.add_argument("--trace-memory", action="store_true")
    parser.add_argument("--make", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--measure", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        make(Path(args.make), args.rows, args.history, args.single_template)
        return
    if args.measure:
        measure(Path(args.measure), args.repeat, args.trace_memory)
        return
    which = "one promotional template" if args.single_template else "mixed templates and kinds"
    print(f"policy benchmark: {args.rows:,} rows ({which}), {args.history:,} history rows", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inputs.pkl"
        make_cmd = [sys.executable, __file__, "--make", str(path), "--rows", str(args.rows)]
        make_cmd += ["--history", str(args.history)] + (["--single-template"] if args.single_template else [])
        subprocess.run(make_cmd, check=True)
        measure_cmd = [sys.executable, __file__, "--measure", str(path), "--repeat", str(args.repeat)]
        subprocess.run(measure_cmd + (["--trace-memory"] if args.trace_memory else []), check=True)


if __name__ == "__main__":
    main()
