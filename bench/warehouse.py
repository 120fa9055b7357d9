"""The warehouse against the pandas path on 20,000,000 status reports and their send results.

Generates a synthetic year-of-campaigns slice (multi-segment messages, ACCEPTD before finals,
platform-made EXPIRED without a time, retried pushes, rejected and unknown sends), archives it with
``Warehouse.add`` (timed: the ingest rate), then measures in separate subprocesses, each with its own
peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``):

* warehouse: ``Warehouse(dir).delivery_rate(by=["template_id", "day"])`` on DuckDB;
* pandas: ``pd.read_parquet`` of the raw reports and results, ``read_status_reports`` +
  ``delivery_funnel`` + ``analytics.delivery_rate(by=["template_id", "day"])``, on all ten campaigns
  or, where memory cannot hold them, the first ``--pandas-campaigns``; the warehouse then also
  answers for those campaigns only (``campaign=[...]``), and the ratio compares the same rows;
* Spark (local[2]): the same ``delivery_rate`` with ``engine="spark"`` (``--skip-spark`` leaves it out).

Both paths must give the same table on the rows they share; the ratio is printed.

    .venv/bin/python bench/warehouse.py [--reports 20000000] [--pandas-campaigns K] [--dir DIR] [--skip-spark]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

CAMPAIGNS = 10  # one a month; each is one add() of results and one of reports
BY = ["template_id", "day"]


def generate(n_results: int, *, campaign: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One campaign (a month) of ``n_results`` send results and about 1.8 reports per result, vectorized."""
    rng = np.random.default_rng(campaign)
    i = np.arange(n_results) + campaign * n_results  # ids unique across campaigns
    request = np.arange(n_results) // 500
    origin = pd.Timestamp("2025-01-01", tz="UTC").value // 1000
    sent_us = origin + campaign * 30 * 86_400_000_000 + rng.integers(0, 30 * 86_400_000_000, n_results)
    # per number: rejected 4 %; per request (a call that timed out): unknown for 3 % of requests
    lost = rng.random(request.max() + 1) < 0.03
    state = np.where(lost[request], "unknown", np.where(rng.random(n_results) < 0.04, "rejected", "accepted"))
    ids = pd.Series(i).astype(str)
    msg = "m" + ids
    to = "+86138" + ids.str.zfill(8)
    extend = f"c{campaign}:" + pd.Series(request).astype(str)
    none = np.full(n_results, None, dtype=object)
    columns = {
        "to": to.to_numpy(),
        "template_id": np.char.add("T", rng.integers(0, 20, n_results).astype(str)),
        "variant": np.where(rng.random(n_results) < 0.5, "A", "B"),
        "state": state,
        "sms_msg_id": np.where(state == "accepted", msg.to_numpy(), none),
        "status": np.where(state == "accepted", "000000", np.where(state == "rejected", "E200028", none)),
        "error": np.where(state == "rejected", "refused", none),
        "extend": extend.to_numpy(),
    }
    results = pd.DataFrame(
        {name: pd.array(values, dtype="str") for name, values in columns.items()},
        index=pd.Index(ids.to_numpy(), name="user_id"),
    )
    results["sent_at"] = pd.to_datetime(sent_us, unit="us", utc=True)
    results["request_no"] = request
    reached = (state == "accepted") | ((state == "unknown") & (rng.random(n_results) < 0.7))
    m = np.flatnonzero(reached)
    total = rng.choice([1, 1, 1, 1, 2, 2, 3], len(m))
    seg_msg = np.repeat(m, total)  # one row per segment
    seg_total = np.repeat(total, total)
    seg_no = np.arange(len(seg_msg)) - np.repeat(np.cumsum(total) - total, total) + 1
    k = len(seg_msg)
    delay_us = (rng.exponential(30.0, k) * 1_000_000).astype(np.int64) + 200_000
    outcome = rng.choice(["DELIVRD", "UNDELIV", "EXPIRED", "MK:0001", "MBBLACK"], k, p=[0.86, 0.06, 0.04, 0.02, 0.02])
    final_time = np.where(outcome == "EXPIRED", -1, sent_us[seg_msg] + delay_us)  # platform-made: no time
    accepted_first = rng.random(k) < 0.3
    dup = rng.random(k) < 0.05  # retried pushes
    pick = np.concatenate([np.arange(k), np.flatnonzero(accepted_first), np.flatnonzero(dup)])
    status = np.concatenate([outcome, np.full(accepted_first.sum(), "ACCEPTD"), outcome[dup]])
    when = np.concatenate([final_time, (sent_us[seg_msg] + delay_us // 2)[accepted_first], final_time[dup]])
    order = rng.permutation(len(pick))  # arrival order is not time order
    pick, status, when = pick[order], status[order], when[order]
    rm = seg_msg[pick]
    times = pd.Series(pd.to_datetime(np.where(when < 0, 0, when), unit="us", utc=True))
    update_time = times.dt.strftime("%Y-%m-%dT%H:%M:%SZ").where(when >= 0)
    reports = pd.DataFrame(
        {
            "sms_msg_id": msg.to_numpy()[rm],
            "status": status,
            "update_time": update_time.to_numpy(),
            "total": seg_total[pick],
            "sequence": seg_no[pick],
            "extend": extend.to_numpy()[rm],
            "to": to.to_numpy()[rm],
        }
    )
    return results, reports


def build(root: Path, n_reports: int) -> None:
    """Generate ten campaigns (raw Parquet per campaign for the pandas path) and archive them into ``root/wh``."""
    import smskit

    per_campaign = int(n_reports / 1.8 / CAMPAIGNS)
    (root / "raw").mkdir(exist_ok=True)
    generated = archived = 0.0
    counts = {"results": 0, "reports": 0}
    with smskit.Warehouse(root / "wh") as wh:
        for campaign in range(CAMPAIGNS):
            t0 = time.perf_counter()
            results, reports = generate(per_campaign, campaign=campaign)
            results.to_parquet(root / "raw" / f"results-{campaign:02d}.parquet")
            reports.to_parquet(root / "raw" / f"reports-{campaign:02d}.parquet")
            t1 = time.perf_counter()
            wh.add(results, kind="results")
            wh.add(reports, kind="reports")
            t2 = time.perf_counter()
            generated, archived = generated + t1 - t0, archived + t2 - t1
            counts["results"] += len(results)
            counts["reports"] += len(reports)
            print(f"campaign c{campaign}: {len(results):,} results, {len(reports):,} reports", flush=True)
    print(f"generated {counts['results']:,} results and {counts['reports']:,} reports in {generated:.1f} s")
    print(f"archived in {archived:.1f} s ({counts['reports'] / archived:,.0f} reports/s, results included)")
    (root / "info.json").write_text(json.dumps({**counts, "per_campaign": per_campaign, "archive_s": archived}))


_WAREHOUSE = """
import json, resource, sys, time
import smskit
t = time.perf_counter()
campaigns = None if sys.argv[5] == "all" else [f"c{c}" for c in range(int(sys.argv[5]))]
with smskit.Warehouse(sys.argv[1], engine=sys.argv[2], spark=None if sys.argv[2] == "duckdb" else __import__(
        "pyspark.sql", fromlist=["SparkSession"]).SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "6g").config("spark.sql.shuffle.partitions", "16").getOrCreate(),
        memory_limit=sys.argv[3] or None) as wh:
    start = time.perf_counter()
    table = wh.delivery_rate(by=["template_id", "day"], campaign=campaigns)
    seconds = time.perf_counter() - start
table.to_pickle(sys.argv[4])
print(json.dumps({"seconds": seconds, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "groups": len(table), "sent": int(table["sent"].sum())}))
"""

_PANDAS = """
import json, resource, sys, time
import pandas as pd
import smskit
from smskit import analytics
campaigns = int(sys.argv[2])
start = time.perf_counter()
raw = pd.concat([pd.read_parquet(f"{sys.argv[1]}/raw/reports-{c:02d}.parquet") for c in range(campaigns)])
results = pd.concat([pd.read_parquet(f"{sys.argv[1]}/raw/results-{c:02d}.parquet") for c in range(campaigns)])
reports = smskit.read_status_reports(raw)
funnel = smskit.delivery_funnel(results, reports)
table = analytics.delivery_rate(funnel, by=["template_id", "day"])
seconds = time.perf_counter() - start
table.to_pickle(sys.argv[3])
print(json.dumps({"seconds": seconds, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "reports": len(raw), "results": len(results), "groups": len(table)}))
"""


def run(code: str, *args: str) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"subprocess failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=20_000_000)
    parser.add_argument(
        "--pandas-campaigns", type=int, default=CAMPAIGNS, help="campaigns (of ten) the pandas path reads (default all)"
    )
    parser.add_argument("--dir", default=None, help="keep the data here (reused when it has the same size)")
    parser.add_argument("--memory-limit", default="512MB", help="DuckDB memory_limit for the warehouse queries")
    parser.add_argument("--skip-spark", action="store_true")
    parser.add_argument("--build", action="store_true", help=argparse.SUPPRESS)  # the data step, in its own process
    args = parser.parse_args()
    root = Path(args.dir or tempfile.mkdtemp(prefix="smskit-bench-wh-"))
    root.mkdir(parents=True, exist_ok=True)
    if args.build:
        build(root, args.reports)
        return
    info_path = root / "info.json"
    per_campaign = int(args.reports / 1.8 / CAMPAIGNS)
    if info_path.exists() and json.loads(info_path.read_text())["per_campaign"] == per_campaign:
        print(f"reusing the data in {root}")
    else:  # built in a child: this process stays small, so the measuring children start small too
        subprocess.run(
            [sys.executable, __file__, "--build", "--reports", str(args.reports), "--dir", str(root)], check=True
        )
    info = json.loads(info_path.read_text())
    k = args.pandas_campaigns
    duck = run(_WAREHOUSE, str(root / "wh"), "duckdb", args.memory_limit, str(root / "wh.pkl"), "all")
    print(
        f"warehouse (DuckDB, memory_limit {args.memory_limit}): delivery_rate(by={BY}) over {info['reports']:,} "
        f"reports / {info['results']:,} results: {duck['seconds']:.2f} s, peak RSS {duck['maxrss_mb']:.0f} MB"
    )
    same_rows = duck
    if k < CAMPAIGNS:
        same_rows = run(_WAREHOUSE, str(root / "wh"), "duckdb", args.memory_limit, str(root / "wh-k.pkl"), str(k))
        print(
            f"warehouse, the first {k} campaigns (campaign=[...], the rows pandas reads): "
            f"{same_rows['seconds']:.2f} s, peak RSS {same_rows['maxrss_mb']:.0f} MB"
        )
    pdp = run(_PANDAS, str(root), str(k), str(root / "pd.pkl"))
    print(
        f"pandas path (read_parquet + read_status_reports + delivery_funnel + delivery_rate) on {pdp['reports']:,} "
        f"reports / {pdp['results']:,} results: {pdp['seconds']:.2f} s, peak RSS {pdp['maxrss_mb']:.0f} MB"
    )
    got = pd.read_pickle(root / ("wh.pkl" if k == CAMPAIGNS else "wh-k.pkl"))  # noqa: S301 - our own files
    pd.testing.assert_frame_equal(got, pd.read_pickle(root / "pd.pkl"), check_dtype=False, check_categorical=False)  # noqa: S301
    print("same table from both paths")
    print(
        f"ratio on the same rows: warehouse {pdp['seconds'] / same_rows['seconds']:.1f}x faster, "
        f"peak RSS {same_rows['maxrss_mb']:.0f} MB vs {pdp['maxrss_mb']:.0f} MB"
    )
    if not args.skip_spark:
        sp = run(_WAREHOUSE, str(root / "wh"), "spark", "", str(root / "spark.pkl"), "all")
        print(f"Spark local[2] (driver 6g), all rows: {sp['seconds']:.1f} s")
        spark_table = pd.read_pickle(root / "spark.pkl")  # noqa: S301
        pd.testing.assert_frame_equal(spark_table, pd.read_pickle(root / "wh.pkl"))  # noqa: S301
        print("Spark table equals DuckDB's")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore::FutureWarning")
    main()
