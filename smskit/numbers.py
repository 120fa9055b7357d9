"""Vectorized phone-number normalization to E.164 with ``phonenumbers``.

``normalize_numbers`` cleans the column with pandas string ops, works on each *distinct* value once,
and validates already-E.164 strings without a per-number ``phonenumbers.parse``: it compiles
phonenumbers' own metadata (general description, number types, possible lengths, region leading
digits) into one regular expression per region, which reproduces ``is_valid_number`` for those
strings. Anything else (national numbers, numbers a national prefix could be stripped from,
non-geographic codes) and every number the fast path rejects goes through ``phonenumbers`` itself,
so the verdicts and problem messages are phonenumbers'.

Spreadsheet artefacts are refused, never guessed at (not even with ``default_region``): a phone that a
spreadsheet stored as a number (a ``float``, text like ``4915112345678.0``, or a value
:func:`smskit.read_recipients` recorded as a numeric XLSX cell) has lost its ``+`` or its leading
``0`` — whether it was ``+4915112345678`` or a national ``04915112345678`` cannot be told, and an SMS
to the wrong person is worse than none. Scientific notation (``4.91511e+12``) has lost digits as
well. Each gets a ``problem`` that says to format the phone column as text.

``time_zone_sets`` gives each number's time zones as ``phonenumbers.timezone.time_zones_for_number``
does, without parsing each number: 192 of the 215 country codes map to one zone set whatever the
number, and for the other 23 the number's type (geographic or not) is decided with the same compiled
metadata as the fast path, then the longest prefix in phonenumbers' time-zone table wins.
"""

from __future__ import annotations

import itertools
import operator
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat, PhoneNumberType
from phonenumbers import timezone as pn_timezone
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE, ValidationResult
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

__all__ = [
    "NUMERIC_CELL",
    "REGIONS",
    "UNKNOWN_TIME_ZONE",
    "check_region",
    "country_of",
    "normalize_codes",
    "normalize_numbers",
    "normalize_one",
    "time_zone_sets",
]

REGION_CODE_FOR_NON_GEO_ENTITY = "001"

_E164_SHAPE = r"\+[1-9]\d{6,14}"
_SEPARATORS = r"[\s\-().\u00a0\u2010-\u2015/]"
_FLOAT_TEXT = r"\+?\d+\.0+"
_SCIENTIFIC = r"^[+-]?\d(?:[.,]\d+)?[eE][+-]?\d+$"
_LETTERS = r"[A-Za-z]"

_TYPE_DESCS = (  # any match means valid, so the common types go first
    "mobile",
    "fixed_line",
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)


#: The region codes phonenumbers knows (ISO 3166-1 alpha-2, plus a few such as ``AC``), sorted.
REGIONS: tuple[str, ...] = tuple(sorted(phonenumbers.SUPPORTED_REGIONS))
#: Names people write for a region that are not its ISO code → the code.
_REGION_ALIASES = {"UK": "GB", "EL": "GR"}


def check_region(region: str, *, name: str = "default_region") -> str:
    """``region`` upper-cased, when it is a region code of :data:`REGIONS` (``"gb"`` → ``"GB"``).

    Anything else raises ``DataValidationError`` naming the value, a hint when it is a known alias
    (``UK`` is ``GB``) and the valid codes; ``name`` is the option the value came from.
    """
    from smskit.errors import DataValidationError

    code = str(region).strip().upper()
    if code in REGIONS:
        return code
    hint = f"; did you mean {_REGION_ALIASES[code]}?" if code in _REGION_ALIASES else ""
    raise DataValidationError(
        f"{name} {region!r} is not a region code{hint}",
        advice=f"use a two-letter ISO 3166 region code, one of: {', '.join(REGIONS)}",
    )


# ------------------------------------------------------------------------------------------- one number


@lru_cache(maxsize=200_000)
def normalize_one(text: str, default_region: str | None = None) -> tuple[str | None, str, str]:
    """``(e164 or None, region, problem)`` for one cleaned string, by ``phonenumbers`` (cached)."""
    try:
        number = phonenumbers.parse(text, default_region)
    except NumberParseException as exc:
        return None, "", _parse_problem(exc, text, default_region)
    region = _region_of(number) or ""
    if not phonenumbers.is_valid_number(number):
        reason = phonenumbers.is_possible_number_with_reason(number)
        where = f" for {region}" if region else f" for country code +{number.country_code}"
        wrong_length = (
            ValidationResult.TOO_SHORT,
            ValidationResult.TOO_LONG,
            ValidationResult.INVALID_LENGTH,
            ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
        )
        if reason in wrong_length:
            length = len(phonenumbers.national_significant_number(number))
            return None, region, f"wrong length{where} ({length} digits after the country code)"
        return None, region, f"not a valid number{where} (no such number range)"
    return phonenumbers.format_number(number, PhoneNumberFormat.E164), region, ""


def _region_of(number: phonenumbers.PhoneNumber) -> str | None:
    """The ISO region phonenumbers assigns a parsed number; None for non-geographic or unknown ones."""
    region = phonenumbers.region_code_for_number(number)
    return None if region in (None, "", "ZZ", REGION_CODE_FOR_NON_GEO_ENTITY) else region


@lru_cache(maxsize=65536)
def _region_one(text: str) -> str | None:
    """:func:`country_of` for one string, by phonenumbers (digits without ``+`` are read as E.164)."""
    digits_only = text.isascii() and text.isdigit()
    try:
        number = phonenumbers.parse("+" + text if digits_only else text, None)
    except NumberParseException:
        return None
    return _region_of(number)


def _parse_problem(exc: NumberParseException, text: str, default_region: str | None) -> str:
    kind = exc.error_type
    if kind == NumberParseException.INVALID_COUNTRY_CODE:
        if text.startswith("+"):
            return "unknown country code"
        if default_region is None:
            return "no country code: write it as +<country code><number> or pass default_region="
        return f"not a number of {default_region} and no +country code"
    if kind in (NumberParseException.TOO_SHORT_NSN, NumberParseException.TOO_SHORT_AFTER_IDD):
        return "too short"
    if kind == NumberParseException.TOO_LONG:
        return "too long"
    return "not a phone number"


# ------------------------------------------------------------------------------------------- fast path


@dataclass(frozen=True)
class _CodeRules:
    """Compiled validation of one country calling code's national significant numbers."""

    regions: tuple[tuple[str, str | None, str], ...]  # (region, leading_digits, validity regex)
    national_prefix: str | None  # phonenumbers may strip this from +numbers: leave those to it


def _desc_regex(desc: object, *, general_lengths: tuple[int, ...] = ()) -> str | None:
    pattern = getattr(desc, "national_number_pattern", None)
    if not pattern:
        return None
    lengths = tuple(n for n in getattr(desc, "possible_length", ()) or () if n > 0)
    length_re = "|".join(rf"\d{{{n}}}" for n in lengths or general_lengths)
    guard = rf"(?=(?:{length_re})\Z)" if length_re else ""
    return rf"{guard}(?:{pattern})\Z"


def _validity_regex(metadata: PhoneMetadata) -> str | None:
    """A regex whose full match on an NSN means ``_number_type_helper(nsn, metadata) != UNKNOWN``."""
    general = _desc_regex(metadata.general_desc)
    if general is None:
        return None
    branches = [r for name in _TYPE_DESCS if (r := _desc_regex(getattr(metadata, name, None))) is not None]
    if not branches:
        return None
    return rf"(?={general})(?:{'|'.join(branches)})"


@lru_cache(maxsize=512)
def _code_rules(cc: int) -> _CodeRules | None:
    regions = COUNTRY_CODE_TO_REGION_CODE.get(cc, ())
    if not regions or REGION_CODE_FOR_NON_GEO_ENTITY in regions:
        return None
    compiled = []
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region, None)
        if metadata is None:
            continue
        validity = _validity_regex(metadata)
        if validity is None:
            return None
        compiled.append((region, metadata.leading_digits, validity))
    return _CodeRules(tuple(compiled), _national_prefix(cc))


@lru_cache(maxsize=512)
def _national_prefix(cc: int) -> str | None:
    """The national prefix phonenumbers may strip from a ``+cc`` number (its main region's), if any."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(cc, ())
    main = PhoneMetadata.metadata_for_region(regions[0], None) if regions else None
    return getattr(main, "national_prefix_for_parsing", None) or None


def _matches(pattern: str | re.Pattern[str], values: list[str], *, full: bool = True) -> np.ndarray:
    """``bool`` array: does ``pattern`` (full-)match each string; C-level iteration, no per-row bytecode."""
    compiled = re.compile(pattern) if isinstance(pattern, str) else pattern
    method = compiled.fullmatch if full else compiled.match
    return np.fromiter(map(bool, map(method, values)), dtype=bool, count=len(values))


def _country_codes(numbers: list[str] | np.ndarray) -> np.ndarray:
    """The country calling code of each ``+``-prefixed string (0 where no assigned code starts it)."""
    head = np.array(numbers, dtype="U4").view(np.uint32).reshape(len(numbers), 4)[:, 1:].astype(np.int64) - 48
    digit = (head >= 0) & (head <= 9)
    head[~digit] = 0
    known = np.zeros(1000, dtype=bool)
    known[list(COUNTRY_CODE_TO_REGION_CODE)] = True
    one = np.where(digit[:, 0], head[:, 0], 0)
    two = np.where(digit[:, 0] & digit[:, 1], head[:, 0] * 10 + head[:, 1], 0)
    three = np.where(digit.all(axis=1), two * 10 + head[:, 2], 0)
    return np.where(known[one], one, np.where(known[two], two, np.where(known[three], three, 0)))


def _claims(rules: _CodeRules, nsn: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per national significant number of one calling code: (region, valid for it).

    Regions are tried in phonenumbers' order: one with leading digits claims the numbers those
    match, one without claims the numbers valid for it (``region_code_for_number``'s rule).
    """
    nsn_arr = np.array(nsn, dtype=object)
    assigned = np.full(len(nsn), "", dtype=object)
    ok = np.zeros(len(nsn), dtype=bool)
    todo = np.arange(len(nsn))
    for reg, leading, validity in rules.regions:
        if not len(todo):
            break
        sub = nsn if len(todo) == len(nsn) else nsn_arr[todo].tolist()
        fits = _matches(validity, sub)
        claims = _matches(leading, sub, full=False) if leading else fits
        where = todo[claims]
        assigned[where] = reg
        ok[where] = fits[claims]
        todo = todo[~claims]
    return assigned, ok


def _fast_e164(numbers: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """For E.164-shaped strings: (valid, region) arrays; the ones not found valid go to phonenumbers."""
    n = len(numbers)
    valid = np.zeros(n, dtype=bool)
    region = np.full(n, "", dtype=object)
    if n == 0:
        return valid, region
    cc = _country_codes(numbers)
    values = np.array(numbers, dtype=object)
    for code in np.unique(cc[cc > 0]).tolist():
        rules = _code_rules(code)
        if rules is None:
            continue
        pos = np.flatnonzero(cc == code)
        nsn = list(map(operator.itemgetter(slice(1 + len(str(code)), None)), values[pos].tolist()))
        free = np.ones(len(pos), dtype=bool)
        if rules.national_prefix:
            free &= ~_matches(rules.national_prefix, nsn, full=False)
        assigned, ok = _claims(rules, nsn)
        valid[pos] = free & ok
        region[pos] = assigned
    return valid, region


# ------------------------------------------------------------------------------------------- country


_DIGITS = re.compile(r"\+?[1-9][0-9]{2,19}")
_MIN_NSN, _MAX_NSN = 2, 17  # phonenumbers refuses national significant numbers outside these lengths


def country_of(numbers: pd.Series | np.ndarray | Sequence[Any]) -> np.ndarray:
    """ISO region (``"CN"``) of each E.164 number, ``None`` where there is none; object array.

    The one definition of "the country of a number" in smskit (analytics, the emulator's ``countryId``
    and the normalizer's ``region`` use it): phonenumbers' ``region_code_for_number`` of the parsed
    number. Digits without ``+`` are read as E.164; non-geographic codes (+800…), unknown codes and
    text phonenumbers cannot parse give ``None``. Each distinct value is worked out once: a calling
    code of one region names it directly, shared codes (+1, +7, +44…) use phonenumbers' compiled
    metadata, and anything else is parsed by phonenumbers itself.
    """
    values = numbers.to_numpy(dtype=object) if isinstance(numbers, pd.Series) else np.asarray(numbers, dtype=object)
    codes, uniques = pd.factorize(values.reshape(-1), use_na_sentinel=True)
    regions = np.append(_regions(np.asarray(uniques, dtype=object)), np.array([None], dtype=object))
    return regions[np.where(codes < 0, len(regions) - 1, codes)]


def _regions(values: np.ndarray) -> np.ndarray:
    """:func:`country_of` of distinct values."""
    out = np.full(len(values), None, dtype=object)
    text = [v.strip() if isinstance(v, str) else "" for v in values.tolist()]
    shaped = np.flatnonzero(_matches(_DIGITS, text))
    rest = np.setdiff1d(np.flatnonzero([bool(t) for t in text]), shaped, assume_unique=True)
    plus = ["+" + text[i].lstrip("+") for i in shaped.tolist()]
    cc = _country_codes(plus) if plus else np.empty(0, dtype=np.int64)
    slow = [shaped[cc == 0]]
    for code in np.unique(cc[cc > 0]).tolist():
        at = np.flatnonzero(cc == code)
        nsn = [plus[i][1 + len(str(code)) :] for i in at.tolist()]
        length = np.fromiter(map(len, nsn), dtype=np.int64, count=len(nsn))
        free = (length >= _MIN_NSN) & (length <= _MAX_NSN)
        if (prefix := _national_prefix(code)) is not None:
            free &= ~_matches(prefix, nsn, full=False)
        regions = COUNTRY_CODE_TO_REGION_CODE[code]
        rules = None if len(regions) == 1 else _code_rules(code)
        if len(regions) == 1 and regions[0] != REGION_CODE_FOR_NON_GEO_ENTITY:
            out[shaped[at[free]]] = regions[0]
        elif rules is not None:
            taken = np.flatnonzero(free)
            assigned, _ = _claims(rules, [nsn[i] for i in taken.tolist()])
            assigned[assigned == ""] = None
            out[shaped[at[taken]]] = assigned
        else:
            free[:] = False
        slow.append(shaped[at[~free]])
    for i in np.concatenate([rest, *slow]).tolist():
        out[i] = _region_one(text[i])
    return out


# ------------------------------------------------------------------------------------------- frames


_EXCEL = "stored as a number by Excel ('.0'; its '+' or leading 0 is lost): format the phone column as text"
#: The problem of a phone cell a spreadsheet stored as a number.
NUMERIC_CELL = "stored as a number: its + or leading 0 is lost; format the phone column as text and retype it"
_MISSING = "missing phone number"
_SCIENCE = "stored in scientific notation (digits are lost): format the phone column as text"


def _clean(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct raw values → (cleaned text, problem ("" where none), E.164-shaped mask)."""
    n = len(values)
    floats = np.fromiter(map(isinstance, values, itertools.repeat(float)), dtype=bool, count=n)
    if not np.fromiter(map(isinstance, values, itertools.repeat(str)), dtype=bool, count=n).all():
        values = pd.Series(values, dtype=object).astype(str).to_numpy(dtype=object)
    stripped = list(map(str.strip, values.tolist()))
    text = np.empty(n, dtype=object)
    text[:] = stripped
    shaped = _matches(_E164_SHAPE, stripped) & ~floats
    problem = np.full(n, "", dtype=object)
    if shaped.all():  # the common case: a column of E.164 numbers needs no cleaning
        return text, problem, shaped
    rest = pd.Series(text[~shaped], dtype=object)
    bad = np.full(len(rest), "", dtype=object)
    bad[rest.str.contains(_LETTERS).to_numpy(dtype=bool)] = "contains letters"
    bad[floats[~shaped] | rest.str.fullmatch(_FLOAT_TEXT).to_numpy(dtype=bool)] = _EXCEL
    bad[rest.str.fullmatch(_SCIENTIFIC).to_numpy(dtype=bool)] = _SCIENCE
    bad[(rest == "").to_numpy()] = _MISSING
    problem[~shaped] = bad
    cleaned = rest.str.replace(_SEPARATORS, "", regex=True)
    text[~shaped] = cleaned.to_numpy(dtype=object)
    shaped[~shaped] = (bad == "") & cleaned.str.fullmatch(_E164_SHAPE).to_numpy(dtype=bool)
    return text, problem, shaped


def normalize_codes(
    series: pd.Series, *, default_region: str | None = None, numeric: Collection[str] = ()
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(codes, e164, region, problem)``: each distinct value normalized once; ``e164[codes]`` per row.

    The value arrays have one slot per distinct value plus a last one for NA ("missing phone number").
    ``numeric`` holds values known to come from cells a spreadsheet stored as numbers: refused with
    :data:`NUMERIC_CELL`.
    """
    region_arg = default_region.upper() if default_region else None
    codes, uniques = pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=True)
    m = len(uniques)
    codes[codes < 0] = m
    text, problem, shaped = _clean(np.asarray(uniques, dtype=object))
    e164 = np.full(m + 1, None, dtype=object)
    region = np.full(m + 1, "", dtype=object)
    problem = np.append(problem, _MISSING)

    if numeric:
        stored = np.fromiter((str(u).strip() in numeric for u in uniques.tolist()), dtype=bool, count=m)
        problem[:-1][stored] = NUMERIC_CELL
        shaped &= ~stored
    todo = problem[:-1] == ""
    if shaped.any():
        where = np.flatnonzero(shaped)
        valid, reg = _fast_e164(text[where].tolist())
        e164[where[valid]] = text[where[valid]]
        region[where] = reg
        todo[where[valid]] = False
    for i in np.flatnonzero(todo).tolist():
        e164[i], region[i], problem[i] = normalize_one(text[i], region_arg)
    return codes, e164, region, problem


def normalize_numbers(series: pd.Series, *, default_region: str | None = None) -> pd.DataFrame:
    """Normalize a column of phone numbers to E.164.

    Parameters
    ----------
    series
        Phone numbers as text (other values are converted with ``str``; NA is "missing").
    default_region
        ISO region (``"DE"``) for numbers written without ``+country code``.

    Returns
    -------
    DataFrame on ``series``' index: ``e164`` (str, NA when unusable), ``region`` (ISO code or ""),
    ``problem`` ("" when the number is valid).
    """
    codes, e164, region, problem = normalize_codes(series, default_region=default_region)
    return pd.DataFrame(
        {
            "e164": pd.Series(e164[codes], index=series.index, dtype="str"),
            "region": pd.Series(region[codes], index=series.index, dtype="str"),
            "problem": pd.Series(problem[codes], index=series.index, dtype="str"),
        },
        index=series.index,
    )


# ------------------------------------------------------------------------------------------- time zones

#: What phonenumbers answers for a number it cannot place.
UNKNOWN_TIME_ZONE = "Etc/Unknown"
_UNKNOWN_ZONES: tuple[str, ...] = (UNKNOWN_TIME_ZONE,)
_NON_GEO_DESCS = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail")


def _longest_prefix(digits: str) -> tuple[str, ...]:
    """The zones of the longest prefix of ``digits`` in phonenumbers' table (its own lookup rule)."""
    for n in range(min(TIMEZONE_LONGEST_PREFIX, len(digits)), 0, -1):
        if (zones := TIMEZONE_DATA.get(digits[:n])) is not None:
            return tuple(zones)
    return _UNKNOWN_ZONES


@lru_cache(maxsize=512)
def _zones_by_code(cc: int) -> tuple[str, ...] | None:
    """The zone set of every number of country code ``cc`` when it does not depend on the number, else None."""
    prefix = str(cc)
    sets = {tuple(z) for k, z in TIMEZONE_DATA.items() if k.startswith(prefix)}
    country = _longest_prefix(prefix)
    return country if sets <= {country} else None


@lru_cache(maxsize=512)
def _geo_regex(region: str, cc: int) -> re.Pattern[str] | None:
    """For a *valid* E.164 number of ``region``: full match ⇔ phonenumbers calls its type geographical.

    phonenumbers tries the non-geographic types (premium rate … voicemail) first, then fixed line,
    then mobile. A valid number matching none of the former is fixed line or mobile, so it is
    geographic unless it is mobile only (fixed line does not match) where mobiles are not. None
    means no number of the region is geographic.
    """
    metadata = PhoneMetadata.metadata_for_region(region, None)
    if metadata is None or (fixed := _desc_regex(metadata.fixed_line)) is None:
        mobile_geo = metadata is not None and phonenumbers.is_number_type_geographical(PhoneNumberType.MOBILE, cc)
        if not mobile_geo or metadata is None or _desc_regex(metadata.mobile) is None:
            return None
        fixed = None
    excluded = "".join(f"(?!{r})" for name in _NON_GEO_DESCS if (r := _desc_regex(getattr(metadata, name, None))))
    always = phonenumbers.is_number_type_geographical(PhoneNumberType.MOBILE, cc) or bool(
        metadata.same_mobile_and_fixed_line_pattern
    )
    national = excluded + r"\d*" if always or fixed is None else f"{excluded}(?:{fixed})"
    return re.compile(rf"\+{cc}{national}")  # on the whole E.164 string: no slicing per number


class _ZoneSets:
    """Distinct zone sets, numbered in order of first use."""

    def __init__(self) -> None:
        self.sets: list[tuple[str, ...]] = []
        self._ids: dict[tuple[str, ...], int] = {}

    def id(self, zones: tuple[str, ...]) -> int:
        if (found := self._ids.get(zones)) is None:
            found = self._ids[zones] = len(self.sets)
            self.sets.append(zones)
        return found


def _zones_one(number: str) -> tuple[str, ...]:
    try:
        return tuple(pn_timezone.time_zones_for_number(phonenumbers.parse(number, None)))
    except NumberParseException:
        return _UNKNOWN_ZONES


@lru_cache(maxsize=64)
def _cc_prefixes(cc: int) -> tuple[tuple[int, np.ndarray, tuple[tuple[str, ...], ...]], ...]:
    """phonenumbers' time-zone prefixes of one country code, longest first: (length, sorted "+prefix"
    strings, their zone sets). Country codes are prefix-free, so no other code's prefix can match."""
    by_len: dict[int, list[tuple[str, tuple[str, ...]]]] = {}
    for key, zones in TIMEZONE_DATA.items():
        if key.startswith(str(cc)):
            by_len.setdefault(len(key), []).append(("+" + key, tuple(zones)))
    out = []
    for n in sorted(by_len, reverse=True):
        pairs = sorted(by_len[n])
        out.append((n, np.array([p for p, _ in pairs]), tuple(z for _, z in pairs)))
    return tuple(out)


def _prefix_ids(numbers: np.ndarray, cc: int, sets: _ZoneSets) -> np.ndarray:
    """Zone-set id of the longest time-zone prefix of each number (an object array of one country code)."""
    out = np.full(len(numbers), -1, dtype=np.int64)
    prefixes = _cc_prefixes(cc)
    text = np.array(numbers, dtype=f"U{prefixes[0][0] + 1}")  # converted once; shorter heads are cut from it
    for n, keys, zones in prefixes:
        todo = np.flatnonzero(out < 0)
        if not len(todo):
            break
        heads = text[todo].astype(f"U{n + 1}")  # "+" and the first n digits
        at = np.minimum(np.searchsorted(keys, heads), len(keys) - 1)
        hit = keys[at] == heads
        ids = np.array([sets.id(z) for z in zones], dtype=np.int64)
        out[todo[hit]] = ids[at[hit]]
    out[out < 0] = sets.id(_UNKNOWN_ZONES)
    return out


def _varying_ids(numbers: np.ndarray, cc: int, regions: np.ndarray | None, sets: _ZoneSets) -> np.ndarray:
    """Zone-set ids of the numbers (an object array) of a country code whose zones depend on the number.

    A geographic number gets its longest prefix's zones, any other its country's; the type is only
    worked out where those two differ.
    """
    country = sets.id(_longest_prefix(str(cc)))
    by_prefix = _prefix_ids(numbers, cc, sets)
    out = np.full(len(numbers), country, dtype=np.int64)
    todo = np.flatnonzero(by_prefix != country)
    if not len(todo):
        return out
    sub = numbers[todo]
    if regions is None:
        valid, region = _fast_e164(sub.tolist())
    else:
        region = regions[todo]
        valid = region != ""
    for reg in pd.unique(region[valid]).tolist():
        pos = np.flatnonzero(valid & (region == reg))
        if (pattern := _geo_regex(reg, cc)) is None:
            continue
        geo = todo[pos[_matches(pattern, sub[pos].tolist())]]
        out[geo] = by_prefix[geo]
    for i in todo[~valid].tolist():  # not valid by the fast path: phonenumbers decides
        out[i] = sets.id(_zones_one(numbers[i]))
    return out


def time_zone_sets(
    numbers: pd.Series | np.ndarray,
    *,
    regions: pd.Series | np.ndarray | None = None,
    distinct: bool = False,
) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Each E.164 number's time zones, as ``phonenumbers.timezone.time_zones_for_number`` gives them.

    Returns ``(codes, zone_sets)``: ``zone_sets[codes[i]]`` is row ``i``'s tuple of IANA names
    (``("Etc/Unknown",)`` for a missing or unplaceable number). Numbers are assumed valid (as a plan's
    are). Work is per distinct number (``distinct=True`` says they already are), and only for the 23
    country codes whose zones vary by number (+1, +7, +44, +61, …); the others are looked up once per
    country code. ``regions`` (the plan's ``region`` column, "" for invalid numbers) saves working out
    the region of numbers whose type decides their zones.
    """
    values = numbers.to_numpy(dtype=object) if isinstance(numbers, pd.Series) else np.asarray(numbers, dtype=object)
    if distinct:
        codes, uniques = np.arange(len(values)), values
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    m = len(uniques)
    sets = _ZoneSets()
    ids = np.full(m + 1, sets.id(_UNKNOWN_ZONES), dtype=np.int64)  # the last slot is NA
    uniques = np.asarray(uniques, dtype=object)
    region_of = None
    if regions is not None:
        reg = regions.to_numpy(dtype=object) if isinstance(regions, pd.Series) else np.asarray(regions, dtype=object)
        first = np.zeros(m, dtype=np.int64)
        seen = codes >= 0
        first[codes[seen]] = np.flatnonzero(seen)
        region_of = reg[first]
        if (missing := pd.isna(region_of)).any():
            region_of[missing] = ""
    present = ~pd.isna(uniques) if m else np.zeros(0, dtype=bool)
    head = np.array(uniques if present.all() else np.where(present, uniques, ""), dtype="U4")
    plus = head.view(np.uint32).reshape(m, 4)[:, 0] == ord("+") if m else np.zeros(0, dtype=bool)
    cc = np.zeros(m, dtype=np.int64)
    if plus.any():
        cc[plus] = _country_codes(head[plus])
    for code in np.unique(cc[cc > 0]).tolist():
        pos = np.flatnonzero(cc == code)
        fixed = _zones_by_code(code)
        if fixed is not None:
            ids[pos] = sets.id(fixed)
        else:
            sub_regions = region_of[pos] if region_of is not None else None
            ids[pos] = _varying_ids(uniques[pos], code, sub_regions, sets)
    for i in np.flatnonzero((cc == 0) & present).tolist():  # not +-prefixed, or no assigned country code
        ids[i] = sets.id(_zones_one(str(uniques[i])))
    return ids[np.where(codes < 0, m, codes)], sets.sets
