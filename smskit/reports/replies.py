"""Pure parsing of uplink (reply) SMS pushes, the unsubscribe test, and the replies frame.

The platform POSTs every reply a recipient sends to the uplink URL configured on the application
(API reference "接收上行短信", https://support.huaweicloud.com/api-msgsms/sms_05_0004.html; fields in
"接收上行短信:请求参数",
https://huaweicloud.com/guide/productsdesc-bms_3aebeef18cf7a94cbc2e3f905f47e993support1), one reply
per request, ``application/x-www-form-urlencoded``::

    from=%2B8615512345678&to=1069012345&body=TD&smsMsgId=9692b5be-c427-4525-8e73-cf4a6ac5b3f7

Fields: ``smsMsgId`` (1–50, the reply's own id, unrelated to the sent message's), ``from`` (1–21, the
replier), ``to`` (1–21, the channel number), ``body`` (1–160), optional ``createTime`` (UTC
``yyyy-MM-ddTHH:mm:ssZ``, only when enabled in the console). Uplink is Chinese mainland only, and
replies cannot be queried later: a push not stored is lost.

A garbled ``body`` was decoded as ISO-8859-1 on the way (FAQ "如果上行短信呈现乱码,如何处理?", quoted in
the project's reference notes §3: ``new String(body.getBytes("ISO-8859-1"), "UTF-8")``):
:func:`repair_body` re-encodes such text as Latin-1 and decodes it as UTF-8 when that round-trips.

Malformed input raises :class:`~smskit.errors.ReportError`, never another exception.
Usage: ``reply = parse_reply_body(body_bytes)``; ``is_unsubscribe("ＴＤ")``; ``read_replies("replies.log")``.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, overload
from urllib.parse import urlencode

import numpy as np
import pandas as pd

from smskit.errors import DataValidationError, ReportError
from smskit.frames import REPLIES
from smskit.frames import UTC as UTC_TIME
from smskit.protocol import UPDATE_TIME_FORMAT
from smskit.reports.wire import BLANK_OR_CONTROL, parse_update_time, split_urlencoded

__all__ = [
    "MAX_BODY_CHARS",
    "MAX_REPLY_BYTES",
    "REPLY_COLUMNS",
    "REPLY_DTYPES",
    "REPLY_INSERT",
    "REPLY_SCHEMA",
    "UNSUBSCRIBE_WORDS",
    "Reply",
    "is_unsubscribe",
    "parse_reply_body",
    "parse_reply_fields",
    "read_replies",
    "repair_body",
    "replies_frame",
    "reply_row",
]

_UTC = pd.DatetimeTZDtype("ns", "UTC")
#: Columns of every replies frame (``rx.replies()``, :func:`read_replies`), from :data:`smskit.frames.REPLIES`.
REPLY_COLUMNS: tuple[str, ...] = REPLIES.columns
REPLY_DTYPES: dict[str, Any] = {c: (_UTC if d == UTC_TIME else d) for c, d in REPLIES.dtypes.items()}

#: Replies that unsubscribe, compared after NFKC, case folding and dropping blanks and punctuation.
#: "R" is Huawei's documented word (FAQ "消息&短信服务支持短信退订回复吗?"); TD/T/N/退订 are the Chinese
#: carriers' customary ones; STOP…QUIT the usual international ones.
UNSUBSCRIBE_WORDS: tuple[str, ...] = (
    "R",
    "T",
    "TD",
    "N",
    "退订",
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
)
MAX_BODY_CHARS = 160
#: A reply push is a few hundred bytes; anything far beyond is not one.
MAX_REPLY_BYTES = 16 * 1024
_LIMITS = {"smsMsgId": 50, "from": 21, "to": 21, "createTime": 20}
_ERR = "the body is not an uplink (reply) push: smsMsgId, from, to and body are required"
_WIRE = {"smsMsgId": "sms_msg_id", "from": "from", "to": "to", "body": "body", "createTime": "create_time"}
#: Control characters a body may not hold (tab and line breaks are text), and lone surrogates.
_BODY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

#: The table a receiver store would keep replies in (one row per reply; a re-pushed reply is kept once).
REPLY_SCHEMA = """
CREATE TABLE IF NOT EXISTS replies (
    id          INTEGER PRIMARY KEY,
    sms_msg_id  TEXT NOT NULL UNIQUE,
    "from"      TEXT NOT NULL,
    "to"        TEXT NOT NULL,
    body        TEXT NOT NULL,
    raw_body    TEXT,
    create_time TEXT NOT NULL DEFAULT '',
    extra       TEXT,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS replies_from ON replies ("from");
"""
#: Insert for :data:`REPLY_SCHEMA` with the values of :func:`reply_row` (duplicates are ignored).
REPLY_INSERT = (
    'INSERT OR IGNORE INTO replies (sms_msg_id, "from", "to", body, raw_body, create_time, extra, received_at) '
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


# ------------------------------------------------------------------------------------------ one reply


@dataclass(frozen=True)
class Reply:
    """One reply; ``body`` is repaired text, ``raw_body`` the body as pushed when the repair changed it."""

    sms_msg_id: str
    from_: str
    to: str
    body: str
    create_time: datetime | None = None
    received_at: datetime | None = None
    raw_body: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def unsubscribe(self) -> bool:
        return is_unsubscribe(self.body)

    def to_wire(self, *, garbled: bool = False) -> dict[str, str]:
        """The platform's field names; ``garbled`` sends the body mis-decoded as ISO-8859-1, as some pushes arrive."""
        body = self.body.encode("utf-8").decode("latin-1") if garbled else self.body
        out = {"smsMsgId": self.sms_msg_id, "from": self.from_, "to": self.to, "body": body}
        if self.create_time is not None:
            out["createTime"] = self.create_time.astimezone(UTC).strftime(UPDATE_TIME_FORMAT)
        out.update(self.extra)
        return out

    def to_body(self, *, garbled: bool = False) -> str:
        """The urlencoded body the platform would POST for this reply."""
        return urlencode(self.to_wire(garbled=garbled))


def repair_body(text: str) -> str:
    """Undo a UTF-8 body mis-decoded as ISO-8859-1: re-encode as Latin-1, decode as UTF-8 when that works.

    Text with a character beyond U+00FF, pure ASCII, or Latin-1 bytes that are not UTF-8 is returned as is.
    """
    if text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _field(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name)
    if value is None or value == "":
        raise ReportError(f"reply push without {name}", advice=_ERR)
    if len(value) > _LIMITS[name]:
        raise ReportError(
            f"{name} has {len(value)} characters; the platform sends at most {_LIMITS[name]}", advice=_ERR
        )
    if BLANK_OR_CONTROL.search(value) or not value.isprintable():
        raise ReportError(f"{name} {value[:40]!r} has blanks or control characters", advice=_ERR)
    return value


def parse_reply_fields(fields: Mapping[str, Any], *, received_at: datetime | None = None) -> Reply:
    """Build a reply from wire fields (``smsMsgId``, ``from``, ``to``, ``body``, ``createTime``)."""
    values: dict[str, str] = {}
    for key, value in fields.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ReportError(f"field {str(key)[:40]!r} is not text", advice=_ERR)
        values[key] = value
    sms_msg_id, sender, to = _field(values, "smsMsgId"), _field(values, "from"), _field(values, "to")
    raw = values.get("body")
    if raw is None or not raw.strip():
        raise ReportError("reply push without body text", advice=_ERR)
    body = repair_body(raw)
    if len(body) > MAX_BODY_CHARS:
        raise ReportError(f"body has {len(body)} characters; the platform sends at most {MAX_BODY_CHARS}", advice=_ERR)
    if (bad := _BODY_CONTROL.search(body)) is not None:
        raise ReportError(f"body has the control character U+{ord(bad.group()):04X}", advice=_ERR)
    create = values.get("createTime")
    when = None
    if create:
        if len(create) > _LIMITS["createTime"]:
            raise ReportError(f"createTime {create[:40]!r} is not a time", advice=_ERR)
        try:
            when = parse_update_time(create)
        except ReportError:
            raise ReportError(f"createTime {create!r} is not a UTC time yyyy-MM-ddTHH:mm:ssZ", advice=_ERR) from None
        except (ValueError, OverflowError):
            raise ReportError(f"createTime {create!r} is out of range", advice=_ERR) from None
    extra = {k: v for k, v in values.items() if k not in _WIRE}
    for key, value in extra.items():
        if not key.isprintable() or not value.isprintable():
            raise ReportError(f"field {key[:40]!r} has control characters", advice=_ERR)
    return Reply(
        sms_msg_id=sms_msg_id,
        from_=sender,
        to=to,
        body=body,
        create_time=when,
        received_at=received_at,
        raw_body=raw if body != raw else None,
        extra=extra,
    )


def parse_reply_body(body: str | bytes, *, received_at: datetime | None = None) -> Reply:
    """Parse one ``application/x-www-form-urlencoded`` uplink push.

    >>> parse_reply_body("smsMsgId=u1&from=%2B8613800138000&to=1069012345&body=TD").unsubscribe
    True
    """
    if isinstance(body, bytes | bytearray):
        if len(body) > MAX_REPLY_BYTES:
            raise ReportError(f"reply push of {len(body)} bytes; at most {MAX_REPLY_BYTES} are read", advice=_ERR)
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ReportError(f"reply push is not UTF-8 text ({exc.reason} at byte {exc.start})", advice=_ERR) from exc
    elif isinstance(body, str):
        text = body
    else:
        raise ReportError(f"a reply push is text or bytes, not {type(body).__name__}", advice=_ERR)
    if len(text) > MAX_REPLY_BYTES:
        raise ReportError(f"reply push of {len(text)} characters; at most {MAX_REPLY_BYTES} are read", advice=_ERR)
    text = text.strip()
    if not text:
        raise ReportError("empty reply push", advice=_ERR)
    if "\n" in text or "\r" in text:
        raise ReportError("a urlencoded reply push is one line; this one has line breaks", advice=_ERR)
    try:
        fields = split_urlencoded(text)
    except ReportError as exc:
        raise ReportError(exc.message, advice=_ERR) from exc
    return parse_reply_fields(fields, received_at=received_at)


def reply_row(reply: Reply, received_at: datetime) -> tuple[str | None, ...]:
    """The values of :data:`REPLY_INSERT` for ``reply`` (times as UTC text)."""
    create = reply.create_time.astimezone(UTC).strftime(UPDATE_TIME_FORMAT) if reply.create_time else ""
    extra = json.dumps(dict(reply.extra), ensure_ascii=False, sort_keys=True) if reply.extra else None
    return (
        reply.sms_msg_id,
        reply.from_,
        reply.to,
        reply.body,
        reply.raw_body,
        create,
        extra,
        received_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    )


# ------------------------------------------------------------------------------------------ unsubscribe


_WORDS = frozenset(w.casefold() for w in UNSUBSCRIBE_WORDS)


def _normal(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in folded if unicodedata.category(c)[0] not in "PZC")


def _unsubscribe_one(text: object) -> bool:
    return isinstance(text, str) and len(text) <= 4 * MAX_BODY_CHARS and _normal(text) in _WORDS


@overload
def is_unsubscribe(text: str) -> bool: ...
@overload
def is_unsubscribe(text: pd.Series) -> pd.Series: ...
@overload
def is_unsubscribe(text: Sequence[Any] | np.ndarray) -> np.ndarray: ...
def is_unsubscribe(text: Any) -> Any:
    """Does a reply unsubscribe: the whole text is one of :data:`UNSUBSCRIBE_WORDS` (R, T, TD, N, 退订,
    STOP, UNSUBSCRIBE, …), ignoring case, full-width forms (NFKC), blanks and punctuation.

    A string gives a bool; a Series a bool Series on its index; a sequence a bool array. Non-text
    values are False. Each distinct text is looked at once.
    """
    if isinstance(text, str):
        return _unsubscribe_one(text)
    values = text.to_numpy(dtype=object) if isinstance(text, pd.Series) else np.asarray(text, dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    verdict = np.array([_unsubscribe_one(u) for u in uniques.tolist()] + [False], dtype=bool)
    out = verdict[np.where(codes < 0, len(uniques), codes)]
    return pd.Series(out, index=text.index, dtype=bool) if isinstance(text, pd.Series) else out


# ------------------------------------------------------------------------------------------ frames


def _utc_column(values: Any, index: pd.Index, what: str) -> pd.Series:
    series = pd.Series(values, index=index)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC").astype(_UTC)
    text = series.astype(object).where(series.notna() & (series.astype(object) != ""), None)
    try:
        parsed = pd.to_datetime(text, utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise DataValidationError(f"{what} has values that are not times: {exc}", advice="use UTC ISO-8601") from exc
    return parsed.astype(_UTC)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    index = frame.index
    out = pd.DataFrame(index=index)
    for name in ("sms_msg_id", "from", "to", "body"):
        out[name] = frame[name].astype(object).where(frame[name].notna(), None).astype("str")
    for name in ("create_time", "received_at"):
        out[name] = _utc_column(frame.get(name), index, name)
    out["unsubscribe"] = is_unsubscribe(frame["body"])
    return out


def replies_frame(records: Iterable[Reply | Mapping[str, Any]]) -> pd.DataFrame:
    """The typed replies frame (:data:`REPLY_COLUMNS`) from :class:`Reply` objects or mappings of those
    columns; ``unsubscribe`` is always computed from ``body``."""
    rows = []
    for rec in records:
        if isinstance(rec, Reply):
            rows.append(
                {
                    "sms_msg_id": rec.sms_msg_id,
                    "from": rec.from_,
                    "to": rec.to,
                    "body": rec.body,
                    "create_time": rec.create_time,
                    "received_at": rec.received_at,
                }
            )
        elif isinstance(rec, Mapping):
            rows.append({c: rec.get(c) for c in REPLY_COLUMNS[:-1]})
        else:
            raise TypeError(f"a reply record is a Reply or a mapping, not {type(rec).__name__}")
    frame = pd.DataFrame(rows, columns=list(REPLY_COLUMNS[:-1]))
    return _typed(frame)


Errors = Literal["raise", "skip"]


def _from_frame(frame: pd.DataFrame) -> pd.DataFrame:
    renamed = frame.rename(columns={k: v for k, v in _WIRE.items() if k in frame.columns and v not in frame.columns})
    missing = [c for c in ("sms_msg_id", "from", "to", "body") if c not in renamed.columns]
    if missing:
        raise DataValidationError(
            f"replies frame has no {missing} column(s)", advice=f"a replies frame has the columns {list(REPLY_COLUMNS)}"
        )
    return _typed(renamed)


def _from_log(path: Path, errors: Errors) -> pd.DataFrame:
    replies, bad = [], []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ReportError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})", advice=_ERR) from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            replies.append(parse_reply_body(line))
        except ReportError as exc:
            bad.append((number, line[:200], exc.message))
    if bad and errors == "raise":
        rows = pd.DataFrame(bad, columns=["line", "text", "problem"]).set_index("line")
        raise DataValidationError(
            f"{path}: {len(bad)} line(s) are not reply pushes (first: line {bad[0][0]}: {bad[0][2]})",
            rows=rows,
            advice="fix or remove those lines, or pass errors='skip'",
        )
    return replies_frame(replies)


def _from_store(path: Path) -> pd.DataFrame:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        found = conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='replies'").fetchone()
        if found is None:
            raise ReportError(f"{path} holds no replies", advice="pass the store of a receiver that took uplink pushes")
        cur = conn.execute('SELECT sms_msg_id, "from", "to", body, create_time, received_at FROM replies ORDER BY id')
        rows = cur.fetchall()
    except sqlite3.DatabaseError as exc:
        raise ReportError(f"{path} cannot be read: {exc}", advice="check the path") from exc
    finally:
        conn.close()
    return _typed(pd.DataFrame.from_records(rows, columns=list(REPLY_COLUMNS[:-1])))


def read_replies(source: Any, *, errors: Errors = "raise") -> pd.DataFrame:
    """Read replies into the typed frame (:data:`REPLY_COLUMNS`).

    ``source``: a DataFrame (reply columns, or wire names such as ``smsMsgId``; its index is kept), a
    log of push bodies (one urlencoded body per line; ``errors="raise"`` names malformed lines,
    ``"skip"`` drops them), an SQLite store with a :data:`REPLY_SCHEMA` table, or a list of these.
    """
    if errors not in ("raise", "skip"):
        raise ValueError("errors must be 'raise' or 'skip'")
    if isinstance(source, pd.DataFrame):
        return _from_frame(source)
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            with path.open("rb") as fh:
                head = fh.read(16)
        except OSError as exc:
            raise ReportError(f"cannot read {path}: {exc.strerror}", advice="check the path") from exc
        return _from_store(path) if head == b"SQLite format 3\x00" else _from_log(path, errors)
    if isinstance(source, Sequence) and not isinstance(source, bytes):
        frames = [read_replies(s, errors=errors) for s in source]
        return pd.concat(frames, ignore_index=True) if frames else replies_frame([])
    raise TypeError(f"cannot read replies from a {type(source).__name__}; pass a path or a DataFrame")
