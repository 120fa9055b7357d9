"""SMS templates: the catalog, their variables, parameter checks, rendering, GSM-7/UCS-2 and segments.

Variable rules follow the platform's template specification (see ``docs`` and the API spec):

* international ``${NUM_n}`` digits only, at most n; ``${TXT_n}`` no ``{``/``}``, at most n chars;
  ``${DATE}`` / ``${TIME}`` not empty (formats are unknown to the project: any value without braces, ≤ 20);
* Chinese mainland ``${PHONE}`` 4–15 of digits, ``+``, ``-``; ``${CHARDIGIT}`` 1–20 letters, digits, ``_``;
  ``${DATETIME}`` 1–20 chars; ``${MONEY}`` 1–20 digits and ``.``; ``${TEXT}`` 1–20 chars without
  ``.`` ``。`` ``'`` ``<`` ``>`` ``{`` ``}``; numbered ``${1}``…``${20}``: their real rules are set when the
  template is created and are unknown here, so the project requires 1–20 chars without braces;
* every variable needs a non-empty (not all-blank) value; at most 20 variables; a verification template
  has exactly one variable whose value is at most 8 chars; the sent message (with ``【signature】`` for
  mainland templates) is at most 500 chars.

Each variable occurrence takes one parameter, in order of appearance.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from smskit.errors import DataValidationError
from smskit.limits import MAX_TEMPLATE_ID_LEN as MAX_TEMPLATE_ID_CHARS
from smskit.limits import MAX_VARIABLES

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "MAX_CONTENT_CHARS",
    "MAX_VARIABLES",
    "Template",
    "TemplateCatalog",
    "encoding_of",
    "encoding_series",
    "invalid_params_mask",
    "load_templates",
    "parse_variables",
    "render",
    "render_series",
    "segments",
    "segments_series",
    "text_length",
    "ucs2_chars",
    "validate_params",
]

Region = Literal["international", "mainland"]
Kind = Literal["verification", "notification", "marketing"]
Encoding = Literal["GSM-7", "UCS-2"]

REGIONS: tuple[str, ...] = ("international", "mainland")
KINDS: tuple[str, ...] = ("verification", "notification", "marketing")
MAX_CONTENT_CHARS = 500
MAX_VERIFICATION_CHARS = 8

# GSM 03.38 default alphabet (ESC excluded: it only introduces the extension table).
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each costs two septets (ESC + char).
GSM7_EXTENSION = "\f^{}\\[~]|€"
_GSM7_SET = frozenset(GSM7_BASIC + GSM7_EXTENSION)
_EXT_SET = frozenset(GSM7_EXTENSION)
_GSM7_RE = "[" + re.escape(GSM7_BASIC + GSM7_EXTENSION) + "]*"
_EXT_RE = "[" + re.escape(GSM7_EXTENSION) + "]"
_BASIC_RE = "[" + re.escape(GSM7_BASIC) + "]*"
_ASTRAL_RE = "[\U00010000-\U0010ffff]"

_VAR_RE = re.compile(r"\$\{([^{}]*)\}")
_NUM_TXT_RE = re.compile(r"(NUM|TXT)_([1-9]\d*)")
_INTERNATIONAL_NAMED = ("DATE", "TIME")
_MAINLAND_NAMED = ("PHONE", "CHARDIGIT", "DATETIME", "MONEY", "TEXT")


# ---------------------------------------------------------------------------------------------- variables


@dataclass(frozen=True, slots=True)
class _Rule:
    """A variable's value rule: a full-match regex (for vectorized checks) plus a readable description."""

    pattern: str
    describe: str

    @property
    def compiled(self) -> re.Pattern[str]:
        return _compile(self.pattern)


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.DOTALL)


@lru_cache(maxsize=256)
def _rule_for(name: str) -> _Rule:
    """The value rule of one variable name (raises ValueError for an unknown name)."""
    m = _NUM_TXT_RE.fullmatch(name)
    if m:
        n = int(m.group(2))
        if not 1 <= n <= 20:
            raise ValueError(f"${{{name}}}: n must be 1–20")
        if m.group(1) == "NUM":
            return _Rule(rf"[0-9]{{1,{n}}}", f"1–{n} digits")
        return _Rule(rf"[^{{}}]{{1,{n}}}", f"1–{n} characters without braces")
    if name in _INTERNATIONAL_NAMED or name == "DATETIME":
        return _Rule(r"[^{}]{1,20}", "1–20 characters without braces")
    if name.isdigit() and 1 <= int(name) <= 20 and not name.startswith("0"):
        return _Rule(r"[^{}]{1,20}", "1–20 characters without braces (numbered variable)")
    if name == "PHONE":
        return _Rule(r"[0-9+\-]{4,15}", "4–15 of digits, '+' and '-'")
    if name == "CHARDIGIT":
        return _Rule(r"[A-Za-z0-9_]{1,20}", "1–20 letters, digits or '_'")
    if name == "MONEY":
        return _Rule(r"[0-9.]{1,20}", "1–20 digits or '.'")
    if name == "TEXT":
        return _Rule(r"[^.。'<>{}]{1,20}", "1–20 characters without . 。 ' < > { }")
    raise ValueError(
        f"unknown template variable ${{{name}}}: expected NUM_n, TXT_n, DATE, TIME, 1–20, PHONE, "
        "CHARDIGIT, DATETIME, MONEY or TEXT"
    )


@lru_cache(maxsize=256)
def _value_regex(name: str) -> re.Pattern[str]:
    """Full-match regex of a valid value of variable ``name``: not blank, and the variable's rule."""
    return _compile(r"(?=.*\S)(?:" + _rule_for(name).pattern + ")")


def _fullmatches(pattern: re.Pattern[str], values: list[str]) -> np.ndarray:
    """``bool`` array: does ``pattern`` fully match each string (C-level iteration over the list)."""
    return np.fromiter(map(bool, map(pattern.fullmatch, values)), dtype=bool, count=len(values))


def parse_variables(content: str) -> tuple[str, ...]:
    """Names of the variables in ``content`` in order of appearance, e.g. ``("NUM_6",)``.

    Raises ``DataValidationError`` for a name the platform does not know.
    """
    names = tuple(_VAR_RE.findall(content))
    for name in names:
        try:
            _rule_for(name)
        except ValueError as exc:
            raise DataValidationError(str(exc), advice="fix the template content") from exc
    return names


@lru_cache(maxsize=4096)
def _literals(content: str) -> tuple[str, ...]:
    """The text around the variables: ``len(result) == n_variables + 1``."""
    return tuple(_VAR_RE.split(content)[::2])


# ---------------------------------------------------------------------------------------------- Template


@dataclass(frozen=True, slots=True)
class Template:
    """One approved SMS template; ``variables`` is derived from ``content``."""

    template_id: str
    content: str
    region: Region = "international"
    kind: Kind = "notification"
    signature: str | None = None
    variables: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        problems = []
        if not self.template_id or len(self.template_id) > MAX_TEMPLATE_ID_CHARS:
            problems.append(f"template_id must be 1–{MAX_TEMPLATE_ID_CHARS} chars")
        if self.region not in REGIONS:
            problems.append(f"region {self.region!r} is not one of {REGIONS}")
        if self.kind not in KINDS:
            problems.append(f"kind {self.kind!r} is not one of {KINDS}")
        if problems:
            raise DataValidationError(
                f"template {self.template_id!r}: " + "; ".join(problems), advice="fix the template catalog"
            )
        variables = parse_variables(self.content)
        if len(variables) > MAX_VARIABLES:
            raise DataValidationError(
                f"template {self.template_id!r} has {len(variables)} variables; the limit is {MAX_VARIABLES}",
                advice="split the template",
            )
        if self.kind == "verification" and len(variables) != 1:
            raise DataValidationError(
                f"verification template {self.template_id!r} has {len(variables)} variables; it needs exactly 1",
                advice="use kind 'notification' or keep one variable",
            )
        object.__setattr__(self, "variables", variables)
        if self.signature == "":
            object.__setattr__(self, "signature", None)

    def _repr_html_(self) -> str:
        return TemplateCatalog([self])._repr_html_()


def _signature_for(template: Template, signature: str | None) -> str | None:
    return signature or template.signature


def _prefix(template: Template, signature: str | None) -> str:
    """The ``【signature】`` the mainland platform prepends (empty for international templates)."""
    sig = _signature_for(template, signature)
    return f"【{sig}】" if template.region == "mainland" and sig else ""


def _fixed_text(template: Template, signature: str | None) -> str:
    """Everything a message of ``template`` contains besides its params: the prefix and the literals."""
    return _prefix(template, signature) + "".join(_literals(template.content))


def _render_columns(
    template: Template, columns: Sequence[Sequence[str] | np.ndarray], n: int, signature: str | None
) -> np.ndarray:
    """Object array of ``n`` rendered messages, param j of message i being ``columns[j][i]``."""
    lits = _literals(template.content)
    pieces = [_prefix(template, signature) + lits[0], *lits[1:]]
    if not columns:
        out = np.empty(n, dtype=object)
        out[:] = pieces[0]
        return out
    parts: list[Iterable[str]] = [itertools.repeat(pieces[0])]
    for column, lit in zip(columns, pieces[1:], strict=True):
        parts += [column, itertools.repeat(lit)]
    return np.fromiter(map("".join, zip(*parts, strict=False)), dtype=object, count=n)  # repeat() is endless


# ---------------------------------------------------------------------------------------------- catalog


class TemplateCatalog(Mapping[str, Template]):
    """Read-only ``{template_id: Template}`` mapping that renders as a table in notebooks."""

    def __init__(self, templates: Iterable[Template]) -> None:
        self._by_id: dict[str, Template] = {}
        for t in templates:
            if t.template_id in self._by_id:
                raise DataValidationError(
                    f"template_id {t.template_id!r} appears twice", advice="keep one row per template_id"
                )
            self._by_id[t.template_id] = t

    def __getitem__(self, template_id: str) -> Template:
        try:
            return self._by_id[template_id]
        except KeyError:
            raise KeyError(f"unknown template_id {template_id!r}; known: {sorted(self._by_id)[:10]}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def __repr__(self) -> str:
        ids = ", ".join(list(self._by_id)[:5]) + ("…" if len(self) > 5 else "")
        return f"TemplateCatalog({len(self)} templates: {ids})"

    def to_frame(self) -> pd.DataFrame:
        """One row per template: id, region, kind, signature, variables, content."""
        rows = [
            {
                "template_id": t.template_id,
                "region": t.region,
                "kind": t.kind,
                "signature": t.signature or "",
                "variables": " ".join(f"${{{v}}}" for v in t.variables),
                "content": t.content,
            }
            for t in self._by_id.values()
        ]
        columns = ["template_id", "region", "kind", "signature", "variables", "content"]
        return pd.DataFrame(rows, columns=columns).set_index("template_id")

    def _repr_html_(self) -> str:
        return f"<b>{len(self)} templates</b>" + self.to_frame().to_html(escape=True)


_REQUIRED_COLUMNS = ("template_id", "content", "region", "kind")


def load_templates(source: str | os.PathLike[str] | pd.DataFrame | io.IOBase) -> TemplateCatalog:
    """Read a template catalog from CSV or JSON (a list of objects) with columns
    ``template_id, content, region, kind, signature``; ``templates[template_id]`` gives a ``Template``.

    Raises ``DataValidationError`` naming every bad row.
    """
    records = _read_template_records(source)
    problems: list[dict[str, Any]] = []
    templates: list[Template] = []
    for i, rec in enumerate(records):
        missing = [c for c in _REQUIRED_COLUMNS if not str(rec.get(c) or "").strip()]
        if missing:
            problems.append({"row": i, "template_id": rec.get("template_id"), "problem": f"missing {missing}"})
            continue
        try:
            templates.append(
                Template(
                    template_id=str(rec["template_id"]).strip(),
                    content=str(rec["content"]),
                    region=str(rec["region"]).strip().lower(),  # type: ignore[arg-type]
                    kind=str(rec["kind"]).strip().lower(),  # type: ignore[arg-type]
                    signature=(str(rec.get("signature") or "").strip() or None),
                )
            )
        except DataValidationError as exc:
            problems.append({"row": i, "template_id": rec.get("template_id"), "problem": exc.message})
    if problems:
        rows = pd.DataFrame(problems)
        raise DataValidationError(
            f"{len(rows)} template row(s) are invalid: {rows['problem'].iloc[0]}",
            rows=rows,
            advice="fix these rows of the template file",
        )
    return TemplateCatalog(templates)


def _read_template_records(source: Any) -> list[dict[str, Any]]:
    if isinstance(source, pd.DataFrame):
        return source.fillna("").astype(str).to_dict("records")  # type: ignore[return-value]
    if isinstance(source, io.IOBase):
        text = source.read()
        text = text.decode("utf-8-sig") if isinstance(text, bytes) else text
        return _parse_template_text(text, json_first=text.lstrip().startswith(("[", "{")))
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DataValidationError(
            f"cannot read template file {path}: {exc.strerror or exc}", advice="check the path"
        ) from exc
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise DataValidationError(
            f"template file {path.name} has extension {suffix!r}", advice="use a .csv or .json file"
        )
    return _parse_template_text(text, json_first=suffix == ".json")


def _parse_template_text(text: str, *, json_first: bool) -> list[dict[str, Any]]:
    if json_first:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataValidationError(f"template JSON is malformed: {exc}", advice="fix the JSON or use CSV") from exc
        if isinstance(data, dict):
            data = data.get("templates", [data])
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            raise DataValidationError("template JSON must be a list of objects", advice='write [{"template_id": …}, …]')
        return data
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in _REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise DataValidationError(
            f"template CSV lacks column(s) {missing}; it has {reader.fieldnames}",
            advice="columns are template_id, content, region, kind, signature",
        )
    return list(reader)


# ---------------------------------------------------------------------------------------------- params


def validate_params(template: Template, params: Sequence[str], *, signature: str | None = None) -> list[str]:
    """Problems with sending ``params`` to ``template`` (an empty list means fine).

    >>> validate_params(t, ["12345a"])  # ${NUM_6}
    ['variable 1 ${NUM_6}: must be 1–6 digits, got 6 chars']
    """
    problems: list[str] = []
    variables = template.variables
    if len(params) != len(variables):
        problems.append(f"template {template.template_id} has {len(variables)} variable(s), got {len(params)} param(s)")
        return problems
    for i, (name, value) in enumerate(zip(variables, params, strict=True), start=1):
        if not isinstance(value, str):
            problems.append(f"variable {i} ${{{name}}}: params must be str, got {type(value).__name__}")
            continue
        if not value.strip():
            problems.append(f"variable {i} ${{{name}}}: value is empty")
            continue
        rule = _rule_for(name)
        if rule.compiled.fullmatch(value) is None:
            problems.append(f"variable {i} ${{{name}}}: must be {rule.describe}, got {len(value)} chars")
        if template.kind == "verification" and len(value) > MAX_VERIFICATION_CHARS:
            problems.append(f"variable {i} ${{{name}}}: a verification code is at most {MAX_VERIFICATION_CHARS} chars")
    if template.region == "mainland" and not _signature_for(template, signature):
        problems.append(f"mainland template {template.template_id} needs a signature")
    if not problems:
        n = _rendered_length(template, params, signature)
        if n > MAX_CONTENT_CHARS:
            problems.append(f"message is {n} chars with its signature; the limit is {MAX_CONTENT_CHARS}")
    return problems


def _rendered_length(template: Template, params: Sequence[str], signature: str | None) -> int:
    return (
        len(_prefix(template, signature))
        + sum(len(s) for s in _literals(template.content))
        + sum(len(p) for p in params)
    )


def invalid_params_mask(template: Template, params: pd.DataFrame, *, signature: str | None = None) -> pd.Series:
    """Vectorized ``bool(validate_params(...))`` over a frame whose columns are the params in order.

    Same index as ``params``; ``True`` where the row has a problem. Call ``validate_params`` on the
    (few) flagged rows for the messages.
    """
    n_vars = len(template.variables)
    if params.shape[1] != n_vars or (template.region == "mainland" and not _signature_for(template, signature)):
        return pd.Series(True, index=params.index, dtype=bool)
    bad = np.zeros(len(params), dtype=bool)
    total = np.full(len(params), len(_fixed_text(template, signature)), dtype=np.int64)
    for j, name in enumerate(template.variables):
        col = params.iloc[:, j]
        is_str = (
            np.fromiter((isinstance(v, str) for v in col), bool, len(col))
            if col.dtype == object
            else ~col.isna().to_numpy()
        )
        values = col.where(is_str, "").astype(str).tolist()
        length = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        ok = _fullmatches(_value_regex(name), values) & is_str
        if template.kind == "verification":
            ok = ok & (length <= MAX_VERIFICATION_CHARS)
        bad |= ~ok
        total = total + length
    bad |= total > MAX_CONTENT_CHARS
    return pd.Series(bad, index=params.index, dtype=bool)


# ---------------------------------------------------------------------------------------------- render


def render(template: Template, params: Sequence[str] = (), *, signature: str | None = None) -> str:
    """The message as the recipient sees it (mainland: ``【signature】`` first).

    Substitutes only; call ``validate_params`` for the rules. Raises ``DataValidationError`` when the
    number of params does not match the variables.
    """
    lits = _literals(template.content)
    if len(params) != len(lits) - 1:
        raise DataValidationError(
            f"template {template.template_id} has {len(lits) - 1} variable(s), got {len(params)} param(s)",
            advice="pass one param per variable, in order",
        )
    out = [_prefix(template, signature), lits[0]]
    for p, lit in zip(params, lits[1:], strict=True):
        out += [str(p), lit]
    return "".join(out)


def render_series(template: Template, params: pd.DataFrame, *, signature: str | None = None) -> pd.Series:
    """Vectorized ``render`` over a frame whose columns are the params in order (same index)."""
    lits = _literals(template.content)
    if params.shape[1] != len(lits) - 1:
        raise DataValidationError(
            f"template {template.template_id} has {len(lits) - 1} variable(s), got {params.shape[1]} column(s)",
            advice="pass one params column per variable, in order",
        )
    columns = [params.iloc[:, j].astype(str).tolist() for j in range(params.shape[1])]
    out = _render_columns(template, columns, len(params), signature)
    return pd.Series(out, index=params.index, dtype="str")


# ---------------------------------------------------------------------------------------------- encoding


def encoding_of(text: str) -> Encoding:
    """``"GSM-7"`` when every char is in the GSM 03.38 alphabet (basic or extension), else ``"UCS-2"``."""
    return "GSM-7" if _GSM7_SET.issuperset(text) else "UCS-2"


def ucs2_chars(text: str) -> list[str]:
    """The distinct characters (first-seen order) that force ``text`` into UCS-2."""
    return list(dict.fromkeys(c for c in text if c not in _GSM7_SET))


def text_length(text: str) -> int:
    """Length in the message's own units: GSM-7 septets (extension chars count 2) or UTF-16 code units."""
    if encoding_of(text) == "GSM-7":
        return len(text) + sum(c in _EXT_SET for c in text)
    return len(text.encode("utf-16-le")) // 2


# (units in a single segment, units per segment beyond one)
_GSM7_SEGMENT = (160, 153)
_UCS2_SEGMENT = (70, 67)


def _segments_from(length: int, ucs2: bool) -> int:
    single, multi = _UCS2_SEGMENT if ucs2 else _GSM7_SEGMENT
    return 1 if length <= single else math.ceil(length / multi)


def segments(text: str) -> int:
    """Billed segments: GSM-7 160 in one, 153 each beyond; UCS-2 70, then 67. Empty text is 1 segment."""
    return _segments_from(text_length(text), encoding_of(text) == "UCS-2")


def encoding_series(texts: pd.Series) -> pd.Series:
    """Vectorized ``encoding_of`` (same index, ``category`` dtype)."""
    gsm = _text_stats(texts.astype(str).tolist())[0]
    return pd.Series(pd.Categorical(np.where(gsm, "GSM-7", "UCS-2"), categories=["GSM-7", "UCS-2"]), index=texts.index)


def segments_series(texts: pd.Series, *, encodings: pd.Series | None = None) -> pd.Series:
    """Vectorized ``segments`` (same index, int64); ``encodings`` may give the encoding already known."""
    gsm, chars, ext, astral = _text_stats(texts.astype(str).tolist())
    ucs2 = ~gsm if encodings is None else (encodings == "UCS-2").to_numpy()
    return pd.Series(_segments_of(chars + np.where(ucs2, astral, ext), ucs2), index=texts.index)


def _text_stats(values: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per string: (all GSM-7, chars, GSM-7 extension chars, astral chars).

    A message's units add up over its parts: it is GSM-7 when every part is, and its length is the
    chars plus the extension chars (GSM-7) or plus the astral chars (UCS-2, surrogate pairs).
    """
    n = len(values)
    gsm = _fullmatches(_compile(_BASIC_RE), values)
    chars = np.fromiter(map(len, values), dtype=np.int64, count=n)
    ext = np.zeros(n, dtype=np.int64)
    astral = np.zeros(n, dtype=np.int64)
    other = np.flatnonzero(~gsm)
    if len(other):
        rest = pd.Series(np.asarray(values, dtype=object)[other], dtype=object)
        rest_gsm = rest.str.fullmatch(_GSM7_RE, flags=re.DOTALL).to_numpy(dtype=bool)
        gsm[other] = rest_gsm
        ext[other[rest_gsm]] = rest[rest_gsm].str.count(_EXT_RE).to_numpy(dtype=np.int64)
        astral[other[~rest_gsm]] = rest[~rest_gsm].str.count(_ASTRAL_RE).to_numpy(dtype=np.int64)
    return gsm, chars, ext, astral


def _segments_of(length: np.ndarray, ucs2: np.ndarray) -> np.ndarray:
    """Vectorized ``_segments_from``."""
    single = np.where(ucs2, _UCS2_SEGMENT[0], _GSM7_SEGMENT[0])
    multi = np.where(ucs2, _UCS2_SEGMENT[1], _GSM7_SEGMENT[1])
    return np.where(length <= single, 1, -(-length // multi)).astype(np.int64)
