"""Contact rules: the platform's sending limits, promotional hours, unsubscribes, frequency caps,
budgets and deadlines — a frozen :class:`ContactPolicy` and pure, vectorized checks over frames.

What the platform says (pages as in the project's reference notes, ``huawei-reference.md`` §5):

* **Number limits** — "Limitations on SMS Sending Frequency"
  (https://support.huaweicloud.com/intl/en-us/productdesc-msgsms/sms_01_0004.html, and the Chinese
  https://support.huaweicloud.com/intl/zh-cn/productdesc-msgsms/sms_01_0004.html of 2023-08-24): for
  Chinese mainland numbers, at most 15 messages per number per minute and 50 per 24 h; the same
  message to the same number at most 2 times in 59 s and 5 times in 59 min. International sends are
  not throttled this way. A newer Chinese-site page ("规则与限制") lists verification codes at 2 per
  minute in a per-kind table whose notification and promotional rows could not be read. Decision:
  ``number_limits="huawei"`` applies the four published limits to every kind (the only complete
  table, and what the platform's product spec repeats for "验证码/通知/推广" same-message limits);
  pass ``number_limits={"1min": 2}`` to follow the stricter verification row.
* **Promotional hours** — FAQ "短信发送有时间段限制吗": verification and notification messages have no
  time limit; promotional messages only 08:00–22:00 (FAQ pages
  https://support.huaweicloud.com/intl/en-us/msgsms_faq/sms_faq_0065.html and
  https://support.huaweicloud.com/intl/zh-cn/msgsms_faq/sms_faq_0065.html). Mainland numbers are on
  Beijing time; other numbers get their own zones from ``phonenumbers`` (the window must hold in all
  of a number's zones).
* **Unsubscribes** — FAQ "手机回复“R”被加入了退订黑名单?": replying "R" puts the number on the
  signature's unsubscribe blacklist (SC:0016); later sends fail with blacklist report codes
  (BLACK/TDBLACK/TSBLACK/MBBLACK, "可能是该号码回复过退订信息", receipt codes page
  https://support.huaweicloud.com/api-msgsms/sms_05_0051.html). smskit suppresses promotional messages
  to a number that replied an unsubscribe word (any channel) or whose reports carry a ``blacklist``
  code (:func:`smskit.codes.categorize`).

Checks return a *verdict* frame on the rows' index: ``allowed`` (bool), ``state`` (one of
:data:`smskit.campaign.states.POLICY_STATES`, with the plan's state dtype), ``not_before`` (UTC; the
earliest time a deferred row may go), ``rule`` and ``reason``. :func:`evaluate_policy` runs them all
in order. Every check takes the clock as ``now``; none reads the wall clock.

Input contracts (columns; extra columns are ignored):

* rows (a plan's rows, in send order): ``to`` (E.164), ``kind`` (template kind; missing = treated as
  promotional), and for same-message limits ``template_id`` + ``params`` (tuple of str) or ``text``;
  optionally ``region`` (spares re-validating numbers for time zones).
* history (every message that was or may have been sent, from the ledger): :data:`HISTORY_COLUMNS` —
  ``to``, ``template_id``, ``params`` (tuple/list of str or a JSON array text) or ``text``, ``kind``,
  ``sent_at`` (tz-aware), ``campaign_id``; optional ``sms_msg_id`` (links reports without ``to``). Only
  ``to`` and ``sent_at`` are required; a missing ``kind`` counts as promotional. Only the last
  :attr:`ContactPolicy.lookback` of it matters.
* reports: the frame of :func:`smskit.read_status_reports`; replies: the frame of
  :func:`smskit.read_replies`.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from smskit.campaign.states import PLAN_DTYPE, PLAN_STATES, POLICY_STATES
from smskit.codes import categorize
from smskit.errors import BudgetError, ConfigError, DataValidationError
from smskit.numbers import UNKNOWN_TIME_ZONE, normalize_numbers, time_zone_sets
from smskit.reports.replies import is_unsubscribe

__all__ = [
    "DEFAULT_QUIET_HOURS",
    "HISTORY_COLUMNS",
    "HUAWEI_NUMBER_LIMITS",
    "MAINLAND_PREFIX",
    "NON_PROMOTIONAL_KINDS",
    "PROMOTIONAL_KINDS",
    "RULES",
    "SUPPRESS_RULES",
    "VERDICT_COLUMNS",
    "ContactPolicy",
    "FrequencyCap",
    "NumberLimit",
    "budget_check",
    "classify_kinds",
    "deadline_check",
    "evaluate_policy",
    "frequency_cap_check",
    "held_back",
    "number_limits_check",
    "quiet_window",
    "suppression",
]

#: Template kinds that are promotional (marketing). ``verification``/``notification`` are not; any
#: other value, or none, is treated as promotional (and the verdict says so).
PROMOTIONAL_KINDS: tuple[str, ...] = ("marketing", "promotion", "promotional")
NON_PROMOTIONAL_KINDS: tuple[str, ...] = ("verification", "notification")
#: The platform's window for promotional messages, in the recipient's local time.
DEFAULT_QUIET_HOURS: tuple[time, time] = (time(8, 0), time(22, 0))
#: The platform's limits for Chinese mainland numbers ("same:" = the same message).
HUAWEI_NUMBER_LIMITS: dict[str, int] = {"1min": 15, "24h": 50, "same:59s": 2, "same:59min": 5}
#: Number limits apply to numbers starting with this prefix (Chinese mainland).
MAINLAND_PREFIX = "+86"
_BEIJING = "Asia/Shanghai"
SUPPRESS_RULES: tuple[str, ...] = ("unsubscribed", "blacklist")
RULES: tuple[str, ...] = (*SUPPRESS_RULES, "frequency_cap", "quiet_hours", "number_limit", "deadline")
VERDICT_COLUMNS: tuple[str, ...] = ("allowed", "state", "not_before", "rule", "reason")
HISTORY_COLUMNS: tuple[str, ...] = ("to", "template_id", "params", "text", "kind", "sent_at", "campaign_id")

_STATE_DTYPE = PLAN_DTYPE  # verdicts slot straight into a plan's state column
_RULE_DTYPE = pd.CategoricalDtype(list(RULES))
_UTC = pd.DatetimeTZDtype("ns", "UTC")
_READY, _DEFERRED, _SUPPRESSED, _EXPIRED = (PLAN_STATES.index(s) for s in POLICY_STATES)
_NAT = np.iinfo(np.int64).min
_SEP = "\x1f"
_ASSUMED = " (the template has no kind: treated as promotional)"
_HORIZON_DAYS = 8  # how far ahead a window is looked for before it is called "never"
_POLICY_KEYS = (
    "quiet_hours",
    "number_limits",
    "frequency_cap",
    "suppress",
    "not_after",
    "max_cost",
    "max_segments",
)


# ----------------------------------------------------------------------------------------- the policy


@dataclass(frozen=True)
class NumberLimit:
    """At most ``count`` messages to a number (the same message, when ``same_message``) per ``window``."""

    window: pd.Timedelta
    count: int
    same_message: bool = False

    @property
    def key(self) -> str:
        """The policy-file key: ``"1min"``, ``"same:59s"``."""
        return ("same:" if self.same_message else "") + _duration_key(self.window)

    def describe(self) -> str:
        """``"15 in the last minute"``, ``"same message 2 times in 59 s"``."""
        if self.same_message:
            return f"same message {self.count} times in {_span(self.window, singular=False)}"
        return f"{self.count} in the last {_span(self.window, singular=True)}"


@dataclass(frozen=True)
class FrequencyCap:
    """At most ``count`` promotional messages to a number per ``window``, across campaigns."""

    label: str
    window: pd.Timedelta
    count: int

    def describe(self) -> str:
        return f"frequency cap {self.count} in {self.label}"


def _duration_key(td: pd.Timedelta) -> str:
    """59 s → "59s", 1 min → "1min", 24 h → "24h", 7 days → "7D" (days from two on)."""
    seconds = int(td.total_seconds())
    for unit, size in (("D", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0 and (size != 86400 or seconds >= 2 * 86400):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _span(td: pd.Timedelta, *, singular: bool) -> str:
    """59 s → "59 s"; 1 min → "minute" (with ``singular``); 24 h → "24 h"; 7 days → "7 days"."""
    seconds = int(td.total_seconds())
    for word, unit, size in (("day", "days", 86400), ("hour", "h", 3600), ("minute", "min", 60), ("second", "s", 1)):
        if seconds % size == 0 and (size != 86400 or seconds >= 2 * 86400):
            n = seconds // size
            return word if n == 1 and singular else f"{n} {unit}"
    return f"{seconds} s"  # pragma: no cover - size 1 always divides


def _fail(message: str) -> ConfigError:
    return ConfigError(f"contact policy: {message}", advice="fix the ContactPolicy argument or the policy file")


def _duration(key: Any, what: str) -> pd.Timedelta:
    try:
        td = pd.Timedelta(str(key).strip())
    except (ValueError, TypeError):
        raise _fail(f"{what} key {key!r} is not a duration such as '59s', '1min', '24h' or '7D'") from None
    if pd.isna(td) or td <= pd.Timedelta(0):
        raise _fail(f"{what} key {key!r} must be a positive duration")
    return td


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or value < 1:
        raise _fail(f"{what} must be a whole number ≥ 1, not {value!r}")
    return int(value)


def _clock(value: Any, what: str) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        try:
            return time.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _fail(f"{what} {value!r} is not a time of day such as '08:00'")


def _quiet_hours(value: Any) -> tuple[time, time] | None:
    if value is None or value is False or (isinstance(value, str) and value.strip().lower() in ("none", "off")):
        return None
    if isinstance(value, str) and value.strip().lower() == "default":
        return DEFAULT_QUIET_HOURS
    if isinstance(value, str) and "-" in value:
        value = value.split("-", 1)
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
        raise _fail(f"quiet_hours must be 'default', None or a pair of times ('08:00', '22:00'), not {value!r}")
    start, end = _clock(value[0], "quiet_hours start"), _clock(value[1], "quiet_hours end")
    if any(t.tzinfo is not None for t in (start, end)):
        raise _fail("quiet_hours are local times of the recipient: give them without a time zone")
    if not start < end:
        raise _fail(f"quiet_hours start {start:%H:%M} must be before end {end:%H:%M} (no windows across midnight)")
    return start, end


def _number_limits(value: Any) -> tuple[NumberLimit, ...]:
    if value is None or value is False or (isinstance(value, str) and value.strip().lower() in ("none", "off")):
        return ()
    if isinstance(value, str) and value.strip().lower() == "huawei":
        value = {}
    if isinstance(value, Sequence) and not isinstance(value, str) and all(isinstance(v, NumberLimit) for v in value):
        return tuple(sorted(value, key=lambda x: (x.same_message, x.window)))
    if not isinstance(value, Mapping):
        raise _fail(f"number_limits must be 'huawei', None or a mapping such as {{'1min': 15}}, not {value!r}")
    merged: dict[tuple[bool, pd.Timedelta], int | None] = {}
    for source in (HUAWEI_NUMBER_LIMITS, value):  # the given mapping overrides the platform's limits
        for key, count in source.items():
            text = str(key).strip()
            same = text.lower().startswith("same:")
            window = _duration(text[5:] if same else text, "number_limits")
            merged[(same, window)] = None if count is None else _count(count, f"number_limits[{key!r}]")
    limits = [NumberLimit(w, c, s) for (s, w), c in merged.items() if c is not None]
    return tuple(sorted(limits, key=lambda x: (x.same_message, x.window)))


def _frequency_cap(value: Any) -> tuple[FrequencyCap, ...]:
    if value is None or value is False:
        return ()
    if isinstance(value, Sequence) and not isinstance(value, str) and all(isinstance(v, FrequencyCap) for v in value):
        return tuple(value)
    if not isinstance(value, Mapping):
        raise _fail(f"frequency_cap must be None or a mapping such as {{'7D': 2}}, not {value!r}")
    caps = [
        FrequencyCap(str(k).strip(), _duration(k, "frequency_cap"), _count(v, f"frequency_cap[{k!r}]"))
        for k, v in value.items()
    ]
    return tuple(sorted(caps, key=lambda c: c.window))


def _suppress_rules(value: Any) -> tuple[str, ...]:
    if value is None or value is False:
        return ()
    if isinstance(value, str):
        value = (value,)
    names = tuple(str(v).strip().lower() for v in value)
    unknown = [n for n in names if n not in SUPPRESS_RULES]
    if unknown:
        raise _fail(f"suppress has {unknown}; the rules are {list(SUPPRESS_RULES)}")
    return tuple(n for n in SUPPRESS_RULES if n in names)


def _timestamp(value: Any, what: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise _fail(f"{what} {value!r} is not a time") from None
    if pd.isna(ts):
        raise _fail(f"{what} is missing")
    if ts.tzinfo is None:
        raise _fail(f"{what} {value!r} has no time zone: write it in UTC, e.g. '2026-11-04T20:00:00Z'")
    return ts.tz_convert("UTC")


def _amount(value: Any, what: str, *, whole: bool) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise _fail(f"{what} must be a number ≥ 0, not {value!r}")
    if whole:
        if value != int(value):
            raise _fail(f"{what} must be a whole number, not {value!r}")
        return int(value)
    return float(value)


@dataclass(frozen=True, init=False, repr=False)
class ContactPolicy:
    """The contact rules a campaign obeys; the defaults are the platform's.

    Parameters
    ----------
    quiet_hours
        ``"default"`` (promotional messages only 08:00–22:00 in the recipient's local time), ``None``
        (no window) or a pair of local times ``("09:00", "20:00")``.
    number_limits
        ``"huawei"`` (15 per minute, 50 per 24 h, the same message 2 per 59 s and 5 per 59 min, for
        Chinese mainland numbers), ``None``, or a mapping overriding some of them:
        ``{"1min": 2, "same:59min": None}`` (``None`` drops a limit; ``same:`` = the same message).
    frequency_cap
        ``{"7D": 2}``: at most 2 promotional messages per number in any 7 days, across campaigns.
    suppress
        Which of ``"unsubscribed"`` (replied an unsubscribe word) and ``"blacklist"`` (a report with a
        blacklist code) keep a number from promotional messages.
    not_after
        A deadline (tz-aware); rows whose window opens only later expire.
    max_cost, max_segments
        A budget; ``max_cost`` is checked with a price per segment (see :func:`budget_check`).

    Usage: ``ContactPolicy(frequency_cap={"7D": 2}, not_after="2026-11-04T20:00:00Z")`` or
    ``ContactPolicy.from_file("policy.toml")``.
    """

    quiet_hours: tuple[time, time] | None
    number_limits: tuple[NumberLimit, ...]
    frequency_cap: tuple[FrequencyCap, ...]
    suppress: tuple[str, ...]
    not_after: pd.Timestamp | None
    max_cost: float | None
    max_segments: int | None

    def __init__(
        self,
        *,
        quiet_hours: tuple[time | str, time | str] | str | None = "default",
        number_limits: Mapping[str, int | None] | Sequence[NumberLimit] | str | None = "huawei",
        frequency_cap: Mapping[str, int] | Sequence[FrequencyCap] | None = None,
        suppress: Iterable[str] | str | None = SUPPRESS_RULES,
        not_after: datetime | pd.Timestamp | str | None = None,
        max_cost: float | None = None,
        max_segments: int | None = None,
    ) -> None:
        values = {
            "quiet_hours": _quiet_hours(quiet_hours),
            "number_limits": _number_limits(number_limits),
            "frequency_cap": _frequency_cap(frequency_cap),
            "suppress": _suppress_rules(suppress),
            "not_after": None if not_after is None else _timestamp(not_after, "not_after"),
            "max_cost": _amount(max_cost, "max_cost", whole=False),
            "max_segments": _amount(max_segments, "max_segments", whole=True),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ files

    @classmethod
    def from_mapping(cls, doc: Mapping[str, Any]) -> ContactPolicy:
        """Build from a parsed policy file; unknown keys are refused (a typo must not drop a rule)."""
        if not isinstance(doc, Mapping):
            raise _fail(f"a policy is a table of settings, not a {type(doc).__name__}")
        unknown = sorted(set(doc) - set(_POLICY_KEYS))
        if unknown:
            raise _fail(f"unknown setting(s) {unknown}; the settings are {list(_POLICY_KEYS)}")
        return cls(**dict(doc))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> ContactPolicy:
        """Read a policy from TOML (``.toml``) or JSON (``.json``), for ``smskit send --policy FILE``.

        TOML has no null: write ``quiet_hours = "off"`` / ``number_limits = "off"`` to disable those.
        """
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read policy file {path}: {exc.strerror}", advice="check the path") from exc
        suffix = path.suffix.lower()
        try:
            if suffix == ".toml":
                doc: Any = tomllib.loads(data.decode("utf-8"))
            elif suffix == ".json":
                doc = json.loads(data)
            else:
                raise ConfigError(f"policy file {path} must end in .toml or .json", advice="rename it")
        except (tomllib.TOMLDecodeError, ValueError) as exc:
            raise ConfigError(f"policy file {path} cannot be parsed: {exc}", advice="fix its syntax") from exc
        return cls.from_mapping(doc)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a policy file would write them (JSON-compatible); ``from_mapping`` reads it back."""
        return {
            "quiet_hours": None if self.quiet_hours is None else [f"{t:%H:%M:%S}" for t in self.quiet_hours],
            "number_limits": self._limits_dict() if self.number_limits else None,
            "frequency_cap": {cap.label: cap.count for cap in self.frequency_cap} or None,
            "suppress": list(self.suppress),
            "not_after": None if self.not_after is None else self.not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "max_cost": self.max_cost,
            "max_segments": self.max_segments,
        }

    def _limits_dict(self) -> dict[str, int | None]:
        """The limits as a mapping that reads back the same: a dropped platform limit is written as None."""
        given: dict[str, int | None] = {limit.key: limit.count for limit in self.number_limits}
        platform = {lim.key for lim in _number_limits("huawei")}
        return given | {key: None for key in sorted(platform - set(given))}

    # ------------------------------------------------------------------ views

    @property
    def lookback(self) -> pd.Timedelta:
        """How much contact history the rules read (the ledger need not load more)."""
        windows = [limit.window for limit in self.number_limits] + [cap.window for cap in self.frequency_cap]
        return max(windows, default=pd.Timedelta(0))

    def describe(self) -> pd.DataFrame:
        """One row per rule: rule, setting."""
        hours = self.quiet_hours
        limits = "; ".join(limit.describe() for limit in self.number_limits)
        rows = [
            ("quiet_hours", "off" if hours is None else f"promotional {hours[0]:%H:%M}–{hours[1]:%H:%M} local time"),
            ("number_limit", f"{limits} (+86 numbers)" if limits else "off"),
            ("frequency_cap", "; ".join(cap.describe() for cap in self.frequency_cap) or "off"),
            ("suppress", ", ".join(self.suppress) or "off"),
            ("deadline", "none" if self.not_after is None else f"{self.not_after:%Y-%m-%d %H:%M} UTC"),
            ("budget", _budget_text(self)),
        ]
        return pd.DataFrame(rows, columns=["rule", "setting"])

    def __repr__(self) -> str:
        return "ContactPolicy(" + ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items()) + ")"

    def _repr_html_(self) -> str:
        return "<b>ContactPolicy</b>" + self.describe().to_html(index=False, escape=True)


def _budget_text(policy: ContactPolicy) -> str:
    parts = []
    if policy.max_segments is not None:
        parts.append(f"≤ {policy.max_segments:,} segments")
    if policy.max_cost is not None:
        parts.append(f"≤ {policy.max_cost:,.2f} cost")
    return ", ".join(parts) or "none"


def _policy(policy: ContactPolicy | None) -> ContactPolicy:
    if policy is None:
        return ContactPolicy()
    if not isinstance(policy, ContactPolicy):
        raise TypeError(f"policy must be a ContactPolicy, not {type(policy).__name__}")
    return policy


def _now(now: Any) -> pd.Timestamp:
    if now is None:
        raise _fail("now= is required (the clock is always passed in, e.g. pd.Timestamp.now('UTC'))")
    return _timestamp(now, "now")


# ----------------------------------------------------------------------------------------- kinds


def classify_kinds(kinds: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(promotional, assumed)`` bool arrays for ``n`` rows; ``kinds`` is a column, an array, one value or None.

    A missing or unknown kind is promotional (``assumed``): the safer reading for quiet hours,
    frequency caps and suppression. Each distinct kind is looked at once.
    """
    codes: np.ndarray
    if kinds is None or isinstance(kinds, str):
        codes, names = np.zeros(n, dtype=np.int64), [kinds]
    elif isinstance(kinds, pd.Series) and isinstance(kinds.dtype, pd.CategoricalDtype):
        codes, names = kinds.cat.codes.to_numpy(), list(kinds.cat.categories)
    else:
        values = kinds.to_numpy(dtype=object) if isinstance(kinds, pd.Series) else np.asarray(kinds, dtype=object)
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        names = uniques.tolist()
    if len(codes) != n:
        raise ValueError(f"kinds has {len(codes)} values for {n} rows")
    text = [str(k).strip().lower() if isinstance(k, str) else "" for k in names]
    promo = np.array([k in PROMOTIONAL_KINDS or k not in NON_PROMOTIONAL_KINDS for k in text] + [True])
    assumed = np.array([k not in PROMOTIONAL_KINDS and k not in NON_PROMOTIONAL_KINDS for k in text] + [True])
    take = np.where(codes < 0, len(text), codes)
    return promo[take], assumed[take]


# ----------------------------------------------------------------------------------------- verdicts


class _Verdict:
    """Per-row arrays being filled by the checks (positions, not labels)."""

    def __init__(self, n: int) -> None:
        self.state = np.zeros(n, dtype=np.int8)
        self.not_before = np.full(n, _NAT, dtype=np.int64)
        self.rule = np.full(n, -1, dtype=np.int8)
        self.reason = np.full(n, "", dtype=object)

    def set(self, pos: np.ndarray, state: int, rule: str, reason: Any, not_before: Any = _NAT) -> None:
        self.state[pos] = state
        self.rule[pos] = RULES.index(rule)
        self.reason[pos] = reason
        self.not_before[pos] = not_before

    def ready(self) -> np.ndarray:
        return np.flatnonzero(self.state == _READY)

    def frame(self, index: pd.Index) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "allowed": self.state == _READY,
                "state": pd.Categorical.from_codes(self.state, dtype=_STATE_DTYPE),
                "not_before": pd.Series(pd.to_datetime(self.not_before, utc=True), index=index).astype(_UTC),
                "rule": pd.Categorical.from_codes(self.rule, dtype=_RULE_DTYPE),
                "reason": pd.Series(self.reason, index=index, dtype="str"),
            },
            index=index,
        )


def _strings(values: Any, n: int | None = None) -> np.ndarray:
    arr = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else np.asarray(values, dtype=object)
    if n is not None and len(arr) != n:
        raise ValueError(f"got {len(arr)} values for {n} rows")
    return arr


def _column(frame: pd.DataFrame, name: str, what: str) -> pd.Series:
    if name not in frame.columns:
        raise DataValidationError(
            f"{what} has no {name!r} column (it has {list(frame.columns)[:12]})",
            advice=f"{what} needs the columns described in smskit.campaign.policy",
        )
    return frame[name]


class _Rows:
    """A plan's rows as codes: numbers factorized once, kinds classified once."""

    def __init__(self, rows: pd.DataFrame, *, kinds: Any = None) -> None:
        self.frame = rows
        self.index = rows.index
        n = len(rows)
        to = _strings(_column(rows, "to", "rows"), n)
        self.codes, uniques = pd.factorize(to, use_na_sentinel=True)
        self.numbers = np.asarray(uniques, dtype=object)
        head = np.array(self.numbers, dtype="U3") if len(self.numbers) else np.zeros(0, dtype="U3")
        self.mainland = head == MAINLAND_PREFIX  # per distinct number: Chinese mainland (+86)
        if kinds is None and "kind" in rows.columns:
            kinds = rows["kind"]
        self.promo, self.assumed = classify_kinds(kinds, n)
        self._index: pd.Index | None = None  # a hash table of the numbers, built on the first lookup

    @property
    def n(self) -> int:
        return len(self.codes)

    @property
    def number_count(self) -> int:
        return len(self.numbers)

    def first_rows(self) -> np.ndarray:
        """Per distinct number, the position of a row holding it."""
        first = np.zeros(self.number_count, dtype=np.int64)
        seen = self.codes >= 0
        first[self.codes[seen]] = np.flatnonzero(seen)
        return first

    def lookup(self, values: Any) -> np.ndarray:
        """The code of each value among the distinct numbers, -1 where it is not one of them."""
        if self._index is None:
            self._index = pd.Index(self.numbers, dtype=object)
        return np.asarray(self._index.get_indexer(pd.Index(_strings(values), dtype=object)), dtype=np.int64)


# ----------------------------------------------------------------------------------------- quiet hours


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _intersect(
    a: list[tuple[datetime, datetime]], b: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


@lru_cache(maxsize=4096)
def _window(zones: tuple[str, ...], start: time, end: time, now: datetime) -> tuple[bool, datetime | None, str]:
    """(open now, next opening or None for never, problem) for a window that must hold in every zone."""
    infos = [_zone(z) for z in zones]
    if not zones or any(z is None for z in infos) or UNKNOWN_TIME_ZONE in zones:
        return False, None, "unknown"
    common: list[tuple[datetime, datetime]] | None = None
    for info in infos:
        assert info is not None
        today = now.astimezone(info).date()
        days = [today + timedelta(days=d) for d in range(-1, _HORIZON_DAYS)]
        spans = [
            (datetime.combine(d, start, info).astimezone(UTC), datetime.combine(d, end, info).astimezone(UTC))
            for d in days
        ]
        common = spans if common is None else _intersect(common, spans)
    assert common is not None
    for s, e in common:
        if e > now:
            return (s <= now), (None if s <= now else s), ""
    return False, None, "never"


def _zones_text(zones: tuple[str, ...]) -> str:
    shown = ", ".join(zones[:3])
    return shown + (f", +{len(zones) - 3} more" if len(zones) > 3 else "")


def _quiet(
    rows: _Rows, pos: np.ndarray, now: pd.Timestamp, policy: ContactPolicy, regions: Any, out: _Verdict
) -> np.ndarray:
    """Apply quiet hours to rows ``pos``; returns the zone-set text per row of ``pos``."""
    labels = np.full(len(pos), "", dtype=object)
    if policy.quiet_hours is None or not len(pos):
        return labels
    promo = pos[rows.promo[pos] & (rows.codes[pos] >= 0)]
    if not len(promo):
        return labels
    needed = np.zeros(rows.number_count, dtype=bool)
    needed[rows.codes[promo]] = True
    wanted = np.flatnonzero(needed & ~rows.mainland)  # distinct numbers whose zones are needed
    region_values = None if regions is None else _strings(regions, rows.n)[rows.first_rows()[wanted]]
    set_ids, sets = time_zone_sets(rows.numbers[wanted], regions=region_values, distinct=True)
    set_of = np.zeros(rows.number_count, dtype=np.int64)
    set_of[wanted] = set_ids
    set_of[rows.mainland] = len(sets)  # mainland numbers are on Beijing time
    sets = [*sets, (_BEIJING,)]
    start, end = policy.quiet_hours
    hours = f"{start:%H:%M}–{end:%H:%M}"
    when = now.to_pydatetime()
    states, nots, reasons, texts = [], [], [], []
    for zones in sets:
        is_open, opens, problem = _window(zones, start, end, when)
        single = len(zones) == 1
        where = (
            f"{zones[0]} time" if single else f"in all of the number's {len(zones)} time zones ({_zones_text(zones)})"
        )
        texts.append(zones[0] if single else _zones_text(zones))
        if is_open:
            states.append(_READY)
            nots.append(_NAT)
            reasons.append("")
        elif problem == "unknown":
            states.append(_EXPIRED)
            nots.append(_NAT)
            reasons.append(f"no time zone is known for this number, so promotional hours {hours} cannot be honoured")
        elif problem == "never":
            states.append(_EXPIRED)
            nots.append(_NAT)
            reasons.append(f"promotional hours {hours} never hold {where}")
        else:
            assert opens is not None
            states.append(_DEFERRED)
            nots.append(pd.Timestamp(opens).as_unit("ns").value)
            local = opens.astimezone(ZoneInfo(zones[0]) if single else UTC)
            reasons.append(f"outside promotional hours {hours} {where}; opens {local:%Y-%m-%d %H:%M} {local:%Z}")
    row_set = set_of[rows.codes[promo]]
    state = np.array(states, dtype=np.int8)[row_set]
    held = np.flatnonzero(state != _READY)
    reason = np.array(reasons, dtype=object)[row_set[held]]
    assumed = rows.assumed[promo[held]]
    reason[assumed] = reason[assumed] + _ASSUMED
    out.state[promo[held]] = state[held]
    out.rule[promo[held]] = RULES.index("quiet_hours")
    out.reason[promo[held]] = reason
    out.not_before[promo[held]] = np.array(nots, dtype=np.int64)[row_set[held]]
    labels[np.searchsorted(pos, promo)] = np.array(texts, dtype=object)[row_set]
    return labels


def quiet_window(
    numbers: pd.Series,
    kinds: Any,
    now: datetime | pd.Timestamp | str,
    policy: ContactPolicy | None = None,
    *,
    regions: pd.Series | None = None,
) -> pd.DataFrame:
    """Promotional hours per row: may it go ``now``, and if not, when (``not_before``, UTC) and why.

    Promotional rows (and rows whose kind is missing or unknown: ``assumed_promotional``) may go only
    inside ``policy.quiet_hours`` in the recipient's local time: Beijing for +86, otherwise every zone
    ``phonenumbers`` gives the number (the window must hold in all of them; when it never does, or no
    zone is known, the row is ``expired``). Verification and notification rows are always allowed.
    Work is per distinct zone set. Returns the verdict columns plus ``time_zones`` and
    ``assumed_promotional``, on ``numbers``' index.
    """
    clock = _now(now)
    frame = pd.DataFrame({"to": numbers}, index=numbers.index)
    rows = _Rows(frame, kinds=kinds)
    out = _Verdict(rows.n)
    labels = _quiet(rows, np.arange(rows.n), clock, _policy(policy), regions, out)
    result = out.frame(rows.index)
    result["time_zones"] = pd.Series(labels, index=rows.index, dtype="str")
    result["assumed_promotional"] = rows.assumed
    return result


# ----------------------------------------------------------------------------------------- history


def _epoch(series: pd.Series, what: str) -> tuple[np.ndarray, int]:
    """A tz-aware time column as (int64 since the epoch in its own unit, ns per unit); NaT is the int64 minimum.

    Reading the column in its own unit avoids converting millions of times; only compare with thresholds
    in the same unit, and convert the few times kept.
    """
    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        converted = pd.to_datetime(series, errors="coerce", utc=False) if series.dtype == object else series
        if not isinstance(getattr(converted, "dtype", None), pd.DatetimeTZDtype):
            raise DataValidationError(
                f"{what} must hold tz-aware times (UTC), not {series.dtype}",
                advice="convert it with pd.to_datetime(..., utc=True)",
            )
        series = converted
    values = np.asarray(series.array.asi8, dtype=np.int64)  # epoch values whatever the zone
    per = int(pd.Timedelta(1, unit=series.dtype.unit).value)  # type: ignore[union-attr]
    return values, per


def _times_ns(series: pd.Series, what: str) -> np.ndarray:
    """A tz-aware time column as int64 ns since the epoch (NaT → the int64 minimum)."""
    values, per = _epoch(series, what)
    return np.where(values == _NAT, _NAT, values * per) if per != 1 else values


class _History:
    """The part of the contact history the rules read: messages to planned numbers inside a rule's window.

    ``needs`` lists (window, promotional only) per rule, so a 7-day frequency cap reads only
    promotional messages of the last 7 days, and the 24-hour number limits every message of the day.
    """

    def __init__(
        self, history: pd.DataFrame | None, rows: _Rows, now: pd.Timestamp, needs: Sequence[tuple[pd.Timedelta, bool]]
    ) -> None:
        self.frame = history
        empty = np.zeros(0, dtype=np.int64)
        self.number, self.time, self.pos = empty, empty, empty
        self.is_promo = np.zeros(0, dtype=bool)
        needs = [(w, p) for w, p in needs if w > pd.Timedelta(0)]
        if history is None or not len(history) or not needs:
            return
        sent, per = _epoch(_column(history, "sent_at", "history"), "history 'sent_at'")

        def after(window: pd.Timedelta) -> int:  # the cutoff in the column's unit
            return (now - window).value // per

        recent = np.flatnonzero(sent > after(max(w for w, _ in needs)))
        if "kind" in history.columns:
            is_promo = classify_kinds(history["kind"].iloc[recent], len(recent))[0]
        else:
            is_promo = np.ones(len(recent), dtype=bool)
        wanted = np.zeros(len(recent), dtype=bool)
        for window, promo_only in needs:
            inside = sent[recent] > after(window)
            wanted |= inside & is_promo if promo_only else inside
        recent, is_promo = recent[wanted], is_promo[wanted]
        to = _column(history, "to", "history")
        if isinstance(to.dtype, pd.CategoricalDtype):  # map the categories in use, not the rows
            cat_codes = np.asarray(to.array.codes)[recent].astype(np.int64)
            used = np.flatnonzero(np.bincount(cat_codes[cat_codes >= 0], minlength=len(to.cat.categories)))
            lookup = np.full(len(to.cat.categories) + 1, -1, dtype=np.int64)
            lookup[used] = rows.lookup(to.cat.categories[used])
            number = lookup[cat_codes]  # code -1 (NA) reads the last slot
        else:
            number = rows.lookup(to.to_numpy(dtype=object)[recent])
        keep = number >= 0
        self.pos = recent[keep]
        self.number = number[keep].astype(np.int64)
        self.time = sent[self.pos] * per
        self.is_promo = is_promo[keep]


def _needs(policy: ContactPolicy) -> list[tuple[pd.Timedelta, bool]]:
    """What history each rule of ``policy`` reads: (window, promotional messages only)."""
    needs = [(cap.window, True) for cap in policy.frequency_cap]
    return needs + [(limit.window, False) for limit in policy.number_limits]


# ----------------------------------------------------------------------------------------- counting


def _rank_within(keys: np.ndarray) -> np.ndarray:
    """Each element's position among the elements with the same key, in order."""
    n = len(keys)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]] if n else np.zeros(0, dtype=bool)
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0)) if n else np.zeros(0, dtype=np.int64)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - first
    return rank


def _earliest(
    row_key: np.ndarray, ev_key: np.ndarray, ev_time: np.ndarray, k: int, limit: int, window: int, now: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One limit alone over rows queued in order: (allowed now, earliest time, events in window per row).

    With ``m`` events of a key in the window and the row ``j``-th of its key in the plan, the row is
    the ``m + j``-th message; a greedy sender gives it ``s = max(now, s[i - limit] + window)``, which
    unrolls to an event time plus whole windows, or ``now`` plus whole windows.
    """
    m = np.bincount(ev_key, minlength=k)
    j = _rank_within(row_key)
    mi = m[row_key]
    allowed = mi + j < limit
    earliest = np.full(len(row_key), now, dtype=np.int64)
    late = np.flatnonzero(~allowed)
    if len(late):
        q = j[late] // limit + 1
        base = mi[late] + j[late] - q * limit
        times = ev_time[np.lexsort((ev_time, ev_key))]  # each key's events, oldest first
        starts = np.r_[0, np.cumsum(m)[:-1]]
        from_event = base >= 0
        anchor = np.full(len(late), now, dtype=np.int64)
        anchor[from_event] = times[starts[row_key[late[from_event]]] + base[from_event]]
        earliest[late] = anchor + np.where(from_event, q, q - 1) * window
    return allowed, earliest, mi


def _params_key(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                return value
            if isinstance(parsed, list):
                return _SEP.join(map(str, parsed))
        return value
    if isinstance(value, Iterable):
        return _SEP.join(map(str, value))
    return str(value)


def _message_keys(frame: pd.DataFrame, *, by_text: bool) -> np.ndarray:
    """One string per row naming its message: the rendered text, or template + params."""
    if by_text:
        return frame["text"].to_numpy(dtype=object)
    tpl = frame["template_id"].astype(object).fillna("").to_numpy(dtype=object) if "template_id" in frame else None
    if tpl is None:
        tpl = np.full(len(frame), "", dtype=object)
    if "params" not in frame.columns:
        return tpl
    params = frame["params"].to_numpy(dtype=object)
    hashable = np.array([_params_key(p) for p in params.tolist()], dtype=object)
    return np.char.add(tpl.astype(str), np.char.add(_SEP, hashable.astype(str))).astype(object)


def _has_text(frame: pd.DataFrame | None) -> bool:
    return frame is not None and "text" in frame.columns and bool(frame["text"].notna().all())


def _limits(
    rows: _Rows, pos: np.ndarray, hist: _History, now: pd.Timestamp, limits: Sequence[NumberLimit], out: _Verdict
) -> None:
    """Apply number limits to +86 rows ``pos`` (in send order); plan rows count as sent ``now``."""
    if not limits or not len(pos):
        return
    codes = rows.codes[pos]
    pos = pos[(codes >= 0) & rows.mainland[np.maximum(codes, 0)]]
    ev_in = rows.mainland[hist.number] & (hist.time > (now - max(lim.window for lim in limits)).value)
    ev_number, ev_time, ev_sub = hist.number[ev_in], hist.time[ev_in], np.flatnonzero(ev_in)
    # a row can only be held when its number has a message in a window or another row in the plan
    number = rows.codes[pos].astype(np.int64)
    busy = (np.bincount(number, minlength=rows.number_count) > 1) | (
        np.bincount(ev_number, minlength=rows.number_count) > 0
    )
    pos = pos[busy[number]]
    if not len(pos):
        return
    number = rows.codes[pos].astype(np.int64)
    now_ns = now.value

    msg_row = msg_ev = None
    same_windows = [lim.window for lim in limits if lim.same_message]
    if same_windows:
        recent = ev_time > (now - max(same_windows)).value
        ev_frame = hist.frame.iloc[hist.pos[ev_sub[recent]]] if hist.frame is not None else None
        by_text = _has_text(rows.frame) and (ev_frame is None or _has_text(ev_frame))
        row_keys = _message_keys(rows.frame.iloc[pos], by_text=by_text)
        ev_keys = _message_keys(ev_frame, by_text=by_text) if ev_frame is not None else np.zeros(0, dtype=object)
        msg_all, _ = pd.factorize(np.concatenate([row_keys, ev_keys]))
        msg_row = msg_all[: len(pos)].astype(np.int64)
        msg_ev = np.full(len(ev_time), -1, dtype=np.int64)
        msg_ev[np.flatnonzero(recent)] = msg_all[len(pos) :]

    n = len(pos)
    same_ok = np.ones(n, dtype=bool)
    results = []
    for lim in limits:
        cutoff = (now - lim.window).value
        inside = ev_time > cutoff
        if lim.same_message:
            assert msg_row is not None
            assert msg_ev is not None
            span = int(max(msg_row.max(initial=0), msg_ev.max(initial=0))) + 1  # history's messages too
            key_row = number * span + msg_row
            key_ev = ev_number[inside] * span + msg_ev[inside]
            keys, row_key = np.unique(key_row, return_inverse=True)
            at = np.minimum(np.searchsorted(keys, key_ev), len(keys) - 1)
            hit = (keys[at] == key_ev) & (msg_ev[inside] >= 0)
            k, ev_key, times = len(keys), at[hit], ev_time[inside][hit]
        else:
            keys, row_key = np.unique(number, return_inverse=True)
            at = np.minimum(np.searchsorted(keys, ev_number[inside]), len(keys) - 1)
            hit = keys[at] == ev_number[inside]
            k, ev_key, times = len(keys), at[hit], ev_time[inside][hit]
        allowed, earliest, m = _earliest(row_key, ev_key, times, k, lim.count, lim.window.value, now_ns)
        results.append((lim, allowed, earliest, m, row_key))
        if lim.same_message:
            same_ok &= allowed

    ok = same_ok.copy()
    for lim, _, _, m, row_key in results:  # exact: only rows not held by a same-message limit use a slot
        if not lim.same_message:
            rank_ok = np.full(n, np.iinfo(np.int64).max)
            rank_ok[same_ok] = _rank_within(row_key[same_ok])
            ok &= m + rank_ok < lim.count
    late = np.flatnonzero(~ok)
    if not len(late):
        return
    stack = np.vstack([earliest[late] for _, _, earliest, _, _ in results])
    which = np.argmax(stack, axis=0)
    reasons = np.array([lim.describe() for lim, *_ in results], dtype=object)
    out.set(pos[late], _DEFERRED, "number_limit", reasons[which], stack[which, np.arange(len(late))])


def _limits_of(limits: Any) -> tuple[NumberLimit, ...]:
    if isinstance(limits, ContactPolicy):
        return limits.number_limits
    return _number_limits(limits)


def number_limits_check(
    rows: pd.DataFrame,
    history: pd.DataFrame | None,
    now: datetime | pd.Timestamp | str,
    limits: ContactPolicy | Mapping[str, int | None] | Sequence[NumberLimit] | str | None = "huawei",
) -> pd.DataFrame:
    """The platform's per-number limits for Chinese mainland (+86) rows: allowed now, or deferred until
    the earliest time the limit frees up, and which limit (``"50 in the last 24 h"``).

    History messages in each limit's window count, and so do the plan's own earlier rows to the same
    number (taken in the frame's order, all as sent ``now``: the 51st row of a plan is deferred). The
    same message means the same rendered ``text`` when rows and history both have it, otherwise the
    same ``template_id`` + ``params``. ``not_before`` is when the limit alone would let the row go if the
    plan's earlier rows went as soon as they could; the sender re-checks at send time.
    """
    clock = _now(now)
    lims = _limits_of(limits)
    plan = _Rows(rows)
    lookback = max((lim.window for lim in lims), default=pd.Timedelta(0))
    out = _Verdict(plan.n)
    _limits(plan, np.arange(plan.n), _History(history, plan, clock, [(lookback, False)]), clock, lims, out)
    return out.frame(plan.index)


# ----------------------------------------------------------------------------------------- frequency cap


def _caps(
    rows: _Rows, pos: np.ndarray, hist: _History, now: pd.Timestamp, caps: Sequence[FrequencyCap], out: _Verdict
) -> None:
    """Suppress promotional rows ``pos`` over a frequency cap; the plan's earlier promotional rows count."""
    if not caps or not len(pos):
        return
    pos = pos[rows.promo[pos] & (rows.codes[pos] >= 0)]
    if not len(pos):
        return
    number = rows.codes[pos].astype(np.int64)
    rank = _rank_within(number)
    promo_ev = hist.is_promo
    held = np.zeros(len(pos), dtype=bool)
    reason = np.full(len(pos), "", dtype=object)
    for cap in caps:
        inside = promo_ev & (hist.time > (now - cap.window).value)
        count = np.bincount(hist.number[inside], minlength=rows.number_count)[number]
        over = ~held & (count + rank >= cap.count)
        reason[over] = cap.describe()
        held |= over
    out.set(pos[held], _SUPPRESSED, "frequency_cap", reason[held])


def frequency_cap_check(
    rows: pd.DataFrame,
    history: pd.DataFrame | None,
    now: datetime | pd.Timestamp | str,
    policy: ContactPolicy | None = None,
) -> pd.DataFrame:
    """Suppress promotional rows to numbers that already had ``policy.frequency_cap`` promotional
    messages in the window (across campaigns; the plan's earlier rows count too): ``"frequency cap 2 in 7D"``.
    """
    clock = _now(now)
    pol = _policy(policy)
    plan = _Rows(rows)
    out = _Verdict(plan.n)
    needs = [(cap.window, True) for cap in pol.frequency_cap]
    _caps(plan, np.arange(plan.n), _History(history, plan, clock, needs), clock, pol.frequency_cap, out)
    return out.frame(plan.index)


# ----------------------------------------------------------------------------------------- suppression


def _first_per_number(numbers: np.ndarray, times: Any, texts: np.ndarray, prefix: str) -> pd.Series:
    """Per number, the reason text of its earliest event: ``prefix + text + " on <date>"``."""
    frame = pd.DataFrame({"to": numbers, "time": pd.to_datetime(times, utc=True), "text": texts})
    frame = frame.sort_values("time", kind="stable", na_position="last").drop_duplicates("to", keep="first")
    day = frame["time"].dt.strftime(" on %Y-%m-%d").astype(object).fillna("")
    return pd.Series((prefix + frame["text"].astype(object) + day).to_numpy(dtype=object), index=frame["to"].to_numpy())


def _unsubscribed(replies: pd.DataFrame) -> pd.Series:
    """Per E.164 number: the reason naming its first unsubscribe reply (word and day)."""
    flags = (
        replies["unsubscribe"]
        if "unsubscribe" in replies.columns
        else is_unsubscribe(_column(replies, "body", "replies"))
    )
    unsub = flags.fillna(False).to_numpy(dtype=bool)
    sub = replies.loc[unsub]
    if not len(sub):
        return pd.Series([], dtype=object)
    # replies come from Chinese mainland numbers (uplink is mainland-only): a number without + is CN
    numbers = normalize_numbers(_column(sub, "from", "replies").astype(object), default_region="CN")["e164"]
    times = sub["create_time"] if "create_time" in sub.columns else pd.Series(pd.NaT, index=sub.index)
    if "received_at" in sub.columns:
        times = times.fillna(sub["received_at"])
    words = sub["body"].astype(str).str.strip().to_numpy(dtype=object)
    ok = numbers.notna().to_numpy()
    return _first_per_number(
        numbers.to_numpy(dtype=object)[ok], times.to_numpy()[ok], words[ok], "unsubscribed by reply "
    )


def _blacklisted(reports: pd.DataFrame, history: pd.DataFrame | None) -> pd.Series:
    """Per E.164 number: the reason naming its first report with a blacklist code (code and day)."""
    status = _column(reports, "status", "reports")
    category = reports["category"] if "category" in reports.columns else categorize(status)["category"]
    black = reports.loc[(category == "blacklist").to_numpy()]
    if not len(black):
        return pd.Series([], dtype=object)
    to = black["to"].astype(object) if "to" in black.columns else pd.Series(None, index=black.index, dtype=object)
    if to.isna().any() and history is not None and {"sms_msg_id", "to"} <= set(history.columns):
        missing = black["sms_msg_id"][to.isna()]
        linked = history.loc[history["sms_msg_id"].isin(missing), ["sms_msg_id", "to"]]
        ids = linked.drop_duplicates("sms_msg_id").set_index("sms_msg_id")["to"]
        to = to.fillna(black["sms_msg_id"].map(ids).astype(object))
    ok = to.notna().to_numpy()
    times = black["update_time"] if "update_time" in black.columns else pd.Series(pd.NaT, index=black.index)
    codes = black["status"].astype(str).to_numpy(dtype=object)[ok]
    return _first_per_number(to.to_numpy(dtype=object)[ok], times.to_numpy()[ok], codes, "blacklisted: report ")


def _suppress(
    rows: _Rows,
    pos: np.ndarray,
    reports: pd.DataFrame | None,
    replies: pd.DataFrame | None,
    history: pd.DataFrame | None,
    rules: Sequence[str],
    out: _Verdict,
) -> None:
    pos = pos[rows.promo[pos] & (rows.codes[pos] >= 0)]
    if not len(pos):
        return
    sources = []
    if "unsubscribed" in rules and replies is not None and len(replies):
        sources.append(("unsubscribed", _unsubscribed(replies)))
    if "blacklist" in rules and reports is not None and len(reports):
        sources.append(("blacklist", _blacklisted(reports, history)))
    for rule, reasons in sources:
        at = rows.lookup(reasons.index.to_numpy(dtype=object))  # the few listed numbers, not every planned one
        by_number = np.full(rows.number_count, None, dtype=object)
        by_number[at[at >= 0]] = reasons.to_numpy(dtype=object)[at >= 0]
        reason = by_number[rows.codes[pos]]
        hit = np.flatnonzero((reason != None) & (out.state[pos] == _READY))  # noqa: E711 - elementwise
        if not len(hit):
            continue
        reason = reason[hit]
        assumed = rows.assumed[pos[hit]]
        reason[assumed] = reason[assumed] + _ASSUMED
        out.set(pos[hit], _SUPPRESSED, rule, reason)


def suppression(
    rows: pd.DataFrame,
    *,
    reports: pd.DataFrame | None = None,
    replies: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
    policy: ContactPolicy | None = None,
) -> pd.DataFrame:
    """Suppress promotional rows to numbers that replied an unsubscribe word (``"unsubscribed by reply
    TD on 2026-11-03"``) or whose status reports carry a blacklist code (``"blacklisted: report MBBLACK
    on 2026-11-02"``), as ``policy.suppress`` says.

    ``replies`` is a :func:`smskit.read_replies` frame (its ``from`` numbers are read as E.164, or as
    Chinese mainland numbers without ``+``); ``reports`` a :func:`smskit.read_status_reports` frame whose
    ``to`` is used, or, where it is missing, ``history``'s ``sms_msg_id`` → ``to``. The first
    unsubscribe or blacklist report of a number is the one named.
    """
    pol = _policy(policy)
    plan = _Rows(rows)
    out = _Verdict(plan.n)
    _suppress(plan, np.arange(plan.n), reports, replies, history, pol.suppress, out)
    return out.frame(plan.index)


# ----------------------------------------------------------------------------------------- deadline


def _deadline(pos: np.ndarray, now: pd.Timestamp, policy: ContactPolicy, out: _Verdict) -> None:
    if policy.not_after is None:
        return
    deadline = policy.not_after
    when = f"{deadline:%Y-%m-%d %H:%M} UTC"
    if now >= deadline:
        live = pos[(out.state[pos] == _READY) | (out.state[pos] == _DEFERRED)]
        out.set(live, _EXPIRED, "deadline", f"the deadline {when} has passed")
        return
    late = pos[(out.state[pos] == _DEFERRED) & (out.not_before[pos] >= deadline.value)]
    if not len(late):
        return
    why, whys = pd.factorize(out.reason[late])
    opens, openings = pd.factorize(out.not_before[late])
    combo, first = np.unique(why.astype(np.int64) * len(openings) + opens, return_inverse=True)
    texts = [  # one text per distinct (reason, opening), not per row
        f"{whys[c // len(openings)]} (next chance {pd.Timestamp(openings[c % len(openings)], tz='UTC'):%Y-%m-%d %H:%M} "
        f"UTC, after the deadline {when})"
        for c in combo.tolist()
    ]
    out.set(late, _EXPIRED, "deadline", np.array(texts, dtype=object)[first])


def deadline_check(
    verdict: pd.DataFrame, now: datetime | pd.Timestamp | str, policy: ContactPolicy | None = None
) -> pd.DataFrame:
    """Turn a verdict's deferred rows whose ``not_before`` is at or after ``policy.not_after`` into
    ``expired`` (every ready or deferred row once the deadline has passed); other rows are unchanged."""
    clock = _now(now)
    pol = _policy(policy)
    out = _Verdict(len(verdict))
    out.state[:] = pd.Categorical(verdict["state"], dtype=_STATE_DTYPE).codes
    out.not_before[:] = _times_ns(verdict["not_before"], "verdict 'not_before'")
    out.rule[:] = pd.Categorical(verdict["rule"], dtype=_RULE_DTYPE).codes
    out.reason[:] = verdict["reason"].astype(object).fillna("").to_numpy(dtype=object)
    _deadline(np.arange(len(verdict)), clock, pol, out)
    return out.frame(verdict.index)


# ----------------------------------------------------------------------------------------- everything


def evaluate_policy(
    rows: pd.DataFrame,
    *,
    now: datetime | pd.Timestamp | str,
    policy: ContactPolicy | None = None,
    history: pd.DataFrame | None = None,
    reports: pd.DataFrame | None = None,
    replies: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every rule of ``policy`` (default: the platform's) over a plan's rows, in this order: suppression
    (unsubscribed, blacklist), frequency cap, quiet hours, number limits, deadline. A row held by one
    rule is not counted by the later ones (it is not sent now). Returns the verdict columns plus
    ``assumed_promotional``, on ``rows``' index; rows deferred by quiet hours are re-checked against
    the number limits when their window opens (at send time).
    """
    clock = _now(now)
    pol = _policy(policy)
    plan = _Rows(rows)
    out = _Verdict(plan.n)
    everything = np.arange(plan.n)
    hist = _History(history, plan, clock, _needs(pol))
    _suppress(plan, everything, reports, replies, history, pol.suppress, out)
    _caps(plan, out.ready(), hist, clock, pol.frequency_cap, out)
    _quiet(plan, out.ready(), clock, pol, rows["region"] if "region" in rows.columns else None, out)
    _limits(plan, out.ready(), hist, clock, pol.number_limits, out)
    _deadline(everything, clock, pol, out)
    result = out.frame(plan.index)
    result["assumed_promotional"] = plan.assumed & plan.promo
    return result


def held_back(verdict: pd.DataFrame) -> pd.DataFrame:
    """What each rule held back: one row per (rule, state) with ``rows`` and the earliest ``not_before``."""
    held = verdict[verdict["state"] != "ready"]
    grouped = held.groupby(["rule", "state"], observed=True)
    table = grouped.agg(rows=("reason", "size"), next_window=("not_before", "min")).reset_index()
    return table.sort_values(["rule", "state"], ignore_index=True)


# ----------------------------------------------------------------------------------------- budget


def budget_check(
    plan_summary: Mapping[str, Any] | Any,
    policy: ContactPolicy | None = None,
    *,
    price: float | Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Refuse a campaign over ``policy.max_segments`` / ``policy.max_cost`` (raises
    :class:`~smskit.errors.BudgetError` naming the totals); return the totals otherwise.

    ``plan_summary`` is ``plan.summary`` (or the plan): ``segments`` counts every segment the campaign
    will send (ready and deferred rows) and ``segments_by`` splits them by ``"<region> <encoding>"``.
    ``price`` is per segment: one number, or per region (``{"CN": 0.045, "*": 0.06}``, ``"*"`` for the rest).
    """
    pol = _policy(policy)
    summary = getattr(plan_summary, "summary", plan_summary)
    if not isinstance(summary, Mapping) or "segments" not in summary:
        raise TypeError("plan_summary must be plan.summary (a mapping with 'segments') or a plan")
    segments = int(summary["segments"])
    cost = _cost(summary, segments, price)
    totals = {"segments": segments, "cost": cost, "max_segments": pol.max_segments, "max_cost": pol.max_cost}
    if pol.max_segments is not None and segments > pol.max_segments:
        raise BudgetError(
            f"the campaign would send {segments:,} segments; the policy allows at most {pol.max_segments:,}",
            advice="send to fewer recipients, shorten the message, or raise max_segments",
        )
    if pol.max_cost is not None:
        if cost is None:
            raise ConfigError("the policy has max_cost but no price per segment was given", advice="pass price=")
        if cost > pol.max_cost:
            raise BudgetError(
                f"the campaign would cost {cost:,.2f} for {segments:,} segments; "
                f"the policy allows at most {pol.max_cost:,.2f}",
                advice="send to fewer recipients, shorten the message, or raise max_cost",
            )
    return totals


def _cost(summary: Mapping[str, Any], segments: int, price: float | Mapping[str, float] | None) -> float | None:
    if price is None:
        return None
    if isinstance(price, Mapping):
        by = summary.get("segments_by")
        if not isinstance(by, Mapping):
            raise TypeError("a price per region needs plan_summary['segments_by']")
        total, missing = 0.0, []
        for key, n in by.items():
            region = str(key).split(" ", 1)[0]
            per = price.get(region, price.get("*"))
            if per is None:
                missing.append(region)
                continue
            total += float(per) * int(n)
        if missing:
            raise ConfigError(f"no price for region(s) {sorted(set(missing))}", advice="add them, or a '*' price")
        return total
    if isinstance(price, bool) or not isinstance(price, int | float) or price < 0:
        raise ConfigError(f"price must be a number ≥ 0 per segment, not {price!r}", advice="pass price=0.05")
    return segments * float(price)
