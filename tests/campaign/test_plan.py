"""Campaign planning: validation, suppression, grouping into the fewest calls, fingerprint, display."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smskit.campaign.plan import MAX_ITEMS_PER_CALL, CampaignPlan, plan_campaign
from smskit.campaign.recipients import read_recipients
from smskit.errors import DataValidationError
from smskit.templates import Template, TemplateCatalog, encoding_of, load_templates, render, segments, validate_params

VERIFY = Template("verify", "Your code is ${NUM_6}.", "international", "verification")
HELLO = Template("hello", "Hi ${TXT_20}, see you on ${DATE}.", "international", "notification")
PROMO_A = Template("promo_a", "${TXT_20}: 20% off!", "international", "marketing")
PROMO_B = Template("promo_b", "${TXT_20}, don't miss 20% off!", "international", "marketing")
CN = Template("cn", "验证码${1}", "mainland", "verification", "smskit测试")
CATALOG = TemplateCatalog([VERIFY, HELLO, PROMO_A, PROMO_B, CN])


def numbers(n: int, start: int = 0) -> list[str]:
    """Distinct valid German mobile numbers."""
    return [f"+49151{10_000_000 + start + i:08d}" for i in range(n)]


@pytest.fixture
def sample(data_dir: Path) -> pd.DataFrame:
    return read_recipients(data_dir / "recipients.csv")


def test_one_row_per_input_row_with_index_and_dtypes() -> None:
    frame = pd.DataFrame({"phone": numbers(3), "code": ["002569", "000001", "123456"]}, index=["a", "b", "c"])
    before = frame.copy()
    plan = plan_campaign(frame, template_id="verify", params=["code"], templates=CATALOG)
    pd.testing.assert_frame_equal(frame, before)
    rec = plan.recipients
    assert list(rec.index) == ["a", "b", "c"]
    assert list(rec["params"]) == [("002569",), ("000001",), ("123456",)]
    assert rec.loc["a", "text"] == "Your code is 002569."
    assert str(rec["state"].dtype) == "category"
    # the plan's states: ready/invalid/suppressed, plus deferred/expired/held_out (issue 10, interface.md)
    assert list(rec["state"].cat.categories) == ["ready", "invalid", "suppressed", "deferred", "expired", "held_out"]
    assert str(rec["to"].dtype) == "str"
    assert list(rec["encoding"].astype(str)) == ["GSM-7"] * 3
    assert list(rec["segments"]) == [1, 1, 1]
    assert plan.sendable


def test_sample_campaign(sample: pd.DataFrame, data_dir: Path) -> None:
    cat = load_templates(data_dir / "templates.csv")
    account = next(t for t in cat.values() if t.variables == ("NUM_6", "TXT_20"))
    plan = plan_campaign(
        sample,
        template_id=account.template_id,
        params=["code", "name"],
        templates=cat,
        default_region="GB",
        opt_out=data_dir / "opt_out.csv",
    )
    s = plan.summary
    assert (s["rows"], s["invalid"], s["suppressed"]) == (198, 4, 2)
    assert s["ready"] == 192
    assert set(plan.problems["problem"]) >= {"opted out", "contains letters", "missing phone number"}
    assert plan.problems["problem"].str.startswith("duplicate of row").sum() == 1
    assert not plan.sendable
    assert s["requests"] == 2  # 192 distinct params → 192 items → 2 batchSendDiffSms calls
    assert (plan.requests["api"] == "batchSendDiffSms").all()
    assert sum(s["segments_by"].values()) == s["segments"]


def test_single_params_uses_batch_send_sms_in_chunks_of_500() -> None:
    frame = pd.DataFrame({"phone": numbers(1201), "code": "002569"})
    plan = plan_campaign(frame, template_id="verify", params=["code"], templates=CATALOG)
    req = plan.requests
    assert len(req) == 3
    assert list(req["api"]) == ["batchSendSms"] * 3
    assert list(req["n_numbers"]) == [500, 500, 201]
    assert sorted(label for rows in req["rows"] for label in rows) == list(range(1201))
    items = plan.items
    assert list(items["to"].iloc[0][:2]) == numbers(2)
    assert items["params"].iloc[0] == ("002569",)


def test_distinct_params_pack_at_most_100_items_per_call() -> None:
    frame = pd.DataFrame({"phone": numbers(250), "code": [f"{i:06d}" for i in range(250)]})
    plan = plan_campaign(frame, template_id="verify", params=["code"], templates=CATALOG)
    req = plan.requests
    assert list(req["n_items"]) == [MAX_ITEMS_PER_CALL, MAX_ITEMS_PER_CALL, 50]
    assert (req["api"] == "batchSendDiffSms").all()
    assert (plan.items["n_numbers"] == 1).all()


def test_mixed_templates_grouped_into_fewest_calls() -> None:
    # promo_a: two params groups of 300 and 150 numbers; promo_b: one group of 700; verify: 3 distinct codes
    rows = (
        [("promo_a", "Ann")] * 300
        + [("promo_a", "Bo")] * 150
        + [("promo_b", "Cy")] * 700
        + [("verify", "000001"), ("verify", "000002"), ("verify", "000002")]
    )
    frame = pd.DataFrame(rows, columns=["tpl", "p"])
    frame["phone"] = numbers(len(frame))
    frame = frame.sample(frac=1, random_state=3)  # order must not matter
    plan = plan_campaign(frame, template_column="tpl", params=["p"], templates=CATALOG)
    req = plan.requests
    single = req[req["api"] == "batchSendSms"]
    assert list(single["n_numbers"]) == [500, 200]
    assert all(t == ("promo_b",) for t in single["template_ids"])
    diff = req[req["api"] == "batchSendDiffSms"]
    # items: Ann 300, Bo 150, verify 1+1+1 → 300+150+3 ≤ 500 fits one call
    assert len(diff) == 1
    assert diff["n_numbers"].iloc[0] == 453
    assert set(diff["template_ids"].iloc[0]) == {"promo_a", "verify"}
    assert len(req) == 3
    items = plan.items
    assert (items["n_numbers"] <= 500).all()
    # every ready row is in exactly one item, mapped back by label
    labels = [label for rows in items["rows"] for label in rows]
    assert sorted(labels) == sorted(frame.index)
    by_label = plan.recipients.loc[labels]
    assert list(by_label["to"]) == [n for to in items["to"] for n in to]


def test_diff_items_never_exceed_500_numbers_per_call() -> None:
    rows = [("promo_a", "Ann")] * 400 + [("promo_a", "Bo")] * 400 + [("promo_a", "Cy")] * 600
    frame = pd.DataFrame(rows, columns=["tpl", "p"])
    frame["phone"] = numbers(len(frame))
    plan = plan_campaign(frame, template_column="tpl", params=["p"], templates=CATALOG)
    req = plan.requests
    assert (req["n_numbers"] <= 500).all()
    assert req["n_numbers"].sum() == 1400
    assert (plan.items["n_numbers"] <= 500).all()
    assert len(req) == 4  # 400 | 400 | 500 | 100


@pytest.mark.parametrize(
    ("template", "value", "fragment"),
    [
        ("verify", "12a456", "1–6 digits"),
        ("verify", "1234567", "1–6 digits"),
        ("verify", "", "empty"),
        ("hello", "x" * 21, "1–20 characters"),
        ("hello", "a{b}", "without braces"),
        ("cn", "123456789", "at most 8"),
    ],
)
def test_param_violations_make_rows_invalid(template: str, value: str, fragment: str) -> None:
    frame = pd.DataFrame({"phone": numbers(2), "v": [value, "1234"], "d": ["2023/3/30"] * 2})
    cols = ["v", "d"] if template == "hello" else ["v"]
    plan = plan_campaign(frame, template_id=template, params=cols, templates=CATALOG)
    rec = plan.recipients
    assert rec["state"].iloc[0] == "invalid"
    assert fragment in rec["problem"].iloc[0]
    assert rec["state"].iloc[1] == "ready"
    with pytest.raises(DataValidationError, match="1 of 2 rows are invalid") as info:
        plan.raise_if_invalid()
    assert "skip_invalid=True" in str(info.value)
    assert info.value.rows is not None
    assert list(info.value.rows.index) == [0]


def test_skip_invalid_makes_the_plan_sendable() -> None:
    frame = pd.DataFrame({"phone": ["+49 nonsense", *numbers(2)], "code": ["1", "2", "3"]})
    strict = plan_campaign(frame, template_id="verify", params=["code"], templates=CATALOG)
    loose = plan_campaign(frame, template_id="verify", params=["code"], templates=CATALOG, skip_invalid=True)
    assert not strict.sendable
    assert loose.sendable
    assert loose.skip_invalid
    assert loose.summary["ready"] == 2
    assert loose.requests["n_numbers"].sum() == 2


def test_mainland_signature_from_template_or_argument() -> None:
    frame = pd.DataFrame({"phone": ["+8613812345678", "+8613912345678"], "code": ["002569", "1234"]})
    plan = plan_campaign(frame, template_id="cn", params=["code"], templates=CATALOG)
    assert plan.recipients["text"].iloc[0] == "【smskit测试】验证码002569"
    assert set(plan.items["signature"]) == {"smskit测试"}
    other = plan_campaign(frame, template_id="cn", params=["code"], templates=CATALOG, signature="其他")
    assert other.recipients["text"].iloc[0] == render(CN, ["002569"], signature="其他")
    assert set(other.items["signature"]) == {"其他"}
    assert other.fingerprint != plan.fingerprint
    assert (plan.recipients["encoding"] == "UCS-2").all()


def test_international_items_carry_no_signature() -> None:
    frame = pd.DataFrame({"phone": numbers(2), "code": ["1", "2"]})
    plan = plan_campaign(frame, template_id="verify", params=["code"], templates=CATALOG, signature="ignored")
    assert plan.items["signature"].isna().all()


def test_numbers_national_float_and_invalid() -> None:
    frame = pd.DataFrame({"phone": ["07400 123456", "4915112345678.0", "+44 1234", "+447400123456"], "code": ["1"] * 4})
    plan = plan_campaign(frame, template_id="verify", params=["code"], templates=CATALOG, default_region="GB")
    rec = plan.recipients
    assert rec["to"].iloc[0] == "+447400123456"
    assert "Excel" in rec["problem"].iloc[1]
    assert rec["state"].iloc[2] == "invalid"
    # row 0 and row 3 are the same number with the same params: the later one is suppressed
    assert rec["state"].iloc[3] == "suppressed"
    assert rec["problem"].iloc[3] == "duplicate of row 0"


def test_dedupe_none_keeps_the_exact_duplicate_rule() -> None:
    """With dedupe=None, the same number with other params is not a duplicate (the first release's rule)."""
    frame = pd.DataFrame({"phone": [numbers(1)[0]] * 3, "code": ["1", "2", "1"]})
    plan = plan_campaign(frame, template_id="verify", params=["code"], templates=CATALOG, dedupe=None)
    assert list(plan.recipients["state"]) == ["ready", "ready", "suppressed"]
    assert plan.summary["dedupe"] is None


def test_dedupe_by_number_is_the_default() -> None:
    """One message per number per campaign: a customer listed twice with two coupons gets one (issue 10)."""
    nums = numbers(2)
    frame = pd.DataFrame(
        {"phone": [nums[0], nums[1], "+49 151 " + nums[0][6:], nums[0]], "code": ["1", "2", "3", "4"]},
        index=pd.Index(["c-7", "c-8", "c-9", "c-10"], name="customer"),
    )
    plan = plan_campaign(frame, template_id="verify", params=["code"], templates=CATALOG)
    rec = plan.recipients
    assert list(rec["state"]) == ["ready", "ready", "suppressed", "suppressed"]
    assert list(rec["problem"].iloc[2:]) == ["duplicate of row 'c-7'", "duplicate of row 'c-7'"]
    assert plan.summary["dedupe"] == "number"
    assert plan.summary["duplicates"] == 2
    assert "one message per number" in plan._repr_html_()
    assert plan.requests["n_numbers"].sum() == 2


def test_dedupe_is_checked() -> None:
    frame = pd.DataFrame({"phone": numbers(1), "code": ["1"]})
    with pytest.raises(DataValidationError, match="dedupe"):
        plan_campaign(frame, template_id="verify", params=["code"], dedupe="text")


@pytest.mark.parametrize("kind", ["set", "list", "series", "frame", "file"])
def test_opt_out_sources(kind: str, tmp_path: Path) -> None:
    nums = numbers(3)
    frame = pd.DataFrame({"phone": nums, "code": ["1", "2", "3"]})
    blocked = ["+49 151 " + nums[1][6:]]  # written differently, same number
    source: object = {
        "set": set(blocked),
        "list": blocked,
        "series": pd.Series(blocked),
        "frame": pd.DataFrame({"phone": blocked}),
    }.get(kind)
    if kind == "file":
        path = tmp_path / "optout.csv"
        path.write_text("phone\n" + blocked[0] + "\n", encoding="utf-8")
        source = path
    plan = plan_campaign(frame, template_id="verify", params=["code"], templates=CATALOG, opt_out=source)
    assert list(plan.recipients["state"]) == ["ready", "suppressed", "ready"]
    assert plan.recipients["problem"].iloc[1] == "opted out"
    assert plan.requests["n_numbers"].sum() == 2


def test_opt_out_frame_needs_phone_column() -> None:
    frame = pd.DataFrame({"phone": numbers(1), "code": ["1"]})
    with pytest.raises(DataValidationError, match="'phone' column"):
        plan_campaign(frame, template_id="verify", params=["code"], opt_out=pd.DataFrame({"x": ["1"]}))


def test_without_catalog_only_generic_checks() -> None:
    # issue 11: " " and "." stand for an empty ${TXT_n} (seed lines 449–450), so without a catalog,
    # which cannot tell the variable's type, only "" is refused (it was " " before)
    frame = pd.DataFrame({"phone": numbers(4), "code": ["anything", "", " ", "."]})
    plan = plan_campaign(frame, template_id="whatever", params=["code"])
    rec = plan.recipients
    assert list(rec["state"]) == ["ready", "invalid", "ready", "ready"]
    assert rec["problem"].iloc[1] == "param 1 is empty"
    assert rec["text"].isna().all()


def test_unknown_template_and_missing_params() -> None:
    frame = pd.DataFrame({"phone": numbers(2), "tpl": ["nope", "hello"], "name": ["Ann", "Bo"]})
    plan = plan_campaign(frame, template_column="tpl", params=["name"], templates=CATALOG)
    assert "unknown template_id" in plan.recipients["problem"].iloc[0]
    assert "2 variable(s) but only 1 params column" in plan.recipients["problem"].iloc[1]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"params": ["code"]}, "exactly one of"),
        ({"template_id": "verify", "template_column": "code"}, "exactly one of"),
        ({"template_id": "verify", "params": ["nope"]}, "no column"),
        ({"template_id": "verify", "to": "mobile"}, "no column"),
    ],
)
def test_bad_arguments(kwargs: dict, fragment: str) -> None:
    frame = pd.DataFrame({"phone": numbers(1), "code": ["1"]})
    with pytest.raises(DataValidationError, match=fragment):
        plan_campaign(frame, templates=CATALOG, **kwargs)


def test_duplicate_index_refused() -> None:
    frame = pd.DataFrame({"phone": numbers(2), "code": ["1", "2"]}, index=[0, 0])
    with pytest.raises(DataValidationError, match="reset_index"):
        plan_campaign(frame, template_id="verify", params=["code"], templates=CATALOG)


def test_fingerprint_is_stable_and_sensitive() -> None:
    frame = pd.DataFrame({"phone": numbers(5), "code": [f"{i:06d}" for i in range(5)]})

    def fp(f: pd.DataFrame, **kw: object) -> str:
        return plan_campaign(f, template_id="verify", params=["code"], templates=CATALOG, **kw).fingerprint

    base = fp(frame)
    assert base == fp(frame.copy())
    assert len(base) == 64
    changed = frame.copy()
    changed.loc[2, "code"] = "999999"
    assert fp(changed) != base
    assert fp(frame, sender="isms0002") != base
    assert fp(frame.iloc[:4]) != base


def test_empty_frame() -> None:
    frame = pd.DataFrame({"phone": pd.Series([], dtype=str), "code": pd.Series([], dtype=str)})
    plan = plan_campaign(frame, template_id="verify", params=["code"], templates=CATALOG)
    assert len(plan.recipients) == 0
    assert plan.requests.empty
    assert plan.summary["requests"] == 0
    assert plan.sendable


def test_html_escapes_user_text() -> None:
    frame = pd.DataFrame({"phone": ["<b>x</b>", numbers(1)[0]], "name": ["<script>", "ok"], "d": ["1/1"] * 2})
    plan = plan_campaign(frame, template_id="hello", params=["name", "d"], templates=CATALOG)
    out = plan._repr_html_()
    assert "<script>" not in out
    assert "<b>x</b>" not in out
    assert "Not sendable" in out
    assert "invalid" in out
    assert isinstance(plan, CampaignPlan)
    assert "CampaignPlan(rows=2" in repr(plan)


def test_items_positions_match_labels() -> None:
    frame = pd.DataFrame({"phone": numbers(4), "code": ["1", "1", "2", "2"]}, index=[10, 20, 30, 40])
    plan = plan_campaign(frame, template_id="verify", params=["code"], templates=CATALOG)
    items = plan.items
    for rows, positions in zip(items["rows"], items["positions"], strict=True):
        assert list(frame.index[np.asarray(positions)]) == rows
    rec = plan.recipients
    assert rec["request_no"].notna().all()
    assert list(rec["item_no"]) == [0, 0, 1, 1]


def test_fingerprint_changes_with_any_number_param_template_or_signature() -> None:
    frame = pd.DataFrame(
        {"phone": numbers(4), "tpl": ["promo_a", "promo_a", "promo_b", "cn"], "p": ["Ann", "Bo", "Cy", "1234"]}
    )

    def fp(f: pd.DataFrame, **kw: object) -> str:
        return plan_campaign(f, template_column="tpl", params=["p"], templates=CATALOG, **kw).fingerprint

    base = fp(frame)
    assert base == fp(frame.copy()) == fp(frame.set_axis(list("wxyz")))  # labels are not sent
    variants = [frame.copy() for _ in range(3)]
    variants[0].loc[1, "phone"] = numbers(1, start=99)[0]
    variants[1].loc[1, "p"] = "Bob"
    variants[2].loc[1, "tpl"] = "promo_b"
    prints = {fp(v) for v in variants} | {fp(frame, signature="其他"), fp(frame, sender="isms2")}
    assert len(prints) == 5
    assert base not in prints
    # an invalid row that is not sent leaves the fingerprint alone
    extra = pd.concat([frame, pd.DataFrame({"phone": ["x"], "tpl": ["promo_a"], "p": ["Zed"]}, index=[9])])
    assert fp(extra) == base


def test_items_are_ordered_by_request_so_calls_are_contiguous() -> None:
    # promo_a (two params → batchSendDiffSms) comes first in the input, promo_b (one → batchSendSms) second
    rows = [("promo_a", "Ann")] * 3 + [("promo_b", "Cy")] * 600 + [("promo_a", "Bo")] * 2
    frame = pd.DataFrame(rows, columns=["tpl", "p"])
    frame["phone"] = numbers(len(frame))
    plan = plan_campaign(frame, template_column="tpl", params=["p"], templates=CATALOG)
    items = plan.items
    assert list(items["request_no"]) == sorted(items["request_no"])
    assert list(items["item_no"]) == list(range(len(items)))
    assert list(plan.requests["api"]) == ["batchSendSms", "batchSendSms", "batchSendDiffSms"]
    assert list(plan.requests["n_items"]) == [1, 1, 2]
    positions = [p for ps in items["positions"] for p in ps]
    assert sorted(positions) == list(range(len(frame)))
    rec = plan.recipients
    assert list(rec["item_no"].iloc[positions]) == list(np.repeat(items["item_no"], items["n_numbers"]))


def test_missing_and_empty_params_are_one_value_and_numbers_compare_as_text() -> None:
    frame = pd.DataFrame(
        {"phone": [numbers(1)[0]] * 4, "a": ["", None, "x", "x"], "b": pd.Series([1, 1, 2, 2], dtype=object)}
    )
    frame.loc[3, "b"] = "2"
    plan = plan_campaign(frame, template_id="whatever", params=["a", "b"])
    rec = plan.recipients
    assert list(rec["params"]) == [("", "1"), ("", "1"), ("x", "2"), ("x", "2")]
    assert list(rec["problem"]) == ["param 1 is empty", "param 1 is empty", "", "duplicate of row 2"]


any_param = st.one_of(
    st.text(max_size=12),
    st.text(alphabet="0123456789", min_size=1, max_size=8),
    st.text(alphabet="aé€[{}😀中 ", max_size=25),
    st.none(),
)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["verify", "hello", "promo_a", "cn", "nope"]), any_param, any_param), max_size=30
    )
)
def test_rows_agree_with_scalar_render_validate_and_segments(rows: list[tuple[str, str | None, str | None]]) -> None:
    frame = pd.DataFrame(rows, columns=["tpl", "a", "b"], dtype=object)
    frame["phone"] = numbers(len(frame))
    rec = plan_campaign(frame, template_column="tpl", params=["a", "b"], templates=CATALOG).recipients
    for (tid, a, b), (_, row) in zip(rows, rec.iterrows(), strict=True):
        if tid == "nope":
            assert row["problem"].startswith("unknown template_id")
            continue
        template = CATALOG[tid]
        values = (a or "", b or "")[: len(template.variables)]
        assert row["params"] == values
        assert row["text"] == render(template, values)
        assert row["encoding"] == encoding_of(row["text"])
        assert row["segments"] == segments(row["text"])
        assert row["problem"] == "; ".join(validate_params(template, values))
