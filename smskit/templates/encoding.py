"""GSM-7 / UCS-2 detection, message length in the encoding's units, and billed segments.

GSM-7 text: 160 septets in one segment, 153 per segment beyond (extension characters such as € cost
two septets); anything else is UCS-2: 70 UTF-16 units, then 67 (an emoji is a surrogate pair: two units).
A two-unit character (an escape pair, a surrogate pair) is never split between segments: when only one
unit is left in a segment it starts the next one, so ``"a"*152 + "€" + "a"*152`` is 3 segments, not 2.
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np
import pandas as pd

from smskit.templates._regex import compile_pattern, fullmatches

__all__ = [
    "GSM7_BASIC",
    "GSM7_CHARS",
    "GSM7_EXTENSION",
    "Encoding",
    "encoding_of",
    "encoding_series",
    "segments",
    "segments_from_stats",
    "segments_series",
    "text_length",
    "text_stats",
    "ucs2_chars",
]

Encoding = Literal["GSM-7", "UCS-2"]


# GSM 03.38 default alphabet (ESC excluded: it only introduces the extension table).
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


# Extension table: each costs two septets (ESC + char).
GSM7_EXTENSION = "\f^{}\\[~]|€"


GSM7_CHARS = frozenset(GSM7_BASIC + GSM7_EXTENSION)


_EXT_SET = frozenset(GSM7_EXTENSION)


_GSM7_RE = "[" + re.escape(GSM7_BASIC + GSM7_EXTENSION) + "]*"


_EXT_RE = "[" + re.escape(GSM7_EXTENSION) + "]"


_BASIC_RE = "[" + re.escape(GSM7_BASIC) + "]*"


_ASTRAL_RE = "[\U00010000-\U0010ffff]"


def encoding_of(text: str) -> Encoding:
    """``"GSM-7"`` when every char is in the GSM 03.38 alphabet (basic or extension), else ``"UCS-2"``."""
    return "GSM-7" if GSM7_CHARS.issuperset(text) else "UCS-2"


def ucs2_chars(text: str) -> list[str]:
    """The distinct characters (first-seen order) that force ``text`` into UCS-2."""
    return list(dict.fromkeys(c for c in text if c not in GSM7_CHARS))


def text_length(text: str) -> int:
    """Length in the message's own units: GSM-7 septets (extension chars count 2) or UTF-16 code units."""
    if encoding_of(text) == "GSM-7":
        return len(text) + sum(c in _EXT_SET for c in text)
    return len(text.encode("utf-16-le")) // 2


# (units in a single segment, units per segment beyond one)
_GSM7_SEGMENT = (160, 153)


_UCS2_SEGMENT = (70, 67)


def _split_count(text: str, ucs2: bool) -> int:
    """Segments of a multi-segment ``text``, filled in order, a two-unit character never split."""
    multi = (_UCS2_SEGMENT if ucs2 else _GSM7_SEGMENT)[1]
    double = (lambda c: c > "\uffff") if ucs2 else _EXT_SET.__contains__
    count, fill = 1, 0
    for char in text:
        units = 2 if double(char) else 1
        if fill + units > multi:
            count, fill = count + 1, 0
        fill += units
    return count


def segments(text: str) -> int:
    """Billed segments: GSM-7 160 in one, 153 each beyond; UCS-2 70, then 67; a two-unit character is never
    split between segments. Empty text is 1 segment."""
    return int(segments_from_stats([text], *text_stats([text]))[0])


def segments_from_stats(
    texts: list[str] | np.ndarray, gsm: np.ndarray, chars: np.ndarray, ext: np.ndarray, astral: np.ndarray
) -> np.ndarray:
    """Billed segments of messages from their :func:`text_stats` (summed over a message's parts).

    The counts are exact from the statistics alone unless a multi-segment message holds two-unit
    characters (which must not straddle a boundary): only those few are walked, in ``texts``.
    """
    ucs2 = ~np.asarray(gsm, dtype=bool)
    doubles = np.where(ucs2, astral, ext)
    length = chars + doubles
    single = np.where(ucs2, _UCS2_SEGMENT[0], _GSM7_SEGMENT[0])
    multi = np.where(ucs2, _UCS2_SEGMENT[1], _GSM7_SEGMENT[1])
    out = np.where(length <= single, 1, -(-length // multi)).astype(np.int64)
    for i in np.flatnonzero((length > single) & (doubles > 0)).tolist():
        out[i] = _split_count(texts[i], bool(ucs2[i]))
    return out


def encoding_series(texts: pd.Series) -> pd.Series:
    """Vectorized ``encoding_of`` (same index, ``category`` dtype)."""
    gsm = text_stats(texts.astype(str).tolist())[0]
    return pd.Series(pd.Categorical(np.where(gsm, "GSM-7", "UCS-2"), categories=["GSM-7", "UCS-2"]), index=texts.index)


def segments_series(texts: pd.Series, *, encodings: pd.Series | None = None) -> pd.Series:
    """Vectorized ``segments`` (same index, int64); ``encodings`` may give the encoding already known."""
    values = texts.astype(str).tolist()
    gsm, chars, ext, astral = text_stats(values)
    if encodings is not None:
        gsm = (encodings != "UCS-2").to_numpy(dtype=bool)
    return pd.Series(segments_from_stats(values, gsm, chars, ext, astral), index=texts.index)


def text_stats(values: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per string: (all GSM-7, chars, GSM-7 extension chars, astral chars).

    A message's units add up over its parts: it is GSM-7 when every part is, and its length is the
    chars plus the extension chars (GSM-7) or plus the astral chars (UCS-2, surrogate pairs).
    """
    n = len(values)
    gsm = fullmatches(compile_pattern(_BASIC_RE), values)
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
