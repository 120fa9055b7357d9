"""What the client sends and gets back: :class:`SmsItem` (a batchSendDiffSms entry) and :class:`SendResult`."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from smskit import codes
from smskit.client import checks
from smskit.errors import DataValidationError
from smskit.protocol import PARTIAL, SUCCESS

__all__ = ["RESULT_COLUMNS", "SendResult", "SmsItem"]

RESULT_COLUMNS = ["to", "sms_msg_id", "status", "create_time", "sender", "country_id", "segments"]


@dataclass(frozen=True)
class SmsItem:
    """One batchSendDiffSms entry: numbers sharing a template, parameters and signature."""

    to: tuple[str, ...]
    template_id: str
    params: tuple[str, ...] = ()
    signature: str | None = None

    def __init__(
        self,
        to: str | Iterable[str],
        template_id: str,
        params: Sequence[str] | None = (),
        signature: str | None = None,
    ) -> None:
        object.__setattr__(self, "to", tuple(checks.split_numbers(to)))
        object.__setattr__(self, "template_id", template_id)
        object.__setattr__(self, "params", tuple(checks.check_params(params)))
        object.__setattr__(self, "signature", signature)

    @classmethod
    def coerce(cls, item: SmsItem | Mapping[str, Any]) -> SmsItem:
        """An ``SmsItem`` from itself or a dict using either API or Python key names."""
        if isinstance(item, SmsItem):
            return item
        if not isinstance(item, Mapping):
            raise DataValidationError(
                f"batch items must be SmsItem or dict, not {type(item).__name__}",
                advice="use smskit.SmsItem(to, template_id, params)",
            )
        return cls(
            item.get("to", ()),
            item.get("template_id", item.get("templateId", "")),
            item.get("params", item.get("templateParas", ())),
            item.get("signature"),
        )

    def check(self) -> None:
        checks.check_numbers(self.to)
        checks.check_template_id(self.template_id)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"to": list(self.to), "templateId": self.template_id}
        if self.params:
            body["templateParas"] = list(self.params)
        if self.signature:
            body["signature"] = self.signature
        return body


@dataclass(frozen=True)
class SendResult:
    """The platform's answer to one send call.

    ``code``/``description`` are the request's; ``results`` one entry per number (absent on
    request-level errors). ``ok`` is True only for ``000000``; ``E000510`` means some numbers failed:
    read ``to_frame()``'s ``status`` column.
    """

    code: str
    description: str
    http_status: int
    results: tuple[Mapping[str, Any], ...] = ()
    api: str = "batchSendSms"
    attempts: int = 1
    elapsed_s: float = field(default=0.0, compare=False)

    @property
    def ok(self) -> bool:
        return self.code == SUCCESS

    @property
    def info(self) -> codes.CodeInfo:
        return codes.lookup(self.code, kind="request")

    def to_frame(self) -> pd.DataFrame:
        """One row per number: to, sms_msg_id, status, create_time (UTC), sender, country_id, segments."""
        rows = [
            {
                "to": r.get("originTo"),
                "sms_msg_id": r.get("smsMsgId"),
                "status": r.get("status"),
                "create_time": r.get("createTime"),
                "sender": r.get("from"),
                "country_id": r.get("countryId"),
                "segments": r.get("total"),
            }
            for r in self.results
        ]
        frame = pd.DataFrame(rows, columns=RESULT_COLUMNS)
        for column in ("to", "sms_msg_id", "status", "sender", "country_id"):
            frame[column] = frame[column].astype("string")
        frame["create_time"] = pd.to_datetime(frame["create_time"], utc=True, format="ISO8601")
        frame["segments"] = pd.to_numeric(frame["segments"], errors="coerce").astype("Int64")
        return frame

    def raise_for_status(self) -> SendResult:
        """Raise the matching :class:`smskit.ApiError` unless every number was accepted."""
        if self.ok:
            return self
        error = codes.error_for(self.code, self.description, http_status=self.http_status, response=self)
        detail, advice = self._failures()
        if detail:
            error.message += f"; {detail}"
            error.advice = advice
        raise error

    def _failures(self) -> tuple[str, str]:
        """For a partial failure: which numbers failed with which codes and meanings, and the advice
        (which says "the others were accepted" only when some were)."""
        if self.code != PARTIAL or not self.results:
            return "", self.info.advice
        failed = [r for r in self.results if r.get("status") != SUCCESS]
        sample = ", ".join(f"{r.get('originTo')}: {r.get('status')}" for r in failed[:5])
        infos = {str(r.get("status")): codes.lookup(str(r.get("status")), kind="status") for r in failed}
        meanings = "; ".join(f"{code}: {info.meaning}" for code, info in infos.items())
        accepted = len(self.results) - len(failed)
        kept = f"the {accepted} accepted must not be sent again" if accepted else "no number was accepted"
        advice = f"{kept}; " + "; ".join(dict.fromkeys(info.advice for info in infos.values()))
        return f"{len(failed)} of {len(self.results)} numbers failed ({sample}); {meanings}", advice

    def __repr__(self) -> str:
        return (
            f"SendResult(code={self.code!r}, description={self.description!r}, "
            f"http_status={self.http_status}, numbers={len(self.results)})"
        )

    def _repr_html_(self) -> str:
        head = (
            f"<b>{html.escape(self.api)}</b>: <code>{html.escape(self.code)}</code> "
            f"{html.escape(self.description)} (HTTP {self.http_status})"
        )
        if not self.ok:
            detail, advice = self._failures()
            head += (f"<br>{html.escape(detail)}" if detail else "") + f"<br><i>{html.escape(advice)}</i>"
        return head + self.to_frame().head(50).to_html(escape=True, index=False)
