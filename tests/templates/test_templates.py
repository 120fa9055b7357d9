"""Templates: catalog loading, variable rules, rendering, GSM-7/UCS-2 and segment counts."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smskit.errors import DataValidationError
from smskit.templates import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    Template,
    TemplateCatalog,
    encoding_of,
    encoding_series,
    invalid_params_mask,
    load_templates,
    parse_variables,
    render,
    render_series,
    segments,
    segments_series,
    text_length,
    ucs2_chars,
    validate_params,
)

DATA = Path(__file__).resolve().parents[2] / "data"

VERIFY = Template("t-verify", "Your code is ${NUM_6}.", "international", "verification")
PARCEL = Template("t-parcel", "Hi ${TXT_5}, parcel on ${DATE} at ${TIME}.", "international", "notification")
CN_BILL = Template(
    "t-cn",
    "您尾号${PHONE}于${DATETIME}到账${MONEY}元，${TEXT}${CHARDIGIT}${1}",
    "mainland",
    "notification",
    "测试",
)


def test_sample_catalog_loads_with_every_region_and_kind() -> None:
    cat = load_templates(DATA / "templates.csv")
    assert isinstance(cat, TemplateCatalog)
    assert {t.region for t in cat.values()} == {"international", "mainland"}
    assert {t.kind for t in cat.values()} == {"verification", "notification", "marketing"}
    ids = list(cat)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert [i for i in ids if i.endswith(("a", "b")) and i[:-1] + "a" in cat and i[:-1] + "b" in cat]
    first = ids[0]
    assert cat[first].template_id == first
    with pytest.raises(KeyError, match="unknown template_id"):
        cat["nope"]


def test_load_json_and_dataframe_equal_csv(tmp_path: Path) -> None:
    cat = load_templates(DATA / "templates.csv")
    frame = cat.to_frame().reset_index()
    path = tmp_path / "t.json"
    path.write_text(json.dumps(frame.to_dict("records"), ensure_ascii=False), encoding="utf-8")
    assert dict(load_templates(path)) == dict(cat)
    assert dict(load_templates(frame)) == dict(cat)
    assert dict(load_templates(io.StringIO((DATA / "templates.csv").read_text("utf-8")))) == dict(cat)


def test_catalog_html_escapes_content() -> None:
    cat = TemplateCatalog([Template("x", "<script>alert(1)</script> ${TXT_5}")])
    out = cat._repr_html_()
    assert "<script>" not in out
    assert "&lt;script&gt;" in out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "template_id,content,region,kind\nx,hi ${FOO},international,marketing\n",
            "unknown template variable",
        ),
        ("template_id,content,region,kind\nx,hi,moon,marketing\n", "region"),
        ("template_id,content,region,kind\nx,hi ${NUM_4} ${NUM_4},international,verification\n", "exactly 1"),
        (
            "template_id,content,region,kind\nx,a,international,marketing\nx,b,international,marketing\n",
            "twice",
        ),
        ("template_id,content\nx,a\n", "lacks column"),
        ("template_id,content,region,kind\n,a,international,marketing\n", "missing"),
    ],
)
def test_bad_catalogs_are_refused_with_reasons(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataValidationError, match=message):
        load_templates(path)


def test_unreadable_or_unknown_template_files(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="cannot read"):
        load_templates(tmp_path / "missing.csv")
    (tmp_path / "t.txt").write_text("x", encoding="utf-8")
    with pytest.raises(DataValidationError, match="extension"):
        load_templates(tmp_path / "t.txt")
    (tmp_path / "t.json").write_text("{nope", encoding="utf-8")
    with pytest.raises(DataValidationError, match="malformed"):
        load_templates(tmp_path / "t.json")


def test_too_many_variables() -> None:
    with pytest.raises(DataValidationError, match="21 variables"):
        Template("x", "${TXT_1}" * 21)


def test_parse_variables_of_both_regions() -> None:
    assert parse_variables("a ${NUM_6} b ${TXT_20} ${DATE} ${TIME}") == ("NUM_6", "TXT_20", "DATE", "TIME")
    assert CN_BILL.variables == ("PHONE", "DATETIME", "MONEY", "TEXT", "CHARDIGIT", "1")
    for bad in ("${NUM_0}", "${NUM_21}", "${21}", "${01}", "${X}"):
        with pytest.raises(DataValidationError):
            parse_variables(bad)


@pytest.mark.parametrize(
    ("template", "params", "fragment"),
    [
        (VERIFY, ["12345a"], "1–6 digits"),
        (VERIFY, ["1234567"], "1–6 digits"),
        (VERIFY, [""], "empty"),
        (VERIFY, ["   "], "empty"),
        (VERIFY, [], "got 0 param"),
        (VERIFY, [123456], "must be str"),
        (Template("v", "code ${TXT_10}", kind="verification"), ["123456789"], "at most 8"),
        (PARCEL, ["Alexandra", "2023/3/30", "10:30"], "1–5 characters"),
        (PARCEL, ["A{b}", "2023/3/30", "10:30"], "without braces"),
        (PARCEL, ["Ann", "", "10:30"], "variable 2 ${DATE}: value is empty"),
        (PARCEL, ["Ann", "2023/3/30", ""], "variable 3 ${TIME}"),
        (CN_BILL, ["12a4", "2023-01-01", "9.5", "hi", "ab_1", "x"], "${PHONE}"),
        (CN_BILL, ["123", "2023-01-01", "9.5", "hi", "ab_1", "x"], "4–15"),
        (CN_BILL, ["1234", "2023-01-01", "9,5", "hi", "ab_1", "x"], "${MONEY}"),
        (CN_BILL, ["1234", "2023-01-01", "9.5", "hi.", "ab_1", "x"], "${TEXT}"),
        (CN_BILL, ["1234", "2023-01-01", "9.5", "hi", "ab-1", "x"], "${CHARDIGIT}"),
        (CN_BILL, ["1234", "2023-01-01", "9.5", "hi", "ab_1", "x" * 21], "${1}"),
        (CN_BILL, ["1234", "x" * 21, "9.5", "hi", "ab_1", "x"], "${DATETIME}"),
        (Template("m", "x ${1}", "mainland"), ["ok"], "needs a signature"),
        (Template("long", "x" * 490 + "${TXT_20}"), ["y" * 20], "limit is 500"),
    ],
)
def test_validate_params_names_the_violation(template: Template, params: list, fragment: str) -> None:
    problems = validate_params(template, params)
    assert any(fragment in p for p in problems), problems


def test_valid_params_have_no_problems() -> None:
    assert validate_params(VERIFY, ["002569"]) == []
    assert validate_params(PARCEL, ["Ann", "2023/3/30", "10:30"]) == []
    assert validate_params(CN_BILL, ["+86-1234", "2023-01-01 10:00", "12.50", "张三", "ab_1", "x"]) == []
    assert validate_params(Template("m", "x ${1}", "mainland"), ["ok"], signature="签名") == []


def test_signature_counts_towards_500_chars() -> None:
    t = Template("m", "x" * 480 + "${1}", "mainland", signature="s" * 10)
    assert validate_params(t, ["y" * 6]) == []  # 480 + 6 + 12
    assert validate_params(t, ["y" * 9])  # 480 + 9 + 12 = 501


def test_render_both_regions() -> None:
    assert render(PARCEL, ["Ann", "2023/3/30", "10:30"]) == "Hi Ann, parcel on 2023/3/30 at 10:30."
    m = Template("m", "验证码${1}", "mainland", "verification", "smskit测试")
    assert render(m, ["002569"]) == "【smskit测试】验证码002569"
    assert render(m, ["1"], signature="其他") == "【其他】验证码1"
    with pytest.raises(DataValidationError, match="variable"):
        render(PARCEL, ["Ann"])


def test_render_series_matches_render_and_keeps_index() -> None:
    params = pd.DataFrame({"a": ["Ann", "Bo"], "b": ["2023/3/30", "1/1"], "c": ["10:30", "9:00"]}, index=["x", "y"])
    out = render_series(PARCEL, params)
    assert list(out.index) == ["x", "y"]
    assert list(out) == [render(PARCEL, list(r)) for r in params.itertuples(index=False)]


def test_encoding_and_ucs2_chars() -> None:
    assert encoding_of("Hello {world} €") == "GSM-7"
    assert encoding_of("Çıkmak için") == "UCS-2"
    assert ucs2_chars("Çıkmak için şimdi") == ["ı", "ç", "ş"]
    assert ucs2_chars("plain") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension chars count double: 160 septets
        ("€" * 81, 2),
        ("ş" * 70, 1),
        ("ş" * 71, 2),
        ("ş" * 134, 2),
        ("ş" * 135, 3),
        ("中" * 70, 1),
        ("😀" * 35, 1),  # astral chars are two UTF-16 units
        ("😀" * 36, 2),
    ],
)
def test_segment_counts(text: str, expected: int) -> None:
    assert segments(text) == expected
    assert segments_series(pd.Series([text])).iloc[0] == expected


gsm_text = st.text(alphabet=GSM7_BASIC + GSM7_EXTENSION, max_size=400)
any_text = st.text(max_size=300)


@given(gsm_text)
def test_gsm_text_is_gsm7(text: str) -> None:
    assert encoding_of(text) == "GSM-7"
    assert ucs2_chars(text) == []
    assert text_length(text) == len(text) + sum(c in GSM7_EXTENSION for c in text)


@given(any_text)
def test_ucs2_chars_explain_the_encoding(text: str) -> None:
    bad = ucs2_chars(text)
    assert (encoding_of(text) == "UCS-2") == bool(bad)
    assert encoding_of("".join(c for c in text if c not in bad)) == "GSM-7"


@settings(max_examples=50)
@given(st.lists(any_text, max_size=20))
def test_vectorized_encoding_and_segments_match_scalar(texts: list[str]) -> None:
    s = pd.Series(texts, dtype=object, index=range(100, 100 + len(texts)))
    enc = encoding_series(s)
    segs = segments_series(s)
    assert list(enc.index) == list(s.index) == list(segs.index)
    assert [str(e) for e in enc] == [encoding_of(t) for t in texts]
    assert list(segs) == [segments(t) for t in texts]


param_values = st.one_of(
    st.text(max_size=25),
    st.from_regex(r"[0-9+\-.]{0,16}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_]{0,21}", fullmatch=True),
)


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(param_values, param_values, param_values, param_values, param_values, param_values),
        max_size=15,
    )
)
def test_vectorized_validation_agrees_with_scalar(rows: list[tuple[str, ...]]) -> None:
    frame = pd.DataFrame(rows, columns=list("abcdef"), dtype=object)
    for template, cols in ((CN_BILL, "abcdef"), (VERIFY, "a"), (PARCEL, "abc")):
        mask = invalid_params_mask(template, frame[list(cols)])
        expected = [bool(validate_params(template, list(r))) for r in frame[list(cols)].itertuples(index=False)]
        assert list(mask) == expected


def test_render_series_without_variables_keeps_braces_literal() -> None:
    plain = Template("t-plain", "No {vars} here, 100% {{sure}}", "international", "notification")
    out = render_series(plain, pd.DataFrame(index=["a", "b"]))
    assert list(out) == ["No {vars} here, 100% {{sure}}"] * 2
    braces = Template("t-braces", "{x} ${TXT_9} {y}", "international", "notification")
    out = render_series(braces, pd.DataFrame({"p": ["{0}", "a}b{"]}))
    assert list(out) == ["{x} {0} {y}", "{x} a}b{ {y}"]


part_text = st.one_of(gsm_text, any_text, st.text(alphabet="a€[😀中", max_size=40))


@settings(max_examples=80)
@given(st.lists(part_text, min_size=1, max_size=5))
def test_message_units_add_up_over_its_parts(parts: list[str]) -> None:
    """What the planner relies on: a message's encoding and segments from its parts' statistics."""
    from smskit.templates.encoding import segments_from_stats, text_stats

    gsm, chars, ext, astral = text_stats(parts)
    whole = "".join(parts)
    all_gsm = bool(gsm.all())
    assert ("GSM-7" if all_gsm else "UCS-2") == encoding_of(whole)
    length = int(chars.sum() + (ext.sum() if all_gsm else astral.sum()))
    assert length == text_length(whole)
    summed = [np.array([x.sum()]) for x in (chars, ext, astral)]
    assert segments_from_stats([whole], np.array([all_gsm]), *summed)[0] == segments(whole)


def test_deeply_nested_template_json_is_named(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(DataValidationError, match="nested too deeply"):
        load_templates(path)


# -- segments at boundaries (issue 11, item 6) --------------------------------------------------------


def _reference_segments(text: str) -> int:
    """A straightforward splitter: fill segments in order; a two-unit character never straddles two."""
    gsm = all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)
    units = [2 if (c in GSM7_EXTENSION if gsm else ord(c) > 0xFFFF) else 1 for c in text]
    single, per_segment = (160, 153) if gsm else (70, 67)
    if sum(units) <= single:
        return 1
    segments_, fill = [[]], 0
    for u in units:
        if fill + u > per_segment:
            segments_.append([])
            fill = 0
        segments_[-1].append(u)
        fill += u
    assert all(sum(s) <= per_segment for s in segments_)
    return len(segments_)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 152 + "€" + "a" * 152, 3),  # the case: € cannot be split over segments 1 and 2
        ("a" * 153 + "€" + "a" * 151, 2),
        ("€" * 80 + "a", 2),
        ("中" * 66 + "😀" + "中" * 66, 3),  # a surrogate pair cannot straddle either
        ("中" * 65 + "😀" + "中" * 66, 2),
        ("😀" * 35 + "a", 2),
    ],
)
def test_two_unit_characters_are_never_split(text: str, expected: int) -> None:
    assert _reference_segments(text) == expected
    assert segments(text) == expected
    assert segments_series(pd.Series([text, "x"])).tolist() == [expected, 1]


boundary_text = st.builds(
    lambda a, b, c: a + b + c,
    st.text(alphabet="ab€[", min_size=140, max_size=170),
    st.text(alphabet="a€^😀中", max_size=20),
    st.text(alphabet="ab€中😀", max_size=200),
)


@settings(max_examples=300)
@given(st.lists(st.one_of(boundary_text, gsm_text, any_text), min_size=1, max_size=8))
def test_segments_match_a_reference_splitter(texts: list[str]) -> None:
    expected = [_reference_segments(t) for t in texts]
    assert [segments(t) for t in texts] == expected
    assert segments_series(pd.Series(texts, dtype=object)).tolist() == expected


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.text(alphabet="ab€[", min_size=0, max_size=160), st.text(alphabet="a€😀中", max_size=20)),
        min_size=1,
        max_size=10,
    )
)
def test_planner_and_emulator_count_segments_like_the_reference(rows: list[tuple[str, str]]) -> None:
    from smskit.campaign.plan import plan_campaign
    from smskit.emulator import logic

    template = Template("seg", "${TXT_20}" + "x" * 140 + "${TXT_20}€", "international", "marketing")
    catalog = TemplateCatalog([template])
    values = [(a[:20] or ".", b or ".") for a, b in rows]
    frame = pd.DataFrame(values, columns=["a", "b"]).assign(
        phone=[f"+49151{10_000_000 + i:08d}" for i in range(len(values))]
    )
    rec = plan_campaign(frame, template_id="seg", params=["a", "b"], templates=catalog).recipients
    expected = [_reference_segments(render(template, list(v))) for v in values]
    assert rec["segments"].tolist() == expected
    item = logic.Item(("+8615512345678",), "seg", values[0])
    decision = logic.decide(logic.SendRequest("batchSendDiffSms", "isms1", (item,)), templates=catalog)[0]
    assert decision.segments == expected[0]
