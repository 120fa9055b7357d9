"""Pure local checks of send arguments, made before any request (limits from :mod:`smskit.protocol`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from smskit.errors import DataValidationError
from smskit.protocol import (
    MAX_CALLBACK_LEN,
    MAX_EXTEND_LEN,
    MAX_NUMBER_LEN,
    MAX_NUMBERS,
    MAX_TEMPLATE_ID_LEN,
    MAX_VARIABLES,
)

__all__ = [
    "check_extend",
    "check_numbers",
    "check_params",
    "check_status_callback",
    "check_template_id",
    "split_numbers",
]


# The guide: "Global number format (including the country code), for example, +86151****6789"
# (seed line 906, and every other example): a '+', then digits.
_E164 = re.compile(r"^\+[0-9]{1,20}$")


def _fail(message: str, advice: str) -> DataValidationError:
    return DataValidationError(message, advice=advice)


def split_numbers(to: str | Iterable[str]) -> list[str]:
    """Numbers from a comma-separated string or an iterable of strings."""
    if isinstance(to, str):
        return [n.strip() for n in to.split(",") if n.strip()]
    numbers = list(to)
    bad = [n for n in numbers if not isinstance(n, str)]
    if bad:
        raise _fail(
            f"phone numbers must be str, got {type(bad[0]).__name__} {bad[0]!r}",
            "read numbers as text (smskit.read_recipients does): numbers lose '+' and leading zeros",
        )
    return [n.strip() for n in numbers]


def check_numbers(numbers: Sequence[str]) -> None:
    """At most 500 numbers, each ``+`` then digits (global format with the country code), ≤ 21 characters.

    A number without ``+`` is refused rather than guessed: ``8615512345678`` and ``0086155…`` may be
    national numbers, and one bad number fails the whole call anyway.
    """
    if not numbers:
        raise _fail("no recipient numbers given", "pass at least one E.164 number such as +8615512345678")
    if len(numbers) > MAX_NUMBERS:
        raise _fail(
            f"{len(numbers)} numbers in one call; the API takes at most {MAX_NUMBERS}",
            "split the list, or use smskit.send_campaign which batches for you",
        )
    bad = [n for n in numbers if len(n) > MAX_NUMBER_LEN or not _E164.match(n)]
    if bad:
        shown = ", ".join(repr(n) for n in bad[:5])
        raise _fail(
            f"{len(bad)} number(s) are not E.164 ('+', country code and digits, ≤ {MAX_NUMBER_LEN} chars): {shown}",
            "write numbers in global format such as +8615512345678, or normalize them first "
            "(smskit.plan_campaign does, with default_region for national ones)",
        )


def check_template_id(template_id: str) -> None:
    if not isinstance(template_id, str) or not template_id or len(template_id) > MAX_TEMPLATE_ID_LEN:
        raise _fail(
            f"template_id {template_id!r} must be a non-empty str of ≤ {MAX_TEMPLATE_ID_LEN} characters",
            "copy the template ID from the console's template list",
        )


def check_params(params: Sequence[str] | None) -> list[str]:
    """Template parameters as a list of non-empty ``str`` (numbers refused: leading zeros are data)."""
    if params is None:
        return []
    if isinstance(params, str):
        raise _fail(
            f"params must be a sequence of str, not one str {params!r}",
            'wrap it: params=["369751"]',
        )
    values = list(params)
    not_str = [v for v in values if not isinstance(v, str)]
    if not_str:
        raise _fail(
            f"template parameters must be str, got {type(not_str[0]).__name__} {not_str[0]!r}",
            "pass text such as '002569': numbers lose leading zeros (002569 would become 2569)",
        )
    if any(v == "" for v in values):
        raise _fail("a template parameter is empty", "every template variable needs a non-empty value")
    if len(values) > MAX_VARIABLES:
        raise _fail(f"{len(values)} parameters; a template has at most {MAX_VARIABLES}", "check the template")
    return values


def check_extend(extend: str | None) -> None:
    if extend is None:
        return
    if len(extend) > MAX_EXTEND_LEN or "{" in extend or "}" in extend:
        raise _fail(
            f"extend must be ≤ {MAX_EXTEND_LEN} characters without braces (got {len(extend)} chars)",
            "shorten it; it is echoed in status reports to tie them to your records",
        )


def check_status_callback(url: str | None) -> None:
    if url is None:
        return
    if len(url) > MAX_CALLBACK_LEN or not url.startswith(("http://", "https://")):
        raise _fail(
            f"statusCallback must be an http(s) URL of at most {MAX_CALLBACK_LEN} characters",
            "pass the receiver's URL, e.g. CallbackReceiver(...).url",
        )
