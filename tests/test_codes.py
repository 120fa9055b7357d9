"""The code catalog: every code named in the spec, categories, billing, families and error classes."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smskit.codes import (
    CATEGORIES,
    CATEGORY_COLORS,
    CodeInfo,
    catalog,
    categorize,
    error_for,
    lookup,
)
from smskit.errors import (
    ApiError,
    AuthenticationError,
    PermissionDeniedError,
    QuotaError,
    RequestError,
    TemplateError,
)

# Every code named in docs/shared spec huawei-sms-api.md, written out by hand (not derived from the module).
SPEC_REQUEST_CODES = [
    "000000", "E000000", "E000001",
    "E000002", "E000003", "E000004", "E000005", "E000006", "E000007", "E000008",
    "E000020", "E000021", "E000022", "E000023", "E000024", "E000025", "E000026",
    "E000027", "E000040", "E000041", "E000042", "E000043", "E000044", "E000045",
    "E000101", "E000102", "E000103", "E000104", "E000105", "E000106",
    "E000109", "E000110", "E000111", "E000112",
    "E000503", "E000510", "E000620", "E000623", "E000630",
]  # fmt: skip
SPEC_STATUS_CODES = ["000000", "E200015", "E200028", "E200029", "E200030", "E200031", "E200033", "E200041"]
SPEC_REPORT_CODES = [
    "DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD",
    *[f"E2000{n}" for n in range(18, 39)], "E200051", "E000628", "E000629",
    "MILIMIT", "LIMIT", "BEYONDN", "CTLIMIT", "KEYWORD",
    "BLACK", "TDBLACK", "TSBLACK", "MBBLACK", "TIMEOUT", "RTE_ERR",
]  # fmt: skip
SPEC_CODES = (
    [(c, "request") for c in SPEC_REQUEST_CODES]
    + [(c, "status") for c in SPEC_STATUS_CODES]
    + [(c, "report") for c in SPEC_REPORT_CODES]
)
HUAWEI_PLATFORM_REPORTS = [c for c in SPEC_REPORT_CODES if re.fullmatch(r"E\d{6}", c)]
CARRIER_REPORTS = [
    "DELIVRD",
    "EXPIRED",
    "DELETED",
    "UNDELIV",
    "REJECTD",
    "KEYWORD",
    "BLACK",
    "MILIMIT",
    "TIMEOUT",
]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return catalog()


@pytest.mark.parametrize(("code", "kind"), SPEC_CODES)
def test_every_spec_code_is_in_the_catalog(table: pd.DataFrame, code: str, kind: str) -> None:
    rows = table[(table["code"] == code) & (table["kind"] == kind)]
    assert len(rows) == 1
    info = lookup(code, kind=kind)
    assert (info.code, info.kind) == (code, kind)
    assert info.meaning != "Unknown code"
    assert info.advice.strip()
    assert rows.iloc[0]["category"] == info.category


def test_catalog_shape_and_dtypes(table: pd.DataFrame) -> None:
    assert list(table.columns) == [
        "code", "kind", "meaning", "category", "billed", "advice", "retryable", "http_status",
    ]  # fmt: skip
    assert isinstance(table["category"].dtype, pd.CategoricalDtype)
    assert tuple(table["category"].cat.categories) == CATEGORIES
    assert table["category"].notna().all()
    assert table["billed"].dtype == bool
    assert table["retryable"].dtype == bool
    assert str(table["http_status"].dtype) == "Int64"
    assert not table.duplicated(["code", "kind"]).any()
    assert set(table["kind"]) == {"request", "status", "report"}
    assert (table["advice"].str.len() > 10).all()
    assert (table["meaning"].str.len() > 3).all()


def test_catalog_is_a_fresh_copy() -> None:
    first = catalog()
    first.loc[0, "advice"] = "changed"
    assert catalog().loc[0, "advice"] != "changed"


def test_categories_and_colors() -> None:
    assert len(set(CATEGORIES)) == len(CATEGORIES) == 15
    assert set(CATEGORY_COLORS) == set(CATEGORIES)
    assert len(set(CATEGORY_COLORS.values())) == len(CATEGORIES)
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in CATEGORY_COLORS.values())


@pytest.mark.parametrize(
    ("code", "kind", "category"),
    [
        ("000000", "request", "accepted"),
        ("000000", "status", "accepted"),
        ("DELIVRD", "report", "delivered"),
        ("ACCEPTD", "report", "pending"),
        ("EXPIRED", "report", "expired"),
        ("TIMEOUT", "report", "expired"),
        ("E000510", "request", "partial"),
        *[(c, "request", "auth") for c in ["E000001", "E000008", "E000020", "E000026", "E000101", "E000105"]],
        ("E000110", "request", "auth"),
        ("E000111", "request", "auth"),
        ("E000106", "request", "permission"),
        ("E000109", "request", "permission"),
        ("E000112", "request", "permission"),
        ("E000620", "request", "permission"),
        ("E000628", "report", "permission"),
        ("E000623", "request", "quota"),
        ("E000629", "report", "quota"),
        ("E200015", "status", "quota"),
        *[(c, "status", "template") for c in ["E200028", "E200029", "E200030", "E200031", "E200033"]],
        ("E200032", "report", "template"),
        ("E000000", "request", "request"),
        ("E000027", "request", "request"),
        ("E000040", "request", "request"),
        ("E000503", "request", "request"),
        ("E200041", "status", "request"),
        ("E200027", "report", "platform"),
        ("RTE_ERR", "report", "platform"),
        ("UNDELIV", "report", "carrier_rejected"),
        ("REJECTD", "report", "carrier_rejected"),
        ("KEYWORD", "report", "carrier_rejected"),
        ("DELETED", "report", "carrier_rejected"),
        *[(c, "report", "blacklist") for c in ["BLACK", "TDBLACK", "TSBLACK", "MBBLACK"]],
        *[(c, "report", "rate_limited") for c in ["MILIMIT", "LIMIT", "BEYONDN", "CTLIMIT"]],
        ("UNKNOWN", "report", "unknown"),
    ],
)
def test_category_of_each_code(code: str, kind: str, category: str) -> None:
    assert lookup(code, kind=kind).category == category


@pytest.mark.parametrize("code", HUAWEI_PLATFORM_REPORTS)
def test_huawei_platform_report_codes_are_not_billed(code: str) -> None:
    assert lookup(code, kind="report").billed is False


@pytest.mark.parametrize("code", CARRIER_REPORTS)
def test_carrier_outcomes_are_billed(code: str) -> None:
    assert lookup(code, kind="report").billed is True


@pytest.mark.parametrize("code", [c for c in SPEC_REQUEST_CODES if c != "000000"])
def test_request_errors_are_not_billed(code: str) -> None:
    assert lookup(code, kind="request").billed is False


@pytest.mark.parametrize(
    ("code", "retryable"),
    [
        ("E200015", True),
        ("MILIMIT", True),
        ("E000623", False),
        ("E000000", False),
        ("E000110", False),
        ("E000101", False),
        ("E000503", False),
        ("E000510", False),
        ("BLACK", False),
        ("E200028", False),
    ],
)
def test_retryable(code: str, retryable: bool) -> None:
    assert lookup(code).retryable is retryable


def test_known_http_statuses() -> None:
    assert lookup("000000").http_status == 200
    assert lookup("E000620").http_status == 403
    assert lookup("E000101").http_status == 401  # issue 11: the 返回值 table gives it (was None)
    assert lookup("E000630").http_status is None  # no status found in the reference


def test_kind_selects_between_entries_sharing_a_code() -> None:
    assert lookup("000000").kind == "request"
    assert lookup("000000", kind="status").kind == "status"
    assert lookup("E200028").kind == "status"
    twin = lookup("E200028", kind="report")
    assert (twin.kind, twin.category, twin.billed) == ("report", "template", False)
    # a known code asked for under another kind keeps its meaning and reports the kind asked for
    asked = lookup("E000628", kind="request")
    assert (asked.kind, asked.category) == ("request", "permission")


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("delivrd", "DELIVRD"),
        (" Delivrd ", "DELIVRD"),
        ("tdblack", "TDBLACK"),
        ("MiLimit", "MILIMIT"),
        ("rte_err", "RTE_ERR"),
        ("e000620", "E000620"),
        ("e200028", "E200028"),
    ],
)
def test_lookup_is_case_and_blank_insensitive(text: str, canonical: str) -> None:
    assert lookup(text) == lookup(canonical)
    assert lookup(text).code == canonical


@pytest.mark.parametrize(
    ("code", "category", "billed"),
    [
        ("MK:0001", "carrier_rejected", True),
        ("mk:0056", "carrier_rejected", True),
        ("MC:0151", "carrier_rejected", True),
        ("MB:1078", "carrier_rejected", True),
        ("MA:0054", "carrier_rejected", True),
        ("ID:0076", "carrier_rejected", True),
        ("DB:9006", "carrier_rejected", True),
        ("2:24", "carrier_rejected", True),
        ("XYBLACK", "blacklist", True),
        ("DAYLIMIT", "rate_limited", True),
        ("E209999", "platform", False),
    ],
)
def test_families_by_pattern(code: str, category: str, billed: bool) -> None:
    info = lookup(code)
    assert (info.category, info.billed, info.kind) == (category, billed, "report")
    assert info.code == code.upper()
    assert info.advice
    assert info.meaning != "Unknown code"


def test_carrier_family_meaning_names_the_carrier_code() -> None:
    info = lookup("MK:0056")
    assert "0056" in info.meaning
    assert "SMSC" in info.meaning


@pytest.mark.parametrize(
    ("code", "kind", "billed"),
    [
        ("NOSUCHCODE", None, True),
        ("Weird-Code", "report", True),
        ("E099999", None, False),
        ("X42", "request", False),
    ],
)
def test_unknown_codes(code: str, kind: str | None, billed: bool) -> None:
    info = lookup(code, kind=kind)
    assert info == CodeInfo(code, kind or "report", "Unknown code", "unknown", billed, info.advice)
    assert "console" in info.advice
    assert "support" in info.advice


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, np.nan, "", "   "])
def test_missing_code_means_no_report_yet(missing: object) -> None:
    info = lookup(missing)  # type: ignore[arg-type]
    assert info.category == "pending"
    assert info.billed is False
    assert "72 h" in info.advice


def test_lookup_never_raises_on_odd_input() -> None:
    assert lookup(123).category == "unknown"  # type: ignore[arg-type]
    assert lookup(["DELIVRD", "x"]).category == "unknown"  # type: ignore[arg-type]
    odd_kind = lookup("DELIVRD", kind="nonsense")
    assert (odd_kind.category, odd_kind.kind) == ("delivered", "report")


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        *[(c, AuthenticationError) for c in ["E000001", "E000004", "E000024", "E000101", "E000105", "E000110"]],
        *[(c, PermissionDeniedError) for c in ["E000106", "E000109", "E000112", "E000620", "E000628"]],
        *[(c, QuotaError) for c in ["E000623", "E000629", "E200015"]],
        *[(c, TemplateError) for c in ["E200028", "E200030", "E200033"]],
        *[(c, RequestError) for c in ["E000000", "E000027", "E000040", "E000503", "E000510", "E200041"]],
        ("MK:0001", RequestError),
        ("NOSUCHCODE", RequestError),
    ],
)
def test_error_for_picks_the_class(code: str, cls: type[ApiError]) -> None:
    exc = error_for(code, "platform says no", http_status=400, response={"code": code})
    assert type(exc) is cls
    assert isinstance(exc, ApiError)
    assert exc.code == code
    assert exc.advice == lookup(code).advice
    assert exc.advice
    assert code in str(exc)
    assert exc.advice in str(exc)
    assert exc.description == "platform says no"
    assert exc.http_status == 400
    assert exc.response == {"code": code}


def test_error_for_defaults_from_the_catalog() -> None:
    exc = error_for("e000620")
    assert isinstance(exc, PermissionDeniedError)
    assert exc.code == "E000620"
    assert exc.http_status == 403
    assert exc.description == lookup("E000620").meaning
    assert "whitelist" in str(exc)
    with pytest.raises(PermissionDeniedError, match="E000620"):
        raise exc


# --- categorize -------------------------------------------------------------------------------------------

POOL = [
    "DELIVRD", "delivrd", "EXPIRED", "ACCEPTD", "UNDELIV", "MK:0001", "mb:9", "TDBLACK", "MILIMIT",
    "E200027", "E000628", "E000629", "000000", "E200015", "RTE_ERR", "UNKNOWN", "what?", "", None,
]  # fmt: skip


def _expected(values: list[object]) -> pd.DataFrame:
    infos = [lookup(None if v is None or (isinstance(v, float) and np.isnan(v)) else v) for v in values]  # type: ignore[arg-type]
    return pd.DataFrame(
        {
            "category": [i.category for i in infos],
            "billed": [i.billed for i in infos],
            "advice": [i.advice for i in infos],
            "delivered": [i.code == "DELIVRD" for i in infos],
        }
    )


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.one_of(st.sampled_from(POOL), st.text(max_size=8), st.just(np.nan)), max_size=40),
    seed=st.integers(0, 2**16),
)
def test_categorize_matches_lookup_and_keeps_the_index(values: list[object], seed: int) -> None:
    index = pd.Index(np.random.default_rng(seed).permutation(len(values)) * 7 + 3, name="row")
    codes = pd.Series(values, index=index, dtype=object, name="status")
    before = codes.copy()
    out = categorize(codes)
    pd.testing.assert_series_equal(codes, before)  # input not mutated
    assert out.index.equals(codes.index)
    assert list(out.columns) == ["category", "billed", "advice", "delivered"]
    assert isinstance(out["category"].dtype, pd.CategoricalDtype)
    assert tuple(out["category"].cat.categories) == CATEGORIES
    assert out["billed"].dtype == bool
    assert out["delivered"].dtype == bool
    expected = _expected(values)
    assert out["category"].astype(str).tolist() == expected["category"].tolist()
    assert out["billed"].tolist() == expected["billed"].tolist()
    assert out["advice"].tolist() == expected["advice"].tolist()
    assert out["delivered"].tolist() == expected["delivered"].tolist()


def test_categorize_delivered_and_missing() -> None:
    codes = pd.Series(["DELIVRD", " delivrd", None, "UNDELIV", np.nan], index=list("abcde"))
    out = categorize(codes)
    assert out["delivered"].tolist() == [True, True, False, False, False]
    assert out["category"].astype(str).tolist() == [
        "delivered",
        "delivered",
        "pending",
        "carrier_rejected",
        "pending",
    ]
    assert not out.loc["c", "billed"]


def test_categorize_accepts_string_and_categorical_dtypes() -> None:
    values = ["DELIVRD", None, "BLACK", "DELIVRD"]
    base = categorize(pd.Series(values, dtype=object))
    for dtype in ["string", "category"]:
        out = categorize(pd.Series(values, dtype=dtype))
        pd.testing.assert_frame_equal(out, base)


def test_categorize_kind_is_passed_to_lookup() -> None:
    codes = pd.Series(["E200028", "E200015"])
    assert categorize(codes, kind="report")["billed"].tolist() == [False, False]
    assert categorize(codes, kind="report")["category"].astype(str).tolist() == ["template", "quota"]
    assert categorize(pd.Series(["X42"]), kind="request")["billed"].tolist() == [False]
    assert categorize(pd.Series(["X42"]))["billed"].tolist() == [True]


def test_categorize_empty_series() -> None:
    out = categorize(pd.Series([], dtype=object, index=pd.Index([], dtype="int64")))
    assert out.empty
    assert tuple(out["category"].cat.categories) == CATEGORIES
    assert out["billed"].dtype == bool


# Rows of Huawei's API reference. "API错误码(发送短信)": https://support.huaweicloud.com/api-msgsms/sms_05_0050.html
# (en: https://support.huaweicloud.com/intl/en-us/api-msgsms/sms_05_0050.html); HTTP status from the 返回值 table of
# 发送短信 (https://huaweicloud.com/guide/productsdesc-bms_1d4133ae3121de62fa250a5e0c1f5f65support4), whose status cells
# span row groups. "3rd": meaning known only from third-party copies of the table. None: no status found.
REFERENCE_ROWS = [
    ("E000000", 400, "System error", RequestError),
    ("E000001", 400, "Authorization not contained", AuthenticationError),
    ("E000006", 400, "type in Authorization must be Appkey", AuthenticationError),
    ("E000007", 400, "type not contained in Authorization", AuthenticationError),
    ("E000008", 400, "WSSE not contained in Authorization", AuthenticationError),
    ("E000021", 400, "UserName not contained in X-WSSE", AuthenticationError),
    ("E000022", 400, "Nonce not contained in X-WSSE", AuthenticationError),
    ("E000023", 400, "Created not contained in X-WSSE", AuthenticationError),
    ("E000024", 400, "PasswordDigest not contained in X-WSSE (third-party copy)", AuthenticationError),  # 3rd
    ("E000041", 400, "X-Sdk-Date header is empty", AuthenticationError),
    ("E000042", 400, "format of the X-Sdk-Date header is invalid", AuthenticationError),
    ("E000043", 400, "Authorization is badly formatted (third-party copy)", AuthenticationError),  # 3rd
    ("E000044", 400, "X-Sdk-Date expired (third-party copy)", AuthenticationError),  # 3rd
    ("E000045", 400, "Authorization (Signature) check failed", AuthenticationError),
    ("E000510", 400, "see each number's status", RequestError),
    ("E000101", 401, "Authentication failed", AuthenticationError),
    ("E000105", 401, "Invalid PasswordDigest", AuthenticationError),
    ("E000112", 401, "User frozen", PermissionDeniedError),
    ("E000620", 403, "IP whitelist", PermissionDeniedError),
    ("E000623", 403, "quota reached", QuotaError),
    ("E000630", None, "country/region reached", QuotaError),
]


@pytest.mark.parametrize(("code", "http", "words", "cls"), REFERENCE_ROWS)
def test_catalog_follows_the_api_reference(code: str, http: int | None, words: str, cls: type[ApiError]) -> None:
    info = lookup(code, kind="request")
    assert info.http_status == http
    assert words in info.meaning
    exc = error_for(code)
    assert type(exc) is cls
    assert exc.http_status == http
