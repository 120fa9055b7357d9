"""Phone-number normalization: E.164 fast path agrees with phonenumbers; artefacts are explained."""

from __future__ import annotations

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import timezone as pn_timezone

from smskit.numbers import UNKNOWN_TIME_ZONE, normalize_numbers, time_zone_sets

CODES = [1, 7, 20, 33, 39, 44, 49, 52, 54, 55, 61, 65, 81, 86, 91, 234, 353, 800, 971, 979, 998]


def _reference(raw: str, region: str | None = None) -> str | None:
    """What a per-row phonenumbers loop says: E.164 when valid, else None."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def test_columns_dtypes_and_index() -> None:
    s = pd.Series(["+4915112345678", "+447911123456", "+8613812345678"], index=["a", "b", "c"])
    out = normalize_numbers(s)
    assert list(out.columns) == ["e164", "region", "problem"]
    assert list(out.index) == ["a", "b", "c"]
    assert all(str(t) == "str" for t in out.dtypes)
    assert list(out["region"]) == ["DE", "GG", "CN"]
    assert list(out["problem"]) == ["", "", ""]


def test_input_is_not_mutated() -> None:
    s = pd.Series([" +49 151 1234 5678 ", None, "x"])
    before = s.copy()
    normalize_numbers(s)
    pd.testing.assert_series_equal(s, before)


def test_separators_and_national_numbers_with_default_region() -> None:
    s = pd.Series(["+49 (0)151 1234-5678", "015112345678", "0049 151 12345678", "07400 123456"])
    without = normalize_numbers(s)
    assert without["e164"].iloc[0] == "+4915112345678"
    assert without["e164"].iloc[1:].isna().all()
    assert without["problem"].iloc[1].startswith("no country code")
    de = normalize_numbers(s, default_region="de")
    assert list(de["e164"].iloc[:3]) == ["+4915112345678"] * 3
    gb = normalize_numbers(s.iloc[[3]], default_region="GB")
    assert gb["e164"].iloc[0] == "+447400123456"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (4915112345678.0, "Excel"),
        ("4915112345678.0", "Excel"),
        ("4.91511234568E+12", "scientific"),
        (None, "missing"),
        (np.nan, "missing"),
        ("   ", "missing"),
        ("1-800-FLOWERS", "letters"),
        ("+999 1234567", "unknown country code"),
        ("+44 1234", "wrong length"),
        ("+1 555 0100", "wrong length for country code +1"),
        ("+", "not a phone number"),
    ],
)
def test_unusable_numbers_say_why(raw: object, fragment: str) -> None:
    out = normalize_numbers(pd.Series([raw, "+4915112345678"], dtype=object), default_region="DE")
    assert pd.isna(out["e164"].iloc[0])
    assert fragment in out["problem"].iloc[0]
    assert out["e164"].iloc[1] == "+4915112345678"


def test_float_column_from_excel_is_refused_not_guessed() -> None:
    out = normalize_numbers(pd.Series([4915112345678.0, 447911123456.0]), default_region="DE")
    assert out["e164"].isna().all()
    assert out["problem"].str.contains("format the phone column as text").all()


def test_duplicates_get_the_same_answer() -> None:
    s = pd.Series(["+6591234567"] * 5 + ["+65 9123 4567"], index=range(5, 11))
    out = normalize_numbers(s)
    assert (out["e164"] == "+6591234567").all()
    assert list(out.index) == list(range(5, 11))


def test_sample_recipients(data_dir) -> None:
    from smskit.campaign.recipients import read_recipients

    rec = read_recipients(data_dir / "recipients.csv")
    out = normalize_numbers(rec["phone"], default_region="GB")
    assert out["e164"].notna().sum() >= 190
    assert set(out.loc[out["e164"].notna(), "region"]) >= {"GB", "DE", "SG", "CN", "US"}
    assert (out["problem"] != "").sum() == 4


def _e164_like(draw_cc: int, digits: str) -> str:
    return f"+{draw_cc}{digits}"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(CODES), st.text("0123456789", min_size=4, max_size=12)), max_size=40))
def test_fast_path_agrees_with_phonenumbers(rows: list[tuple[int, str]]) -> None:
    raws = [_e164_like(cc, d) for cc, d in rows]
    out = normalize_numbers(pd.Series(raws, dtype=object))
    got = [None if pd.isna(e) else e for e in out["e164"]]
    assert got == [_reference(r) for r in raws]


def test_fast_path_agrees_on_example_numbers_of_every_region() -> None:
    raws = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                raws.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    out = normalize_numbers(pd.Series(raws))
    assert list(out["e164"]) == [_reference(r) for r in raws]
    regions = [phonenumbers.region_code_for_number(phonenumbers.parse(r)) for r in raws]
    assert list(out["region"]) == regions


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.sampled_from(CODES), st.text("0123456789", min_size=4, max_size=12)).map(
                lambda t: f"+{t[0]}{t[1]}"
            ),
            st.text("+0123456789٤٥ -()", min_size=1, max_size=16),
            st.integers(min_value=0, max_value=10**13),
            st.none(),
        ),
        max_size=30,
    )
)
def test_mixed_columns_agree_with_phonenumbers(raws: list[object]) -> None:
    """Whatever mixes of E.164, formatted, non-ASCII-digit, numeric and missing values: same verdicts."""
    out = normalize_numbers(pd.Series(raws, dtype=object), default_region="DE")
    for raw, e164, problem in zip(raws, out["e164"], out["problem"], strict=True):
        if raw is None:
            assert problem == "missing phone number"
            continue
        got = None if pd.isna(e164) else e164
        assert got == _reference(str(raw), "DE")
        assert (problem == "") == (got is not None)


def test_a_column_of_e164_numbers_takes_the_fast_path_with_the_same_answers() -> None:
    clean = ["+4915112345678", "+447911123456", "+8613812345678", "+12125551088", "+6591234567"]
    alone = normalize_numbers(pd.Series(clean))
    mixed = normalize_numbers(pd.Series([*clean, " +49 151 1234 5678 "])).iloc[:5]
    pd.testing.assert_frame_equal(alone, mixed)
    assert list(alone["e164"]) == clean
    assert list(alone["region"]) == ["DE", "GG", "CN", "US", "SG"]


# -- the country of a number: one definition (numbers.country_of) ----------------------------------


def _reference_country(text: str) -> str | None:
    """phonenumbers' region of a number written as E.164 (digits without '+' read as E.164)."""
    raw = text.strip()
    try:
        number = phonenumbers.parse("+" + raw if raw.isascii() and raw.isdigit() else raw, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    return None if region in (None, "ZZ", "001") else region


def _sample_numbers() -> list[str]:
    """Example numbers of every region and type, their near misses, and odd shapes."""
    out = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                out += [e164, e164[:-2], e164 + "99", e164[1:]]
    return [*out, "+80012345678", "+999123", "+65", "+1", "+12", "abc", "", "+33 6 12 34 56 78"]


number_text = st.one_of(
    st.builds(lambda cc, rest: f"+{cc}{rest}", st.sampled_from(CODES), st.text(alphabet="0123456789", max_size=16)),
    st.builds(lambda cc, rest: f"{cc}{rest}", st.sampled_from(CODES), st.text(alphabet="0123456789", max_size=16)),
    st.from_regex(r"\+?[0-9]{0,22}", fullmatch=True),
    st.text(max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(number_text, max_size=30))
def test_country_of_is_phonenumbers_region(texts: list[str]) -> None:
    from smskit.numbers import country_of

    assert country_of(pd.Series(texts, dtype=object)).tolist() == [_reference_country(t) for t in texts]


def test_country_of_every_region_example() -> None:
    from smskit.numbers import country_of

    sample = _sample_numbers()
    assert country_of(sample).tolist() == [_reference_country(t) for t in sample]
    assert country_of(pd.Series(["+8615512345678", None, np.nan], dtype=object)).tolist() == ["CN", None, None]


def test_analytics_emulator_and_normalizer_name_the_same_country() -> None:
    """The three places that need a number's country give the same answer (no second copy to drift)."""
    from smskit.analytics import add_number_info
    from smskit.emulator import Emulator
    from smskit.numbers import country_of

    sample = [t for t in _sample_numbers() if t and len(t) <= 21 and all(c in "+0123456789" for c in t)]
    expected = country_of(sample).tolist()
    info = add_number_info(pd.DataFrame({"to": sample}))
    assert [None if pd.isna(c) else c for c in info["country"]] == expected
    plus = [t for t in sample if t.startswith("+")]
    normalized = normalize_numbers(pd.Series(plus))
    assert [r or None for r in normalized["region"]] == country_of(plus).tolist()
    # the client sends only '+' numbers (issue 10: the guide's global format), so the emulator sees those
    with Emulator(seed=0) as emu, emu.client() as client:
        got = []
        for start in range(0, len(plus), 500):
            chunk = plus[start : start + 500]
            result = client.send(chunk, "any-template", ["1"])
            got += [r["countryId"] or None for r in result.results]
    assert got == country_of(plus).tolist()


def _valid_numbers_of_every_region_and_type() -> list[str]:
    """Oracle data: phonenumbers' example number of every region and type, and valid neighbours."""
    types = [t for t in vars(phonenumbers.PhoneNumberType).values() if isinstance(t, int)]
    out: list[str] = []
    rng = np.random.default_rng(11)
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in types:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            for tail in [e164[-3:], *(f"{x:03d}" for x in rng.integers(0, 1000, 4))]:
                candidate = e164[:-3] + tail
                if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
                    out.append(candidate)
    return out


def test_time_zone_sets_match_phonenumbers_on_every_region_and_type() -> None:
    numbers = _valid_numbers_of_every_region_and_type()
    assert len(numbers) > 5000
    expected = [tuple(pn_timezone.time_zones_for_number(phonenumbers.parse(n))) for n in numbers]
    series = pd.Series(numbers)
    for regions in (None, normalize_numbers(series)["region"]):
        codes, sets = time_zone_sets(series, regions=regions)
        assert [sets[c] for c in codes] == expected


def test_time_zone_sets_of_missing_and_unplaceable_numbers() -> None:
    codes, sets = time_zone_sets(pd.Series(["+8613800138000", None, "garbage", "+999123", "+12125550123"]))
    assert [sets[c] for c in codes] == [
        ("Asia/Shanghai",),
        (UNKNOWN_TIME_ZONE,),
        (UNKNOWN_TIME_ZONE,),
        (UNKNOWN_TIME_ZONE,),
        ("America/New_York",),
    ]


def test_check_region_accepts_codes_and_names_the_alias() -> None:
    from smskit.errors import DataValidationError
    from smskit.numbers import REGIONS, check_region

    assert check_region("gb") == "GB"
    assert "GB" in REGIONS
    with pytest.raises(DataValidationError, match=r"'UK' is not a region code; did you mean GB\?") as caught:
        check_region("UK")
    assert "GB, GD" in caught.value.advice
