"""read_status_reports: every source gives the same columns and dtypes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smskit.errors import DataValidationError, ReportError
from smskit.ingest import DEFAULT_EXPORT_MAPPING, REPORT_DTYPES, read_status_reports
from smskit.reports import REPORT_COLUMNS, StatusReport, parse_report_body
from smskit.store import ReportStore

BODY = (
    "orgCode=E200027&sequence=1&total=1&updateTime=2018-10-31T08%3A43%3A41Z&source=2&"
    "smsMsgId=2ea20735-f856-4376-afbf-570bd70a46ee_11840135&status=RTE_ERR"
)


def _check_shape(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == list(REPORT_COLUMNS)
    for col, dtype in REPORT_DTYPES.items():
        assert frame[col].dtype == dtype, col


def test_sample_log_and_export_cover_the_same_messages(data_dir: Path) -> None:
    log = read_status_reports(data_dir / "callbacks.log")
    export = read_status_reports(data_dir / "status_export.csv")
    _check_shape(log)
    _check_shape(export)
    assert set(log["sms_msg_id"]) == set(export["sms_msg_id"])
    assert log["to"].str.startswith("+").all()
    assert log["extend"].str.startswith("sample:").all()
    assert (log.loc[log["status"] == "RTE_ERR", "org_code"] == "E200027").all()
    assert log["update_time"].isna().sum() == (log["status"] == "EXPIRED").sum()


def test_log_lines_match_the_pure_parser(tmp_path: Path) -> None:
    reports = [
        StatusReport("a_1", "DELIVRD", source="2", total=2, sequence=1, to="+8613800000000", extend="c:1"),
        StatusReport("a_1", "UNDELIV", status_desc="no such user", total=2, sequence=2),
        StatusReport("b_1", "E200027", org_code="x%y", extra={"newField": "ü"}),
    ]
    lines = [r.to_body() for r in reports] + [BODY, "", "  "]
    path = tmp_path / "callbacks.log"
    path.write_text("\r\n".join(lines))
    frame = read_status_reports(path)
    _check_shape(frame)
    assert len(frame) == 4
    parsed = [parse_report_body(line) for line in lines if line.strip()]
    assert frame["sms_msg_id"].tolist() == [p.sms_msg_id for p in parsed]
    assert frame["status_desc"].tolist()[1] == "no such user"
    assert frame["org_code"].tolist()[2:] == ["x%y", "E200027"]
    assert frame["sequence"].tolist() == [1, 2, 1, 1]
    assert frame["category"].astype(str).tolist() == ["delivered", "carrier_rejected", "platform", "platform"]


def test_json_lines_single_and_batch(tmp_path: Path) -> None:
    path = tmp_path / "pushes.jsonl"
    batch = {
        "statusReportList": [
            {"smsMsgId": "j_1", "status": "DELIVRD", "total": 1},
            {"smsMsgId": "j_2", "status": "EXPIRED"},
        ]
    }
    path.write_text("\n".join([json.dumps(batch), BODY, json.dumps({"smsMsgId": "j_3", "status": "ACCEPTD"})]))
    frame = read_status_reports(path)
    _check_shape(frame)
    assert frame["sms_msg_id"].tolist() == ["j_1", "j_2", "2ea20735-f856-4376-afbf-570bd70a46ee_11840135", "j_3"]


def test_malformed_lines_are_named_or_skipped(tmp_path: Path) -> None:
    path = tmp_path / "callbacks.log"
    path.write_text(
        "\n".join([BODY, "garbage", "smsMsgId=x&status=DELIVRD&total=0", '{"smsMsgId": 5.5, "status": "X"}', BODY])
    )
    with pytest.raises(ReportError, match=r"3 malformed status report line\(s\), e.g. line 2, 3, 4"):
        read_status_reports(path)
    assert len(read_status_reports(path, errors="skip")) == 2


_ids = st.text(st.characters(exclude_categories=("Z", "C")), min_size=1, max_size=20).filter(
    lambda s: not any(ch.isspace() for ch in s)
)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.text(st.characters(exclude_characters="\r\n"), max_size=60), max_size=10),
    st.lists(st.tuples(_ids, _ids, st.one_of(st.none(), st.text(max_size=15)), st.integers(1, 3)), max_size=10),
)
def test_random_logs_agree_with_the_line_parser(
    tmp_path_factory: pytest.TempPathFactory, noise: list[str], reports: list[tuple]
) -> None:
    bodies = [StatusReport(i, s, status_desc=d, total=3, sequence=q).to_body() for i, s, d, q in reports]
    lines = [ln for ln in noise if not ln.lstrip().startswith("{")] + bodies
    path = tmp_path_factory.mktemp("log") / "cb.log"
    path.write_text("\n".join(lines), encoding="utf-8")
    frame = read_status_reports(path, errors="skip")
    expected = []
    for line in lines:
        try:
            expected.append(parse_report_body(line))
        except ReportError:
            continue
    assert frame["sms_msg_id"].tolist() == [r.sms_msg_id for r in expected]
    assert frame["status_desc"].fillna("").tolist() == [r.status_desc or "" for r in expected]
    assert frame["sequence"].tolist() == [r.sequence for r in expected]


def test_receiver_store(tmp_path: Path) -> None:
    with ReportStore(tmp_path / "r.sqlite") as store:
        store.add([parse_report_body(BODY), StatusReport("s_1", "DELIVRD", to="+4917000000")])
    frame = read_status_reports(tmp_path / "r.sqlite")
    _check_shape(frame)
    assert frame["status"].astype(str).tolist() == ["RTE_ERR", "DELIVRD"]
    assert pd.isna(frame.loc[1, "update_time"])


def test_export_with_default_and_custom_mapping(tmp_path: Path) -> None:
    default = pd.DataFrame({"SMS ID": ["x_1"], "Status Code": ["DELIVRD"], "Recipient Number": ["+0049170"]})
    path = tmp_path / "export.csv"
    default.to_csv(path, index=False)
    frame = read_status_reports(path)
    _check_shape(frame)
    assert frame.loc[0, "to"] == "+0049170"
    custom = pd.DataFrame({"Message ID": ["y_1"], "Result": ["UNDELIV"], "Time": ["2024-01-01 10:00:00"]})
    xlsx = tmp_path / "export.xlsx"
    custom.to_excel(xlsx, index=False)
    frame = read_status_reports(xlsx, mapping={"Message ID": "sms_msg_id", "Result": "status", "Time": "update_time"})
    assert frame.loc[0, "update_time"] == pd.Timestamp("2024-01-01T10:00:00Z")
    with pytest.raises(DataValidationError, match=r"lacks the column\(s\) \['SMS ID', 'Status Code'\]"):
        read_status_reports(xlsx)
    assert set(DEFAULT_EXPORT_MAPPING.values()) >= {"sms_msg_id", "status"}


def test_dataframe_sources_keep_their_index_and_are_not_mutated() -> None:
    wire = pd.DataFrame({"smsMsgId": ["a", "b"], "status": ["DELIVRD", "EXPIRED"], "total": [1, 1]}, index=[7, 9])
    before = wire.copy()
    frame = read_status_reports(wire)
    pd.testing.assert_frame_equal(wire, before)
    assert list(frame.index) == [7, 9]
    assert frame["delivered"].tolist() == [True, False]
    again = read_status_reports([frame, frame])
    _check_shape(again)
    assert len(again) == 4
    bad = pd.DataFrame({"sms_msg_id": ["a", ""], "status": ["DELIVRD", "X"]})
    with pytest.raises(DataValidationError) as info:
        read_status_reports(bad)
    assert info.value.rows is not None
    assert list(info.value.rows.index) == [1]
