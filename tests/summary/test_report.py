"""smskit.summary (summary tables, Markdown/HTML, escaping) and `smskit report` as a subprocess."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smskit.errors import DataValidationError
from smskit.reports.ingest import read_status_reports
from smskit.summary import display_table, export_send_info, message_frame, read_results, summarize, write_report

T0 = pd.Timestamp("2026-06-24T08:00:00Z")
PNG = b"\x89PNG\r\n\x1a\n"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smskit", "report", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def reports_frame(rows: list[tuple[str, str, int, str]]) -> pd.DataFrame:
    """rows: (sms_msg_id, status, seconds after T0, to)."""
    return read_status_reports(
        pd.DataFrame(
            {
                "sms_msg_id": [r[0] for r in rows],
                "status": [r[1] for r in rows],
                "update_time": [(T0 + pd.Timedelta(seconds=r[2])).isoformat() for r in rows],
                "to": [r[3] for r in rows],
            }
        )
    )


@pytest.fixture
def campaign() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Results for six recipients (one rejected, one never reported) and their reports."""
    results = pd.DataFrame(
        {
            "to": ["+6591000001", "+6591000002", "+491701000003", "+491701000004", "+12125550105", "+12125550106"],
            "template_id": ["tA", "tA", "tA", "tB", "tB", "tB"],
            "state": ["accepted", "accepted", "accepted", "accepted", "accepted", "rejected"],
            "sms_msg_id": ["m1", "m2", "m3", "m4", "m5", None],
            "status": ["000000"] * 5 + ["E200028"],
            "error": [None] * 5 + ["blacklisted"],
            "sent_at": [T0] * 6,
            "variant": ["A", "A", "A", "B", "B", "B"],
        },
        index=[10, 11, 12, 13, 14, 15],
    )
    reports = reports_frame(
        [
            ("m1", "DELIVRD", 12, "+6591000001"),
            ("m2", "DELIVRD", 30, "+6591000002"),
            ("m3", "UNDELIV", 40, "+491701000003"),
            ("m4", "ACCEPTD", 5, "+491701000004"),
            ("m4", "DELIVRD", 20, "+491701000004"),
        ]
    )
    return results, reports


# --- pure summary -----------------------------------------------------------------------------------------


def test_funnel_summary_counts_and_rates(campaign) -> None:
    results, reports = campaign
    report = summarize(reports, results=results)
    assert report.mode == "funnel"
    assert list(report.frame.index) == [10, 11, 12, 13, 14, 15]
    overview = dict(zip(report.tables["Overview"]["measure"], report.tables["Overview"]["value"], strict=True))
    assert overview["recipients sent to"] == "6"
    assert overview["accepted by the platform"] == "5"
    assert overview["delivered"] == "3"
    assert overview["failed (final report)"] == "1"  # UNDELIV; the rejected row is counted as rejected
    assert overview["rejected at submission"] == "1"
    assert overview["no final report yet"] == "1"  # m5
    assert overview["delivery rate"] == "50.0%"
    assert list(report.tables["Funnel"]["stage"]) == ["rows", "sent", "accepted", "delivered"]  # none left out
    assert list(report.tables["Funnel"]["count"]) == [6, 6, 5, 3]
    by_template = report.tables["Delivery by template_id"].set_index("template_id")
    assert by_template.loc["tA", ["sent", "delivered"]].tolist() == [3, 2]
    assert by_template.loc["tB", ["sent", "delivered"]].tolist() == [3, 1]
    by_country = report.tables["Delivery by country"].set_index("country")
    assert by_country.loc["SG", "rate"] == 1.0
    assert by_country.loc["DE", "rate"] == 0.5
    status = report.tables["Final status"].set_index("final_status")
    assert status.loc["DELIVRD", "count"] == 3
    assert status.loc["(no report)", "count"] == 1
    assert set(report.tables["Failure reasons (top 10)"]["code"]) == {"UNDELIV", "E200028", "(no report)"}
    latency = report.tables["Time to delivery (seconds)"]
    assert latency.loc[0, "n"] == 3
    assert latency.loc[0, "p50"] == pytest.approx(20.0)
    assert {"funnel", "failure_reasons", "latency", "delivery_rate_by_variant"} <= set(report.figures)


def test_ab_comparison_names_each_arms_template_and_keeps_the_caveat(campaign) -> None:
    results, reports = campaign
    report = summarize(reports, results=results, control="A")
    arms = report.tables["A/B comparison (variant)"].set_index("variant")
    assert arms.loc["A", "template_id"] == "tA"
    assert arms.loc["B", "diff"] == pytest.approx(1 / 3 - 2 / 3)
    assert any("too small" in note for note in report.notes)
    shown = display_table(report.tables["A/B comparison (variant)"]).set_index("variant")
    assert shown.loc["A", "control"] == "control"
    assert shown.loc["A", "difference"] == ""
    assert shown.loc["B", "difference"] == "-33.3 pp"
    assert shown.loc["B", "rate"] == "33.3%"
    assert re.fullmatch(r"\d+\.\d% – \d+\.\d%", shown.loc["B", "95% interval"])


def test_reports_only_summary_is_per_message(campaign) -> None:
    _, reports = campaign
    report = summarize(reports)
    assert report.mode == "reports"
    assert len(report.frame) == 4  # m1..m4: m5 was never reported
    assert "Funnel" not in report.tables
    assert "funnel" not in report.figures
    assert "messages" in report.tables["Delivery by country"].columns
    assert any("at least one status report" in note for note in report.notes)
    assert any("no send times" in note for note in report.notes)


def test_unknown_breakdown_column_is_a_note_not_an_error(campaign) -> None:
    results, reports = campaign
    report = summarize(reports, results=results, by=["nope", "template_id"])
    assert "Delivery by template_id" in report.tables
    assert "Delivery by nope" not in report.tables
    assert any("'nope'" in note for note in report.notes)


def test_message_frame_takes_send_times_for_latency(campaign) -> None:
    _, reports = campaign
    info = pd.DataFrame({"sent_at": [T0, T0 + pd.Timedelta(seconds=10)]}, index=pd.Index(["m1", "m2"], name="x"))
    frame = message_frame(reports, send_info=info).set_index("sms_msg_id")
    assert frame.loc["m1", "latency_s"] == 12.0
    assert frame.loc["m2", "latency_s"] == 20.0
    assert np.isnan(frame.loc["m3", "latency_s"])


def test_read_results_round_trips_send_campaign_output(campaign, tmp_path: Path) -> None:
    results, _ = campaign
    path = tmp_path / "results.csv"
    results.assign(to=results["to"].str.replace("+6591", "0091", regex=False)).to_csv(path, index=True)
    back = read_results(path)
    assert list(back.index.astype(int)) == list(results.index)
    assert back["to"].iloc[0] == "0091000001"  # str: leading zeros kept
    assert str(back["sent_at"].dt.tz) == "UTC"
    assert back["sent_at"].iloc[0] == T0


def test_write_report_files_and_html_escaping(campaign, tmp_path: Path) -> None:
    results, reports = campaign
    evil = "<script>alert('x')</script>"
    results = results.assign(template_id=results["template_id"].replace("tB", evil))
    report = summarize(reports, results=results, sources=[f"{evil}.log"])
    paths = write_report(report, tmp_path / "out", title=f"Q3 {evil} & more")
    assert {"markdown", "html", "data", "funnel", "failure_reasons"} <= set(paths)
    for name, path in paths.items():
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == PNG, name
    page = paths["html"].read_text(encoding="utf-8")
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<title>Q3 &lt;script&gt;" in page
    assert "&amp; more" in page
    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert "<script" not in markdown
    assert "&lt;script&gt;" in markdown
    data = pd.read_csv(paths["data"], index_col=0)
    assert list(data.index) == [10, 11, 12, 13, 14, 15]


def test_markdown_cells_cannot_break_the_table(campaign, tmp_path: Path) -> None:
    results, reports = campaign
    results = results.assign(template_id=results["template_id"].replace("tA", "a|b\nc"))
    paths = write_report(summarize(reports, results=results), tmp_path)
    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert "| a\\|b c |" in markdown


def test_export_send_info_reads_console_columns(data_dir: Path) -> None:
    info = export_send_info(data_dir / "status_export.csv")
    assert info is not None
    assert {"sent_at", "template_id"} <= set(info.columns)
    assert info["sent_at"].dt.tz is not None
    assert export_send_info(data_dir / "callbacks.log") is None


# --- the command ----------------------------------------------------------------------------------------------


def test_report_over_callback_log(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    proc = cli(str(data_dir / "callbacks.log"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "messages reported: 193" in proc.stdout
    assert f"html: {out / 'report.html'}" in proc.stdout
    for name in ("report.md", "report.html", "delivery.csv", "failure_reasons.png", "delivery_rate_by_country.png"):
        assert (out / name).is_file(), name
    assert (out / "failure_reasons.png").read_bytes()[:8] == PNG
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "| DELIVRD | delivered | 162 |" in markdown


def test_report_over_console_export_has_latency(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    proc = cli(str(data_dir / "status_export.csv"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (out / "latency.png").read_bytes()[:8] == PNG
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert r"## Time to delivery \(seconds\)" in markdown  # issue 11: Markdown escapes ( ) [ ] !
    assert "## Delivery by template_id" in markdown


def test_report_with_a_custom_export_mapping(data_dir: Path, tmp_path: Path) -> None:
    export = pd.read_csv(data_dir / "status_export.csv", dtype=str).rename(
        columns={"SMS ID": "Message", "Status Code": "Result", "Status Update Time (UTC)": "Updated"}
    )
    renamed = tmp_path / "export.csv"
    export.to_csv(renamed, index=False)
    proc = cli(
        str(renamed),
        "--mapping",
        "Message=sms_msg_id",
        "--mapping",
        "Result=status",
        "--mapping",
        "Updated=update_time",
        "--mapping",
        "Recipient Number=to",
        "--out",
        str(tmp_path / "r"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "messages reported: 193" in proc.stdout
    assert (tmp_path / "r" / "latency.png").is_file()  # send times found under the mapped id column
    assert (tmp_path / "r" / "delivery_rate_by_country.png").is_file()


def test_report_over_log_and_export_together(data_dir: Path, tmp_path: Path) -> None:
    proc = cli(str(data_dir / "callbacks.log"), str(data_dir / "status_export.csv"), "--out", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr
    assert "messages reported: 193" in proc.stdout  # the same campaign: duplicates change nothing
    assert "status reports read: 462" in proc.stdout  # 257 from the log + 205 from the export
    assert "delivered: 162" in proc.stdout


def test_escapes_hostile_report_text(tmp_path: Path) -> None:
    log = tmp_path / "cb.log"
    log.write_text(
        "smsMsgId=m1&status=%3Cscript%3Ealert(1)%3C%2Fscript%3E&to=%2B6591000001&updateTime=2026-06-24T08%3A00%3A01Z\n"
        "smsMsgId=m2&status=DELIVRD&to=%2B6591000002&updateTime=2026-06-24T08%3A00%3A02Z\n",
        encoding="utf-8",
    )
    proc = cli(str(log), "--out", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: [str(d / "missing.log")], "no such file"),
        (lambda d: [str(d / "binary.log")], "not UTF-8"),
        (lambda d: [str(d / "export.csv")], "lacks the column"),
        (lambda d: [str(d / "ok.log"), "--results", str(d / "missing.csv")], "no such file"),
        (lambda d: [str(d / "ok.log"), "--results", str(d / "export.csv")], "lacks column"),
        (lambda d: [str(d / "ok.log"), "--mapping", "no-equals-sign"], "COLUMN=FIELD"),
        (lambda d: [str(d / "bad_line.log")], "line"),
        (lambda d: [str(d / "empty.log")], "no status reports in"),
    ],
)
def test_bad_input_exits_2(tmp_path: Path, make, message: str) -> None:
    (tmp_path / "binary.log").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "export.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (tmp_path / "ok.log").write_text("smsMsgId=m1&status=DELIVRD\n", encoding="utf-8")
    (tmp_path / "empty.log").write_text("", encoding="utf-8")
    (tmp_path / "bad_line.log").write_text("smsMsgId=m1&status=DELIVRD\nnot a report\n", encoding="utf-8")
    proc = cli(*make(tmp_path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("smskit report: ")
    assert message in proc.stderr
    assert not (tmp_path / "out" / "report.html").exists()


def test_results_before_any_report_arrives(tmp_path: Path) -> None:
    results = pd.DataFrame(
        {
            "to": [f"+659100{i:04d}" for i in range(10)],
            "template_id": ["t0"] * 5 + ["t1"] * 5,  # n=5: the Wilson low of 0/5 rounds to 1e-17, not 0
            "state": "accepted",
            "sms_msg_id": [f"m{i}" for i in range(10)],
            "status": "000000",
            "sent_at": T0,
        }
    )
    empty = read_status_reports(pd.DataFrame(columns=["sms_msg_id", "status"]))
    report = summarize(empty, results=results)
    overview = dict(zip(report.tables["Overview"]["measure"], report.tables["Overview"]["value"], strict=True))
    assert overview["no final report yet"] == "10"
    assert overview["delivery rate"] == "0.0%"
    paths = write_report(report, tmp_path)
    assert paths["delivery_rate_by_template_id"].read_bytes()[:8] == PNG


def test_repr_html_is_an_escaped_fragment() -> None:
    reports = read_status_reports(pd.DataFrame({"sms_msg_id": ["m1"], "status": ["<script>x</script>"]}))
    page = summarize(reports)._repr_html_()
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "<style" not in page  # a notebook output must not restyle the notebook
    assert "<h2>Overview</h2>" in page


def test_export_column_names_are_declared_once(data_dir: Path) -> None:
    """The console export's column names live in reports.ingest.EXPORT_COLUMNS; every reader uses them."""
    import inspect

    import smskit
    from smskit.cli import build_parser
    from smskit.reports.ingest import DEFAULT_EXPORT_MAPPING, EXPORT_COLUMN_OF, EXPORT_COLUMNS

    header = pd.read_csv(data_dir / "status_export.csv", nrows=0).columns.tolist()
    assert header == list(EXPORT_COLUMNS)
    assert set(DEFAULT_EXPORT_MAPPING.items()) < set(EXPORT_COLUMNS.items())
    defaults = {k: p.default for k, p in inspect.signature(export_send_info).parameters.items() if k != "path"}
    assert defaults == {
        "id_column": EXPORT_COLUMN_OF["sms_msg_id"],
        "sent_at_column": EXPORT_COLUMN_OF["sent_at"],
        "template_column": EXPORT_COLUMN_OF["template_id"],
    }
    args = build_parser().parse_args(["report", "x.log"])
    assert (args.send_time_column, args.template_column) == (
        EXPORT_COLUMN_OF["sent_at"],
        EXPORT_COLUMN_OF["template_id"],
    )
    package = Path(smskit.__file__).parent
    homes = [p.name for p in package.rglob("*.py") if '"Send Time (UTC)"' in p.read_text(encoding="utf-8")]
    assert homes == ["ingest.py"]


def test_the_reports_latency_table_and_the_latency_figure_show_the_same_median(campaign) -> None:
    from smskit import plots
    from smskit.display import display_table

    results, reports = campaign
    report = summarize(reports, results=results)
    p50 = display_table(report.tables["Time to delivery (seconds)"]).loc[0, "p50"]
    assert p50 == "20.0 s"
    legend = plots.latency(report.frame).get_legend().get_texts()[0].get_text()
    assert legend == f"all (median {p50}, n=3)"


def test_the_funnel_starts_at_the_input_rows_and_unsent_rows_are_not_sent(campaign) -> None:
    results, reports = campaign
    extra = pd.DataFrame(
        {
            "to": ["+6591000007", "12", "+6591000009"],
            "template_id": ["tA"] * 3,
            "state": ["unsent", "invalid", "suppressed"],
            "sms_msg_id": [None] * 3,
            "status": [None] * 3,
            "error": [None, "not a number", "opted out"],
            "sent_at": [pd.NaT] * 3,
            "variant": ["A", "B", "A"],
        },
        index=[16, 17, 18],
    )
    report = summarize(reports, results=pd.concat([results, extra]))
    assert list(report.frame.index) == [10, 11, 12, 13, 14, 15, 16, 17, 18]
    overview = dict(zip(report.tables["Overview"]["measure"], report.tables["Overview"]["value"], strict=True))
    assert overview["input rows"] == "9"
    assert overview["invalid (not sent)"] == "1"
    assert overview["suppressed (not sent)"] == "1"
    assert overview["unsent (not sent yet)"] == "1"
    assert overview["recipients sent to"] == "6"  # never the unsent row
    assert overview["delivery rate"] == "50.0%"
    funnel = report.tables["Funnel"].set_index("stage")["count"]
    assert funnel.to_dict() == {
        "rows": 9,
        "invalid": 1,
        "suppressed": 1,
        "unsent": 1,
        "sent": 6,
        "accepted": 5,
        "delivered": 3,
    }
    assert report.tables["Final status"]["count"].sum() == 6


def test_report_says_which_campaigns_it_covers_and_filters_one(tmp_path: Path) -> None:
    rows = []
    for campaign, n, status in (("spring", 6, "DELIVRD"), ("summer", 4, "UNDELIV")):
        for i in range(n):
            rows.append((f"{campaign}-{i}", status, f"{campaign}:{i % 2}"))
    reports = read_status_reports(
        pd.DataFrame(
            {
                "sms_msg_id": [r[0] for r in rows],
                "status": [r[1] for r in rows],
                "extend": [r[2] for r in rows],
                "update_time": [T0.isoformat()] * len(rows),
            }
        )
    )
    both = summarize(reports)
    assert both.campaigns == ("spring", "summer")
    assert any("2 campaigns: spring (6 reports), summer (4 reports)" in note for note in both.notes)
    one = summarize(reports, campaign="summer")
    assert one.campaigns == ("summer",)
    assert len(one.frame) == 4
    assert one.headline.startswith("Delivered 0 of 4 reported messages (0.0%).")
    paths = write_report(one, tmp_path)
    assert "Campaign: summer" in paths["html"].read_text(encoding="utf-8")
    with pytest.raises(DataValidationError, match="no campaign 'autumn'"):
        summarize(reports, campaign="autumn")


def test_long_messages_explain_why_reports_outnumber_messages() -> None:
    reports = read_status_reports(
        pd.DataFrame(
            {
                "sms_msg_id": ["m1", "m1", "m2", "m3", "m3"],
                "status": ["DELIVRD", "DELIVRD", "DELIVRD", "ACCEPTD", "DELIVRD"],
                "total": ["2", "2", "1", "1", "1"],
                "sequence": ["1", "2", "1", "1", "1"],
                "update_time": [T0.isoformat()] * 5,
            }
        )
    )
    overview = dict(zip(*summarize(reports).tables["Overview"][["measure", "value"]].T.to_numpy(), strict=True))
    assert overview["status reports read"] == (
        "5 for 3 messages (long messages report once per segment; "
        "1 intermediate or repeated reports, e.g. ACCEPTD before DELIVRD)"
    )


def test_headline_at_the_top_of_the_html_with_the_experiments_verdict(campaign, tmp_path: Path) -> None:
    results, reports = campaign
    report = summarize(reports, results=results, control="A")
    assert report.headline.startswith("Delivered 3 of 6 sent (50.0%). Biggest failure reason: ")
    assert (
        "A/B delivery: B's difference in delivery rate from A is not distinguishable from zero (-33.3 pp, 95% interval "
        in report.headline
    )
    page = write_report(report, tmp_path)["html"].read_text(encoding="utf-8")
    body = page.split("<body>", 1)[1]
    assert body.index('class="headline"') < body.index("<h2>")
    assert "Delivered 3 of 6 sent" in body.split("<h2>", 1)[0]
