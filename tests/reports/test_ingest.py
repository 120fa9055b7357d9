"""read_status_reports: every source gives the same columns and dtypes."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, quote_plus

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smskit.errors import DataValidationError, ReportError
from smskit.reports.ingest import DEFAULT_EXPORT_MAPPING, REPORT_DTYPES, read_status_reports
from smskit.reports.store import ReportStore
from smskit.reports.wire import REPORT_COLUMNS, StatusReport, parse_report_body

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
    st.lists(st.text(st.characters(exclude_characters="\r\n", exclude_categories=("Cs",)), max_size=60), max_size=10),
    st.lists(st.tuples(_ids, _ids, st.one_of(st.none(), st.text(max_size=15)), st.integers(1, 3)), max_size=10),
)
def test_random_logs_agree_with_the_line_parser(
    tmp_path_factory: pytest.TempPathFactory, noise: list[str], reports: list[tuple]
) -> None:
    bodies = [StatusReport(i, s, status_desc=d, total=3, sequence=q).to_body() for i, s, d, q in reports]
    lines = [ln for ln in noise if not ln.lstrip().startswith("{")] + bodies
    path = tmp_path_factory.mktemp("log") / "cb.log"
    path.write_text("\n".join(lines), encoding="utf-8")
    if not "".join(lines).strip():  # issue 11: an empty file says so (it read as no reports before)
        with pytest.raises(ReportError, match="is empty"):
            read_status_reports(path, errors="skip")
        return
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


# --- the vectorized callback-log path against the line parser ----------------------------------------------

_TIMES = ("2024-01-01T10:00:00Z", "2024-01-01T10%3A00%3A00Z", "2024-01-01T10:00:00+02:00", "garbage", "")
_COUNTS = ("1", "2", "3", "0", "256", "01", "x", "")
_KEYS = ("smsMsgId", "status", "statusDesc", "orgCode", "source", "updateTime", "total", "sequence", "extend", "to")
_UNKNOWN = ("newField", "x", "sms%4DsgId", "st%C3%BCck", "%ZZ", "a+b")
_chars = st.characters(exclude_characters="\r\n", exclude_categories=("Cs",))  # surrogates cannot be written
_texts = st.text(st.characters(exclude_characters="\r\n", max_codepoint=0x3000), max_size=12)


@st.composite
def _values(draw: st.DrawFn, key: str) -> str:
    if key == "updateTime":
        return draw(st.sampled_from(_TIMES))
    if key in ("total", "sequence"):
        return draw(st.sampled_from(_COUNTS))
    if key in ("status", "smsMsgId") and draw(st.booleans()):
        return draw(st.sampled_from(("DELIVRD", "UNDELIV", "E200027", "id_1", "id_2", "a%20b", "%C3")))
    raw = draw(_texts)
    encode = draw(st.sampled_from((quote_plus, quote, lambda s: s, lambda s: quote(s, safe="&=+%"))))
    return encode(raw)


@st.composite
def _log_lines(draw: st.DrawFn) -> list[str]:
    """Lines from a few field orders (so the splitter sees shared orders), plus malformed and blank lines."""
    orders = draw(
        st.lists(
            st.lists(st.sampled_from(_KEYS + _UNKNOWN), min_size=1, max_size=12).map(lambda ks: ["smsMsgId", *ks]),
            min_size=1,
            max_size=3,
        )
    )
    lines = []
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(("report",) * 6 + ("noise", "blank", "odd")))
        if kind == "noise":
            lines.append(draw(st.text(_chars, max_size=40)))
            continue
        if kind == "blank":
            lines.append(draw(st.sampled_from(("", " ", "\t  "))))
            continue
        order = draw(st.sampled_from(orders))
        line = "&".join(f"{quote(k, safe='%+') if draw(st.booleans()) else k}={draw(_values(k))}" for k in order)
        if kind == "odd":
            change = draw(st.sampled_from(("&&", "&end", "=", "&", " ", "\r", "&x=1=2", "&a&b", "&smsMsgId=z")))
            at = draw(st.integers(0, len(line)))
            line = line[:at] + change + line[at:]
        lines.append(line)
    return [ln for ln in lines if not ln.lstrip().startswith("{")]


def _expected(text: str) -> tuple[list[StatusReport], list[int]]:
    """What the line parser makes of a log: the reports, and the numbers of non-blank lines it refuses.

    CRLF and (issue 11: it used to stay inside the line) a bare CR end a line."""
    reports, refused = [], []
    for number, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").strip("\n").split("\n"), start=1):
        try:
            reports.append(parse_report_body(line))
        except ReportError:
            if line.strip():
                refused.append(number)
    return reports, refused


def _assert_same(frame: pd.DataFrame, reports: list[StatusReport]) -> None:
    _check_shape(frame)
    assert len(frame) == len(reports)
    for col in ("sms_msg_id", "status", "total", "sequence"):
        assert frame[col].astype(object).tolist() == [getattr(r, col) for r in reports], col
    for col in ("status_desc", "org_code", "source", "extend", "to"):
        got = [None if pd.isna(v) else v for v in frame[col].astype(object)]
        assert got == [getattr(r, col) or None for r in reports], col
    times = [None if pd.isna(t) else t.to_pydatetime() for t in frame["update_time"]]
    assert times == [r.update_time for r in reports]
    assert frame["delivered"].tolist() == [r.delivered for r in reports]


@settings(max_examples=300, deadline=None)
@given(_log_lines())
def test_vectorized_log_path_equals_the_line_parser(tmp_path_factory: pytest.TempPathFactory, lines: list[str]) -> None:
    text = "\n".join(lines)
    path = tmp_path_factory.mktemp("log") / "cb.log"
    path.write_bytes(text.encode("utf-8"))
    if not text.strip():  # issue 11: an empty file says so (it read as no reports before)
        with pytest.raises(ReportError, match="is empty"):
            read_status_reports(path, errors="skip")
        return
    reports, refused = _expected(text)
    _assert_same(read_status_reports(path, errors="skip"), reports)
    if refused:
        shown = ", ".join(map(str, refused[:10]))
        with pytest.raises(ReportError, match=rf"^{len(refused)} malformed .* e\.g\. line {shown}:"):
            read_status_reports(path)
    else:
        _assert_same(read_status_reports(path), reports)


def test_lines_wider_than_the_sample_and_hidden_separators(tmp_path: Path) -> None:
    """Lines the sampled width or the cell split cannot take exactly are parsed one by one, in place."""
    narrow = [f"smsMsgId=m_{i}&status=DELIVRD&to=%2B86{i:011d}" for i in range(20_000)]
    wide = "smsMsgId=w_1&status=UNDELIV&a=1&b=2&c=3&d=4&e=5&f=6&g=7&statusDesc=late+again"
    odd = [
        "smsMsgId=o_1&status=DELIVRD&x&y",  # parts without '=': refused
        "smsMsgId=o_2&status=DELIVRD&extend=a=b",  # a '=' inside a value: kept by the line parser
        "smsMsgId=o_3&status=DELIVRD&&to=1",  # an empty part: skipped by the line parser
        "smsMsgId=o_4&status=DELIVRD&statusDesc=",  # an empty last value
        "smsMsgId=o_5&status=DELIVRD&statusDesc",  # a last part without '='
        "  smsMsgId=o_6&status=DELIVRD  ",  # blanks around the line
        "smsMsgId=o_7&status=DELIVRD&status=UNDELIV",  # a repeated field
    ]
    lines = [*narrow[:7000], wide, *narrow[7000:14000], *odd, wide.replace("w_1", "w_2"), *narrow[14000:]]
    path = tmp_path / "cb.log"
    text = "\n".join(lines) + "\n\n"
    path.write_text(text)
    reports, refused = _expected(text)
    assert refused == [7001 + 7000 + 1, 7001 + 7000 + 5, 7001 + 7000 + 7]
    frame = read_status_reports(path, errors="skip")
    _assert_same(frame, reports)
    assert frame.loc[frame["sms_msg_id"] == "w_2", "status_desc"].tolist() == ["late again"]
    assert frame.loc[frame["sms_msg_id"] == "o_2", "extend"].tolist() == ["a=b"]
    with pytest.raises(ReportError, match=r"^3 malformed status report line\(s\), e\.g\. line 14002, 14006, 14008:"):
        read_status_reports(path)


def test_deeply_nested_json_lines_are_named_not_a_crash(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    log = tmp_path / "cb.log"
    log.write_text(f'{{"smsMsgId": "a_1", "status": "DELIVRD"}}\n{{"statusReportList": {deep}}}\n{deep}\n')
    with pytest.raises(ReportError, match="line 2, 3"):
        read_status_reports(log)
    assert read_status_reports(log, errors="skip")["sms_msg_id"].tolist() == ["a_1"]


# -- out-of-range times from any source are skipped and reported (issue 11, item 8) -----------------------


@pytest.mark.parametrize("errors", ["raise", "skip"])
def test_out_of_range_times_are_skipped_with_a_warning_from_any_source(tmp_path: Path, errors: str) -> None:
    from smskit.errors import SmsKitWarning

    log = tmp_path / "cb.log"
    log.write_text(
        "smsMsgId=a_1&status=DELIVRD&updateTime=2024-05-01T08%3A00%3A01Z\n"
        "smsMsgId=far_1&status=DELIVRD&updateTime=2300-01-01T00%3A00%3A00Z\n"
        '{"smsMsgId": "far_2", "status": "UNDELIV", "updateTime": "0001-01-01T00:00:00+01:00"}\n'
    )
    with pytest.warns(SmsKitWarning, match=r"skipped 2 .*line 2 \(far_1\), line 3 \(far_2\)"):
        assert read_status_reports(log, errors=errors)["sms_msg_id"].tolist() == ["a_1"]
    export = tmp_path / "export.csv"
    pd.DataFrame(
        {
            "SMS ID": ["e_1", "e_far"],
            "Status Code": ["DELIVRD", "DELIVRD"],
            "Status Update Time (UTC)": ["2024-05-01 08:00:01", "2262-04-12 00:00:00"],
        }
    ).to_csv(export, index=False)
    with pytest.warns(SmsKitWarning, match=r"row 2 \(e_far\)"):
        assert read_status_reports(export, errors=errors)["sms_msg_id"].tolist() == ["e_1"]


@settings(max_examples=200)
@given(st.one_of(st.text(max_size=30), st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())))
def test_update_time_parses_into_the_frame_range_or_refuses(text: str) -> None:
    from smskit.reports.wire import EARLIEST_TIME, LATEST_TIME, parse_update_time

    try:
        value = parse_update_time(text)
    except ReportError:
        return
    assert value.tzinfo is not None
    assert EARLIEST_TIME <= value < LATEST_TIME
    assert pd.Timestamp(value).tz_convert("UTC") == value


# -- files people actually have (issue 11, item 10) --------------------------------------------------------

_LOG_LINES = [
    "smsMsgId=f_1&status=DELIVRD&updateTime=2024-05-01T08%3A00%3A01Z",
    '{"smsMsgId": "f_2", "status": "UNDELIV", "statusDesc": "失败"}',
    "smsMsgId=f_3&status=EXPIRED",
]


@pytest.mark.parametrize(
    ("prefix", "newline"),
    [
        (b"", b"\n"),
        (b"\xef\xbb\xbf", b"\n"),
        (b"\xef\xbb\xbf", b"\r\n"),
        (b"", b"\r\n"),
        (b"", b"\r"),
        (b"\xef\xbb\xbf", b"\r"),
    ],
    ids=["lf", "bom-lf", "bom-crlf", "crlf", "cr", "bom-cr"],
)
def test_logs_with_a_bom_or_any_line_ending_lose_nothing(tmp_path: Path, prefix: bytes, newline: bytes) -> None:
    for lines in (_LOG_LINES, _LOG_LINES[::2]):  # with JSON lines, and urlencoded lines only (the vectorized path)
        path = tmp_path / "cb.log"
        path.write_bytes(prefix + newline.join(line.encode() for line in lines) + newline)
        frame = read_status_reports(path)
        assert frame["sms_msg_id"].tolist() == [
            parse_report_body(ln).sms_msg_id if "{" not in ln else "f_2" for ln in lines
        ]


def _export(path: Path, encoding: str, *, bom: bool = False) -> None:
    table = pd.DataFrame(
        {
            "SMS ID": ["x_1", "x_2"],
            "Status Code": ["DELIVRD", "UNDELIV"],
            "Status Description": ["成功", "用户关机"],
            "Status Update Time (UTC)": ["2024/05/01 16:00:01 GMT+08:00", "2024/05/01 08:00:01"],
        }
    )
    text = table.to_csv(index=False, lineterminator="\r\n")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))


def test_console_exports_in_gbk_are_detected_or_named(tmp_path: Path) -> None:
    from smskit.errors import SmsKitWarning

    gbk = tmp_path / "export.csv"
    _export(gbk, "gbk")
    with pytest.warns(SmsKitWarning, match=r"export\.csv is not UTF-8 .* GB18030"):
        detected = read_status_reports(gbk)
    assert detected["status_desc"].tolist() == ["成功", "用户关机"]
    assert read_status_reports(gbk, encoding="gb18030")["status_desc"].tolist() == ["成功", "用户关机"]
    with pytest.raises(ReportError, match=r"export\.csv is not utf-8 text .*encoding='gb18030'"):
        read_status_reports(gbk, encoding="utf-8")
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"SMS ID,Status Code\n\x80\xff\x80,DELIVRD\n")
    with pytest.raises(ReportError, match=r"garbage\.csv is not UTF-8 .* nor GB18030.*encoding="):
        read_status_reports(garbage)
    excel_utf8 = tmp_path / "bom.csv"
    _export(excel_utf8, "utf-8", bom=True)  # Excel's "CSV UTF-8" starts with a BOM
    assert read_status_reports(excel_utf8)["sms_msg_id"].tolist() == ["x_1", "x_2"]


def test_console_export_times_with_gmt_offsets_are_read_east_positive(tmp_path: Path) -> None:
    """``GMT+08:00`` after a time is Beijing time: 16:00:01 there is 08:00:01 UTC (a generic parser said 00:00:01
    the next day, 16 hours off)."""
    from smskit.reports.ingest import parse_times
    from smskit.summary.inputs import export_send_info

    export = tmp_path / "export.csv"
    _export(export, "utf-8")
    times = read_status_reports(export)["update_time"].tolist()
    assert times == [pd.Timestamp("2024-05-01T08:00:01Z")] * 2
    parsed = parse_times(
        pd.Series(["2024/05/01 16:00:01 GMT+08:00", "2024-05-01 03:00:01 UTC-05:00", "2024/5/1 8:00:01 UTC"])
    )
    assert parsed.tolist() == [pd.Timestamp("2024-05-01T08:00:01Z")] * 3
    sends = tmp_path / "sends.csv"
    pd.DataFrame({"SMS ID": ["x_1"], "Send Time (UTC)": ["2024/05/01 16:00:01 GMT+08:00"]}).to_csv(sends, index=False)
    info = export_send_info(sends)
    assert info is not None
    assert info.loc["x_1", "sent_at"] == pd.Timestamp("2024-05-01T08:00:01Z")


@pytest.mark.parametrize("name", ["cb.log", "export.csv", "reports.txt"])
@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\r\n\r\n  \n"])
def test_an_empty_file_says_so(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ReportError, match=rf"{name} is empty"):
        read_status_reports(path, errors="skip")
