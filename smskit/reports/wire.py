"""Pure parsing of status-report pushes: one urlencoded body, or a JSON batch, into :class:`StatusReport`.

The platform POSTs one report per request as ``application/x-www-form-urlencoded``::

    sequence=1&total=1&updateTime=2018-10-31T08%3A43%3A41Z&source=2&smsMsgId=2ea20735-…_11840135&status=DELIVRD

or, when the application is set to batches, ``application/json`` ``{"statusReportList": [{…}, …]}``.
Unknown fields are kept in :attr:`StatusReport.extra`; anything malformed raises
:class:`~smskit.errors.ReportError` (never another exception), so a server can answer 400.

Usage: ``parse_push(request_content_type, body_bytes) -> list[StatusReport]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote_plus, urlencode

from smskit.codes import DELIVERED
from smskit.errors import ReportError
from smskit.frames import REPORTS
from smskit.protocol import FORM, JSON, UPDATE_TIME_FORMAT

__all__ = [
    "EARLIEST_TIME",
    "LATEST_TIME",
    "REPORT_COLUMNS",
    "WIRE_FIELDS",
    "StatusReport",
    "parse_push",
    "parse_report_batch",
    "parse_report_body",
    "parse_report_fields",
    "push_format",
]

#: Columns of every status-report frame (see :func:`smskit.read_status_reports`), from :data:`smskit.frames.REPORTS`.
REPORT_COLUMNS: tuple[str, ...] = REPORTS.columns

#: The columns a report carries (``delivered`` and ``category`` are derived from ``status``).
WIRE_COLUMNS: tuple[str, ...] = tuple(c for c in REPORT_COLUMNS if c not in ("delivered", "category"))

#: Wire field name → report column.
WIRE_FIELDS: dict[str, str] = {
    "smsMsgId": "sms_msg_id",
    "status": "status",
    "statusDesc": "status_desc",
    "orgCode": "org_code",
    "source": "source",
    "updateTime": "update_time",
    "total": "total",
    "sequence": "sequence",
    "extend": "extend",
    "to": "to",
}

_ERR = "the body is not a status report"
#: What an id or status may not contain.
BLANK_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")
_MAX_SEGMENTS = 255


@dataclass(frozen=True)
class StatusReport:
    """One status report; ``extra`` holds fields the platform sent that smskit does not know."""

    sms_msg_id: str
    status: str
    status_desc: str | None = None
    org_code: str | None = None
    source: str | None = None
    update_time: datetime | None = None
    total: int = 1
    sequence: int = 1
    extend: str | None = None
    to: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def delivered(self) -> bool:
        return self.status.upper() == DELIVERED

    def to_wire(self) -> dict[str, str]:
        """The report as the platform's field names and string values (for pushes and tests)."""
        out: dict[str, str] = {"smsMsgId": self.sms_msg_id, "status": self.status}
        optional = {
            "statusDesc": self.status_desc,
            "orgCode": self.org_code,
            "source": self.source,
            "extend": self.extend,
            "to": self.to,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        out["total"], out["sequence"] = str(self.total), str(self.sequence)
        if self.update_time is not None:
            out["updateTime"] = self.update_time.astimezone(UTC).strftime(UPDATE_TIME_FORMAT)
        out.update(self.extra)
        return out

    def to_body(self) -> str:
        """The urlencoded body the platform would POST for this report."""
        return urlencode(self.to_wire())


#: The times a report can carry: what a frame's ``datetime64[ns]`` column holds (whole days inside it).
#: A time outside (``2300-01-01``, ``0001-01-01``) is refused rather than stored, so no report can make a
#: store unreadable.
EARLIEST_TIME = datetime(1677, 9, 22, tzinfo=UTC)
LATEST_TIME = datetime(2262, 4, 11, tzinfo=UTC)
_TIME_RANGE = f"{EARLIEST_TIME:%Y-%m-%d} … {LATEST_TIME:%Y-%m-%d}"


def parse_update_time(text: str) -> datetime:
    """``2018-10-31T08:43:41Z`` (or any ISO-8601 time; naive means UTC) → aware UTC datetime.

    Raises ReportError for text that is not a time and for a time outside :data:`EARLIEST_TIME` …
    :data:`LATEST_TIME`.
    """
    try:
        value = datetime.strptime(text, UPDATE_TIME_FORMAT)
    except ValueError:
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ReportError(
                f"updateTime {text[:40]!r} is not a time",
                advice="the platform sends UTC times as yyyy-MM-ddTHH:mm:ssZ",
            ) from None
    try:
        utc: datetime | None = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        utc = None
    if utc is None or not EARLIEST_TIME <= utc < LATEST_TIME:
        raise ReportError(
            f"updateTime {text[:40]!r} is outside the times a report can carry ({_TIME_RANGE})",
            advice="the platform sends the time it received the report, in UTC",
        )
    return utc


def _text(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ReportError(f"field {name!r} has a {type(value).__name__}, expected text", advice=_ERR)
    return str(value)


def segment_number(value: str | None) -> int | None:
    """``"2"`` → 2; missing/empty → 1; anything but ASCII digits 1–255 → None."""
    if value is None or value == "":
        return 1
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= _MAX_SEGMENTS:
        return None
    return int(value)


def _count(name: str, value: str | None) -> int:
    n = segment_number(value)
    if n is None:
        raise ReportError(f"{name}={str(value)[:20]!r} is not a segment number 1–{_MAX_SEGMENTS}", advice=_ERR)
    return n


def parse_report_fields(fields: Mapping[str, Any]) -> StatusReport:
    """Build a report from wire fields (``smsMsgId``, ``status``, …); values are text or integers."""
    values = {str(k): _text(str(k), v) for k, v in fields.items()}
    sms_msg_id, status = values.get("smsMsgId"), values.get("status")
    missing = [n for n, v in (("smsMsgId", sms_msg_id), ("status", status)) if not v]
    if missing:
        raise ReportError(f"status report without {' and '.join(missing)}", advice=_ERR)
    assert sms_msg_id is not None
    assert status is not None
    for name, value in (("smsMsgId", sms_msg_id), ("status", status)):
        if BLANK_OR_CONTROL.search(value):  # empty values were refused above
            raise ReportError(f"{name} {value[:40]!r} has blanks or control characters", advice=_ERR)
    total, sequence = _count("total", values.get("total")), _count("sequence", values.get("sequence"))
    if sequence > total:
        raise ReportError(f"sequence {sequence} is beyond total {total}", advice=_ERR)
    update = values.get("updateTime")
    return StatusReport(
        sms_msg_id=sms_msg_id,
        status=status,
        status_desc=values.get("statusDesc"),
        org_code=values.get("orgCode"),
        source=values.get("source"),
        update_time=parse_update_time(update) if update else None,
        total=total,
        sequence=sequence,
        extend=values.get("extend"),
        to=values.get("to"),
        extra={k: v for k, v in values.items() if k not in WIRE_FIELDS and v is not None},
    )


def _decode(body: str | bytes) -> str:
    if isinstance(body, str):
        return body
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReportError(f"body is not UTF-8 text ({exc.reason} at byte {exc.start})", advice=_ERR) from exc


def unquote_field(text: str) -> str:
    """Decode one urlencoded key or value (``+`` is a blank); bad UTF-8 escapes raise ReportError."""
    if "%" not in text and "+" not in text:
        return text
    try:
        return unquote_plus(text, errors="strict")
    except UnicodeDecodeError as exc:
        raise ReportError(f"{text[:40]!r} has percent-escapes that are not UTF-8", advice=_ERR) from exc


def split_urlencoded(text: str) -> dict[str, str]:
    """``a=1&b=2`` → ``{"a": "1", "b": "2"}``; empty fields are skipped, a bare or repeated key is an error."""
    out: dict[str, str] = {}
    for part in text.split("&"):
        if not part:
            continue
        key, eq, value = part.partition("=")
        if not eq or not key:
            raise ReportError(f"field {part[:40]!r} is not name=value", advice=_ERR)
        name = unquote_field(key)
        if name in out:
            raise ReportError(f"field {name[:40]!r} appears twice", advice=_ERR)
        out[name] = unquote_field(value)
    return out


def parse_report_body(body: str | bytes) -> StatusReport:
    """Parse one ``application/x-www-form-urlencoded`` report body.

    >>> parse_report_body("smsMsgId=abc_1&status=DELIVRD").delivered
    True
    """
    text = _decode(body).strip()
    if not text:
        raise ReportError("empty status report body", advice=_ERR)
    if "\n" in text or "\r" in text:
        raise ReportError("a urlencoded report body is one line; this one has line breaks", advice=_ERR)
    return parse_report_fields(split_urlencoded(text))


def parse_report_batch(body: str | bytes | Mapping[str, Any]) -> list[StatusReport]:
    """Parse a JSON push: ``{"statusReportList": [{…}, …]}``, or one report object ``{"smsMsgId": …}``."""
    if isinstance(body, Mapping):
        doc: Any = body
    else:
        try:
            doc = json.loads(_decode(body))
        except (ValueError, RecursionError) as exc:
            raise ReportError(f"body is not JSON: {str(exc)[:80]}", advice=_ERR) from exc
    if not isinstance(doc, Mapping):
        raise ReportError(f"JSON push is a {type(doc).__name__}, expected an object", advice=_ERR)
    if "statusReportList" not in doc:
        return [parse_report_fields(doc)]
    items = doc["statusReportList"]
    if not isinstance(items, list):
        raise ReportError("statusReportList is not a list", advice=_ERR)
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ReportError(f"statusReportList[{i}] is not an object", advice=_ERR)
        try:
            out.append(parse_report_fields(item))
        except ReportError as exc:
            raise ReportError(f"statusReportList[{i}]: {exc.message}", advice=exc.advice) from exc
    return out


def push_format(content_type: str | None, body: bytes = b"") -> Literal["form", "json"] | None:
    """Which push form a Content-Type names (``None``: unsupported); with none given, sniff the body."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == FORM:
        return "form"
    if media == JSON or media.endswith("+json"):
        return "json"
    if not media:
        return "json" if body.lstrip()[:1] == b"{" else "form"
    return None


def parse_push(content_type: str | None, body: bytes) -> list[StatusReport]:
    """Parse one push by its Content-Type; an unsupported type raises ReportError."""
    form = push_format(content_type, body)
    if form is None:
        raise ReportError(
            f"Content-Type {content_type!r} is not a status-report push",
            advice="send application/x-www-form-urlencoded or application/json",
        )
    return [parse_report_body(body)] if form == "form" else parse_report_batch(body)
