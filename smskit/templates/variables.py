"""Template variables and the value rules of each, as the platform's template specification states them.

* international ``${NUM_n}`` digits only, at most n; ``${TXT_n}`` no ``{``/``}``, at most n chars;
  ``${DATE}`` / ``${TIME}`` not empty (formats are unknown to the project: any value without braces, ≤ 20);
* blank stand-ins (the guide, seed lines 449–450, 1981–1982, 5044–5045: "You can use spaces or dots (.)
  to replace the empty value of ${TXT_20} and use 0 to replace the empty value of NUM_6";
  "${DATE}${TIME} cannot be empty"): a ``${TXT_n}`` value may be only spaces or dots, ``"0"`` fills an
  empty ``${NUM_n}``, and a ``${DATE}``/``${TIME}`` made only of spaces or dots counts as empty. A
  value is never the empty string. Other variables must hold a non-blank value;
* Chinese mainland ``${PHONE}`` 4–15 of digits, ``+``, ``-``; ``${CHARDIGIT}`` 1–20 letters, digits, ``_``;
  ``${DATETIME}`` 1–20 chars; ``${MONEY}`` 1–20 digits and ``.``; ``${TEXT}`` 1–20 chars without
  ``.`` ``。`` ``'`` ``<`` ``>`` ``{`` ``}``; numbered ``${1}``…``${20}``: their real rules are set when the
  template is created and are unknown here, so the project requires 1–20 chars without braces.

Each variable occurrence takes one parameter, in order of appearance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from smskit.errors import DataValidationError
from smskit.templates._regex import compile_pattern

__all__ = ["literals", "parse_variables", "value_regex", "value_rule"]

_VAR_RE = re.compile(r"\$\{([^{}]*)\}")


_NUM_TXT_RE = re.compile(r"(NUM|TXT)_([1-9]\d*)")


_INTERNATIONAL_NAMED = ("DATE", "TIME")


_MAINLAND_NAMED = ("PHONE", "CHARDIGIT", "DATETIME", "MONEY", "TEXT")


_DATE_TIME_HINT = "${DATE} and ${TIME} cannot be empty, not even as spaces or dots"


@dataclass(frozen=True, slots=True)
class _Rule:
    """A variable's value rule: a full-match regex (for vectorized checks), a readable description,
    and what stands for an empty value (``blank_ok``: spaces and dots are a value; ``dots_blank``: a value
    of only spaces and dots is empty; ``empty_hint``: the advice)."""

    pattern: str
    describe: str
    blank_ok: bool = False
    dots_blank: bool = False
    empty_hint: str = "every variable needs a value"

    @property
    def compiled(self) -> re.Pattern[str]:
        return compile_pattern(self.pattern)


@lru_cache(maxsize=256)
def value_rule(name: str) -> _Rule:
    """The value rule of one variable name (raises ValueError for an unknown name)."""
    m = _NUM_TXT_RE.fullmatch(name)
    if m:
        n = int(m.group(2))
        if not 1 <= n <= 20:
            raise ValueError(f"${{{name}}}: n must be 1–20")
        if m.group(1) == "NUM":
            return _Rule(rf"[0-9]{{1,{n}}}", f"1–{n} digits", empty_hint=f'send "0" for an empty ${{{name}}}')
        return _Rule(
            rf"[^{{}}]{{1,{n}}}",
            f"1–{n} characters without braces",
            blank_ok=True,
            empty_hint=f'send " " or "." for an empty ${{{name}}}',
        )
    if name in _INTERNATIONAL_NAMED:
        return _Rule(
            r"(?=.*[^\s.])[^{}]{1,20}", "1–20 characters without braces", dots_blank=True, empty_hint=_DATE_TIME_HINT
        )
    if name == "DATETIME":
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
def value_regex(name: str) -> re.Pattern[str]:
    """Full-match regex of a valid value of variable ``name``: the variable's rule, and not blank unless
    blanks stand for an empty value of it (``${TXT_n}``)."""
    rule = value_rule(name)
    return compile_pattern(rule.pattern if rule.blank_ok else r"(?=.*\S)(?:" + rule.pattern + ")")


def parse_variables(content: str) -> tuple[str, ...]:
    """Names of the variables in ``content`` in order of appearance, e.g. ``("NUM_6",)``.

    Raises ``DataValidationError`` for a name the platform does not know.
    """
    names = tuple(_VAR_RE.findall(content))
    for name in names:
        try:
            value_rule(name)
        except ValueError as exc:
            raise DataValidationError(str(exc), advice="fix the template content") from exc
    return names


@lru_cache(maxsize=4096)
def literals(content: str) -> tuple[str, ...]:
    """The text around the variables: ``len(result) == n_variables + 1``."""
    return tuple(_VAR_RE.split(content)[::2])
