"""Template-parameter validation has one definition: the single-message, frame and planner forms agree."""

from __future__ import annotations

import pandas as pd
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
        "variable 2 ${2}: value is empty",
        "mainland template cn-unsigned needs a signature",
    ]
    assert validate_params(LONG, ["a" * 20, "123456", "abc"]) == [
        "message is 504 chars with its signature; the limit is 500"
    ]
    assert validate_params(LONG, ["a" * 20, "1234567", "abc"]) == [
        "variable 2 ${NUM_6}: must be 1–6 digits, got 7 chars"
    ]
