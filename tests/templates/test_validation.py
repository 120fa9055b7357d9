"""Template-parameter validation has one definition: the single-message, frame and planner forms agree."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smskit.campaign.plan import plan_campaign
from smskit.templates import Template, TemplateCatalog, invalid_params_mask, validate_params

VERIFY = Template("verify", "Your code is ${NUM_6}.", "international", "verification")
VERIFY_TXT = Template("verify-txt", "code ${TXT_10}", "international", "verification")
PARCEL = Template("parcel", "Hi ${TXT_5}, parcel on ${DATE} at ${TIME}.", "international", "notification")
CN_BILL = Template(
    "cn-bill", "您尾号${PHONE}于${DATETIME}到账${MONEY}元，${TEXT}${CHARDIGIT}${1}", "mainland", "notification", "测试"
)
CN_UNSIGNED = Template("cn-unsigned", "通知${1}${2}", "mainland", "notification")
LONG = Template("long", "x" * 475 + "${TXT_20}${NUM_6}${TXT_3}", "international", "marketing")
CATALOG = TemplateCatalog([VERIFY, VERIFY_TXT, PARCEL, CN_BILL, CN_UNSIGNED, LONG])

value = st.one_of(
    st.text(max_size=22),
    st.text(alphabet="0123456789", max_size=9),
    st.text(alphabet=" .\t", max_size=4),
    st.text(alphabet="ab{}.'<>_+-0 中€😀", max_size=21),
    st.sampled_from(["", " ", ".", "0", "2023/3/30", "10:30", "+86-1234", "12.50"]),
)


def _phones(n: int) -> list[str]:
    return [f"+49151{10_000_000 + i:08d}" for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(
    template=st.sampled_from(list(CATALOG.values())),
    rows=st.lists(st.lists(value, min_size=6, max_size=6), min_size=1, max_size=12),
)
def test_validate_params_mask_and_planner_agree(template: Template, rows: list[list[str]]) -> None:
    """A rule added to (or changed in) one of the three forms only would make them disagree here."""
    k = len(template.variables)
    params = pd.DataFrame([r[:k] for r in rows], columns=[f"p{j}" for j in range(k)], dtype=object)
    scalar = [validate_params(template, list(r)) for r in params.itertuples(index=False)]
    mask = invalid_params_mask(template, params)
    frame = params.assign(phone=_phones(len(params)))
    rec = plan_campaign(frame, template_id=template.template_id, params=list(params.columns), templates=CATALOG)
    rec = rec.recipients
    assert list(mask) == [bool(p) for p in scalar]
    assert list(rec["problem"]) == ["; ".join(p) for p in scalar]
    assert list(rec["state"].astype(str)) == ["invalid" if p else "ready" for p in scalar]


def test_messages_keep_their_order_and_prefixes() -> None:
    problems = validate_params(VERIFY_TXT, ["1{2}3456789"])
    assert problems == [
        "variable 1 ${TXT_10}: must be 1–10 characters without braces, got 11 chars",
        "variable 1 ${TXT_10}: a verification code is at most 8 chars",
    ]
    assert validate_params(CN_UNSIGNED, ["a", ""]) == [
        "variable 2 ${2}: value is empty (every variable needs a value)",
        "mainland template cn-unsigned needs a signature",
    ]
    assert validate_params(LONG, ["a" * 20, "123456", "abc"]) == [
        "message is 504 chars with its signature; the limit is 500"
    ]
    assert validate_params(LONG, ["a" * 20, "1234567", "abc"]) == [
        "variable 2 ${NUM_6}: must be 1–6 digits, got 7 chars"
    ]


# -- blank variables (issue 11, item 1) --------------------------------------------------------------
# The guide, seed lines 449–450 (Java), 1981–1982 (Go), 5044–5045 (Go, mainland example): "${DATE}${TIME}
# cannot be empty. You can use spaces or dots (.) to replace the empty value of ${TXT_20} and use 0 to
# replace the empty value of NUM_6."

BLANKS = Template("blanks", "You have ${NUM_6} parcels at ${TXT_20} on ${DATE} ${TIME}", "international")


@pytest.mark.parametrize("txt", [" ", ".", "   ", "...", " . "])
def test_spaces_or_dots_fill_an_empty_txt_and_zero_an_empty_num(txt: str) -> None:
    assert validate_params(BLANKS, ["0", txt, "2024/5/1", "10:30"]) == []
    assert not invalid_params_mask(BLANKS, pd.DataFrame([["0", txt, "2024/5/1", "10:30"]])).any()


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        (["", " ", "1", "1"], 'variable 1 ${NUM_6}: value is empty (send "0" for an empty ${NUM_6})'),
        ([" ", " ", "1", "1"], 'variable 1 ${NUM_6}: value is empty (send "0" for an empty ${NUM_6})'),
        (["0", "", "1", "1"], 'variable 2 ${TXT_20}: value is empty (send " " or "." for an empty ${TXT_20})'),
        (["0", " ", " ", "1"], "variable 3 ${DATE}: value is empty (${DATE} and ${TIME} cannot be empty, not even"),
        (["0", " ", "1", "."], "variable 4 ${TIME}: value is empty (${DATE} and ${TIME} cannot be empty, not even"),
        (["0", " " * 21, "1", "1"], "variable 2 ${TXT_20}: must be 1–20 characters without braces, got 21 chars"),
    ],
)
def test_what_cannot_be_empty(params: list[str], problem: str) -> None:
    assert validate_params(BLANKS, params)[0].startswith(problem)


def test_planner_sends_blank_stand_ins() -> None:
    frame = pd.DataFrame(
        {"phone": _phones(4), "n": ["0", "0", "", "0"], "t": [" ", ".", ".", " "], "d": ["1/5", "1/5", "1/5", " "]}
    )
    catalog = TemplateCatalog([Template("parcel2", "${NUM_6} at ${TXT_20} on ${DATE}")])
    rec = plan_campaign(frame, template_id="parcel2", params=["n", "t", "d"], templates=catalog).recipients
    assert list(rec["state"].astype(str)) == ["ready", "ready", "invalid", "invalid"]
    assert rec["text"].iloc[0] == "0 at   on 1/5"
