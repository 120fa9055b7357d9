"""smskit.Warehouse on DuckDB: the differential test against the pandas path, idempotence, atomic
writes under kill -9, concurrent writers, old datasets, fsspec URLs and the escape hatch."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import smskit
from smskit import analytics
from smskit.errors import DataValidationError, WarehouseError
from smskit.reports.ingest import read_status_reports
from smskit.warehouse.schema import MANIFEST, SCHEMA_VERSION, spec
from smskit.warehouse.synthetic import synthetic_campaign
from tests.warehouse._checks import assert_same, check_against_pandas, pandas_funnel


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return synthetic_campaign(2500, seed=3)


def _parquet_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.parquet"))


def test_duckdb_matches_the_pandas_path_on_every_metric(tmp_path, data) -> None:
    results, reports = data
    with smskit.Warehouse(tmp_path / "wh") as wh:
        # in overlapping pieces, some twice: what is stored is the union, once
        assert wh.add(results.iloc[:1500], kind="results") == int(results.iloc[:1500]["state"].ne("unsent").sum())
        wh.add(results, kind="results")
        wh.add(reports.iloc[: len(reports) // 2 + 300], kind="reports")
        wh.add(reports.iloc[len(reports) // 2 :], kind="reports")
        check_against_pandas(wh, pandas_funnel(results, reports))


def test_filters_by_campaign_and_since_match_the_pandas_path_on_those_sends(tmp_path, data) -> None:
    results, reports = data
    since = pd.Timestamp("2025-03-02 06:00", tz="UTC")
    chosen = results[results["extend"].str.startswith("summer:") & (results["sent_at"] >= since)]
    want = pandas_funnel(chosen, reports)
    with smskit.Warehouse(tmp_path / "wh") as wh:
        wh.add(results, kind="results")
        wh.add(reports, kind="reports")
        got = wh.funnel(campaign="summer", since="2025-03-02T06:00:00")
        assert len(got) == len(want) > 0
        assert_same(
            got[["recipient_id", "final_status", "delivered", "category", "reported_at", "latency_s"]],
            want.sort_values(["recipient_id"])[
                ["recipient_id", "final_status", "delivered", "category", "reported_at", "latency_s"]
            ],
        )
        assert_same(
            wh.delivery_rate(by="template_id", campaign="summer", since=since),
            analytics.delivery_rate(want, by="template_id"),
        )
        scoped = wh.read("reports", campaign="summer", since=since)
        assert_same(
            pandas_funnel(chosen, scoped).sort_values("recipient_id")[["final_status", "reported_at"]],
            want.sort_values("recipient_id")[["final_status", "reported_at"]],
        )
        assert len(scoped) < len(read_status_reports(reports).drop_duplicates(list(spec("reports").key)))


def test_adding_the_same_sources_again_adds_nothing(tmp_path, data) -> None:
    results, reports = data
    csv = tmp_path / "results.csv"
    results.to_csv(csv)
    log = tmp_path / "callbacks.jsonl"
    read_status_reports(reports).drop(columns=["delivered", "category"]).assign(
        update_time=lambda f: f["update_time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    ).rename(columns={"sms_msg_id": "smsMsgId", "update_time": "updateTime"}).to_json(log, orient="records", lines=True)
    with smskit.Warehouse(tmp_path / "wh") as wh:
        first = wh.add(csv)  # kind inferred from the results CSV's columns
        assert first == int(results["state"].isin(["accepted", "rejected", "unknown"]).sum())
        stored = read_status_reports(reports).drop_duplicates(list(spec("reports").key))
        assert wh.add(log) == len(stored)
        files = _parquet_files(tmp_path / "wh")
        assert wh.add(csv) == 0
        assert wh.add(results, kind="results") == 0  # the same rows from the frame
        assert wh.add(log) == 0
        assert wh.add(reports, kind="reports") == 0
        assert _parquet_files(tmp_path / "wh") == files
        info = wh.info().set_index("kind")
    assert info.loc["results", "rows"] == info.loc["results", "distinct"] == first
    assert info.loc["reports", "rows"] == info.loc["reports", "distinct"] == len(stored)


def test_a_settled_outcome_replaces_an_unknown_one_for_the_same_key(tmp_path, data) -> None:
    results, _ = data
    row = results[results["state"] == "unknown"].iloc[:1]
    settled = row.assign(
        state=pd.Categorical(["accepted"], categories=results["state"].cat.categories), sms_msg_id="m-new"
    )
    with smskit.Warehouse(tmp_path / "wh") as wh:
        assert wh.add(row, kind="results") == 1
        assert wh.add(settled, kind="results") == 1
        assert wh.add(row, kind="results") == 0  # unknown again adds nothing: the key is settled
        stored = wh.read("results")
    assert stored[["state", "sms_msg_id"]].astype(str).values.tolist() == [["accepted", "m-new"]]


def test_copies_of_files_from_racing_writers_are_counted_once(tmp_path, data) -> None:
    results, reports = data
    root = tmp_path / "wh"
    with smskit.Warehouse(root) as wh:
        wh.add(results, kind="results")
        wh.add(reports, kind="reports")
        before = wh.delivery_rate(by="template_id")
        funnel = wh.funnel()
    for path in _parquet_files(root):  # what two writers with different views of the store would leave
        shutil.copy(path, path.with_name("part-racer-" + path.name.removeprefix("part-")))
    with smskit.Warehouse(root) as wh:
        info = wh.info().set_index("kind")
        assert (info.loc[["results", "reports"], "rows"] == 2 * info.loc[["results", "reports"], "distinct"]).all()
        assert_same(wh.delivery_rate(by="template_id"), before)
        assert_same(wh.funnel(), funnel)
        assert wh.sql("SELECT count(*) AS n FROM results")["n"].iloc[0] == len(funnel)


_CHILD = """
import sys
import smskit
wh = smskit.Warehouse(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
print(wh.add(sys.argv[2], kind="reports"), flush=True)
"""


def test_two_processes_archiving_the_same_store_at_once_leave_no_duplicates(tmp_path) -> None:
    from smskit.reports.store import ReportStore
    from smskit.reports.wire import StatusReport

    store = tmp_path / "r.sqlite"
    with ReportStore(store) as rs:
        rs.add(StatusReport(f"id-{i}", "DELIVRD" if i % 3 else "UNDELIV", total=1, sequence=1) for i in range(30000))
    root = tmp_path / "wh"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(root), str(store)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for p in procs:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "ready"
    for p in procs:  # both start their add at the same moment
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    added = []
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0
        added.append(int(out.strip()))
    assert sum(added) >= 30000  # each saw an empty warehouse, or one saw the other's rows
    with smskit.Warehouse(root) as wh:
        counts = wh.sql("SELECT count(*) AS n, count(DISTINCT sms_msg_id) AS ids FROM reports")
        assert counts[["n", "ids"]].values.tolist() == [[30000, 30000]]
        assert wh.add(store) == 0


_KILLED = """
import sys
import pandas as pd
import smskit
wh = smskit.Warehouse(sys.argv[1])
n = 0
while True:
    frame = pd.DataFrame({"sms_msg_id": [f"{sys.argv[2]}{n}-{i}" for i in range(40000)], "status": "DELIVRD",
                          "update_time": "2025-03-01T00:00:00Z"})
    wh.add(frame, kind="reports")
    n += 1
    print(n, flush=True)
"""


@pytest.mark.slow
def test_kill_9_mid_write_never_leaves_a_half_file_visible(tmp_path) -> None:
    root = tmp_path / "wh"
    for run, delay in enumerate((0.05, 0.2, 0.35, 0.5, 0.65)):  # a batch takes about 0.8 s: kills land inside
        args = [sys.executable, "-c", _KILLED, str(root), f"run{run}-"]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "1"  # one batch is stored; the next is under way
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    files = _parquet_files(root)
    rows = sum(pq.read_metadata(path).num_rows for path in files)  # every visible data file is whole
    assert rows >= 5 * 40000
    hidden = [p for p in root.rglob("*.tmp")]
    with smskit.Warehouse(root) as wh:
        assert wh.sql("SELECT count(*) AS n FROM raw_reports")["n"].iloc[0] == rows
        assert wh.sql("SELECT count(*) AS n FROM reports")["n"].iloc[0] == rows  # whole batches, none twice
    assert all(p.name.startswith(".") for p in hidden)  # an interrupted write is only a hidden temp file
    assert rows % 40000 == 0


def test_an_old_version_0_dataset_is_read_and_upgraded_on_write(tmp_path, data) -> None:
    results, reports = data
    root = tmp_path / "v0"
    # version 0: no manifest, results without recipient_id/variant, no archived_at anywhere
    with smskit.Warehouse(tmp_path / "v1") as wh1:
        wh1.add(results, kind="results")
        wh1.add(reports, kind="reports")
        want = wh1.delivery_rate(by="template_id")
    for kind in ("results", "reports"):
        s = spec(kind)
        for path in _parquet_files(tmp_path / "v1" / kind):
            table = pq.read_table(path)
            old = table.drop_columns([c for c in s.since_v1 if c in table.column_names])
            target = root / path.relative_to(tmp_path / "v1")
            target.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(old, target)
    assert not (root / MANIFEST).exists()
    with smskit.Warehouse(root) as wh:
        assert wh.schema_version == 0
        assert_same(wh.delivery_rate(by="template_id"), want)
        assert wh.read("results")["variant"].isna().all()
        assert not (root / MANIFEST).exists()  # reading never writes
        assert wh.add(results, kind="results") == 0
        extra = results.iloc[:1].assign(extend="autumn:0")
        assert wh.add(extra, kind="results") == 1
        assert wh.schema_version == SCHEMA_VERSION
    assert json.loads((root / MANIFEST).read_text())["schema_version"] == SCHEMA_VERSION


def test_a_newer_or_foreign_manifest_is_refused(tmp_path) -> None:
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / MANIFEST).write_text(json.dumps({"format": "smskit-warehouse", "schema_version": 99}))
    with pytest.raises(WarehouseError, match="schema version 99"):
        smskit.Warehouse(tmp_path / "new")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / MANIFEST).write_text("{}")
    with pytest.raises(WarehouseError, match="not a smskit warehouse manifest"):
        smskit.Warehouse(tmp_path / "other")


def test_an_fsspec_url_holds_a_warehouse(data) -> None:
    import fsspec

    results, reports = data
    url = f"memory://smskit-test-{os.getpid()}"
    try:
        with smskit.Warehouse(url) as wh:
            assert wh.add(results, kind="results") > 0
            wh.add(reports, kind="reports")
            assert wh.add(reports, kind="reports") == 0
            assert_same(
                wh.delivery_rate(by="variant"), analytics.delivery_rate(pandas_funnel(results, reports), by="variant")
            )
        assert fsspec.filesystem("memory").exists(f"{url}/{MANIFEST}")
    finally:
        fsspec.filesystem("memory").rm(url, recursive=True)


def test_a_ledger_is_archived_as_results(tmp_path, emulator) -> None:
    recipients = pd.DataFrame({"phone": [f"+6591{i:06d}" for i in range(12)], "code": [f"{i:06d}" for i in range(12)]})
    plan = smskit.plan_campaign(recipients, template_id="bfccfa780ff5e8f11245b2dfbc82efae", params=["code"], to="phone")
    ledger = tmp_path / "ledger.sqlite"
    results = smskit.send_campaign(
        plan, client=emulator.client(), ledger=ledger, campaign_id="c-ledger", progress=False
    )
    with smskit.Warehouse(tmp_path / "wh") as wh:
        assert wh.add(ledger) == 12  # kind inferred: a ledger holds results
        assert wh.add(results, kind="results") == 0  # the same outcomes from the results frame
        stored = wh.read("results")
    assert set(stored["campaign"]) == {"c-ledger"}
    assert sorted(stored["sms_msg_id"]) == sorted(results["sms_msg_id"].astype(str))


def test_replies_are_archived_once_by_their_id(tmp_path) -> None:
    replies = pd.DataFrame(
        {
            "sms_msg_id": ["r1", "r2", "r2"],
            "from": ["+8613800000001", "+8613800000002", "+8613800000002"],
            "to": ["10690000", "10690000", "10690000"],
            "body": ["R", "thanks", "thanks"],
            "create_time": ["2025-03-01T10:00:00Z", None, None],
            "received_at": pd.to_datetime(["2025-03-01T10:00:01Z", "2025-04-02T00:00:00Z", "2025-04-02T00:00:00Z"]),
            "unsubscribe": [True, False, False],
        }
    )
    with smskit.Warehouse(tmp_path / "wh") as wh:
        assert wh.add(replies, kind="replies") == 2
        assert wh.add(replies, kind="replies") == 0
        got = wh.sql("SELECT `from`, body, unsubscribe FROM replies ORDER BY sms_msg_id")
    assert got.values.tolist() == [["+8613800000001", "R", True], ["+8613800000002", "thanks", False]]
    assert sorted(p.name for p in (tmp_path / "wh" / "replies").iterdir()) == ["month=2025-03", "month=2025-04"]


def test_bad_input_is_refused_with_the_rows_named(tmp_path, data) -> None:
    results, _ = data
    with smskit.Warehouse(tmp_path / "wh") as wh:
        no_campaign = results.iloc[:3].drop(columns=["extend", "request_no"])
        with pytest.raises(DataValidationError, match="user-000000") as caught:
            wh.add(no_campaign, kind="results")
        assert caught.value.rows is not None
        assert "problem" in caught.value.rows.columns
        with pytest.raises(WarehouseError, match="unknown kind"):
            wh.add(results, kind="sends")
        with pytest.raises(DataValidationError, match="cannot group by"):
            wh.delivery_rate(by="nope")
        with pytest.raises(DataValidationError, match="campaign name"):
            wh.funnel(campaign="x'; DROP TABLE results; --")
        with pytest.raises(DataValidationError, match="fixed frequency"):
            wh.rate_over_time(freq="W")
        with pytest.raises(WarehouseError, match="could not run"):
            wh.sql("SELECT nope FROM results")
        assert _parquet_files(tmp_path / "wh") == []
    with pytest.raises(WarehouseError, match="unknown engine"):
        smskit.Warehouse(tmp_path / "wh", engine="sqlite")


def test_plots_take_the_warehouse_frames(tmp_path, data) -> None:
    from smskit import plots

    results, reports = data
    with smskit.Warehouse(tmp_path / "wh") as wh:
        wh.add(results, kind="results")
        wh.add(reports, kind="reports")
        rates = wh.delivery_rate(by="template_id")
        ax = plots.delivery_rate(rates, by="template_id")
        assert [t.get_text() for t in ax.get_yticklabels()] == list(rates["template_id"])
        assert [p.get_width() for p in ax.patches] == pytest.approx(list(rates["rate"]))
        overall = rates["delivered"].sum() / rates["sent"].sum()
        assert [list(line.get_ydata()) for line in ax.lines if line.get_xdata()[0] == pytest.approx(overall)] == [
            [0, 1]
        ]
        over_time = wh.rate_over_time(freq="1D")
        ax = plots.delivery_over_time(over_time, freq="1D")
        assert list(ax.lines[0].get_ydata()) == pytest.approx(list(over_time["rate"]))
        failures = wh.failure_breakdown()
        ax = plots.failure_reasons(failures, top=4)
        assert [p.get_width() for p in ax.patches][:4] == list(failures["count"].head(4))
        counts = wh.funnel_counts()
        ax = plots.funnel(counts)
        assert [p.get_width() for p in ax.patches] == list(counts["count"])
        quantiles = wh.latency_quantiles(by="variant", q=np.linspace(0, 1, 401))
        from_table = plots.latency(quantiles, by="variant")
        from_rows = plots.latency(wh.funnel(), by="variant")
        assert len(from_table.lines) == len(from_rows.lines) == 2
        for drawn, want in zip(from_table.lines, from_rows.lines, strict=True):
            assert drawn.get_label() == want.get_label()
            assert list(drawn.get_xdata()) == pytest.approx(list(want.get_xdata()))


def test_repr_html_shows_the_kinds_escaped(tmp_path, data) -> None:
    results, _ = data
    with smskit.Warehouse(tmp_path / "a<b") as wh:
        wh.add(results.iloc[:10], kind="results")
        page = wh._repr_html_()
    assert "a&lt;b" in page
    assert "a<b" not in page
    assert "<td>results</td>" in page


def test_held_out_rows_are_accepted_and_left_out_like_every_row_never_sent(tmp_path) -> None:
    """An experiment's results carry held_out rows (never sent, no request): the warehouse takes the frame,
    keeps the send outcomes only, and answers as the pandas path does on the rows that were sent."""
    from tests.summary._experiment import experiment_campaign

    results, reports, _ = experiment_campaign()
    sent = results["state"] != "held_out"
    results = results.assign(extend=[f"exp:{i // 50}" if s else None for i, s in enumerate(sent)])
    reports = reports.assign(extend=None)
    with smskit.Warehouse(tmp_path / "wh") as wh:
        assert wh.add(results, kind="results") == int(sent.sum()) == 500
        wh.add(reports, kind="reports")
        stored = wh.read("results")
        assert "held_out" not in set(stored["state"])
        funnel = pandas_funnel(results.loc[sent], reports)
        assert_same(wh.delivery_rate(by="variant"), analytics.delivery_rate(funnel, by="variant"))
        assert_same(wh.funnel_counts(), analytics.funnel_counts(funnel))
    # the full funnel (the ITT analysis) needs the results themselves: there the holdout is a stage
    assert "held out" in analytics.funnel_counts(smskit.delivery_funnel(results, reports))["stage"].tolist()
