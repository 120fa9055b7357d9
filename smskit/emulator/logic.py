"""Pure request handling of the emulated platform: parse → authenticate → decide → respond → report.

Nothing here touches the network, a clock or global randomness: the time, the random generator and
the template catalog are passed in, so every rule is tested without a server.

Decisions where the platform's behaviour is not documented (docs/EMULATOR.md lists which behaviours
Huawei documents, with the page, and which are guesses):

* A template id missing from the catalog gets per-number ``E200030`` (template not activated).
* A Chinese-mainland template with no signature of its own (a universal template) sent without a
  ``signature`` gets per-number ``E200029`` (template type check failed).
* With no catalog (``templates=None``) any template id is accepted; each param must be a non-empty
  string (else ``E200028``; ``" "``, ``"."`` and ``"0"`` are the guide's stand-ins for empty values,
  seed lines 449–450) and every message counts as one segment.
* A number repeated for the same content (template, params, signature) within one request is
  accepted once; the repeats get ``E200041``.
* ``templateParas`` that is not a JSON array of strings (numbers included) is ``E000503``; a body
  that is not JSON at all (batchSendDiffSms) is ``E000000``.
* HTTP status: the catalog's, which follows the API reference's 返回值 tables (200 ``000000``; 400 from
  ``E000000`` to ``E000510``; 401 ``E000101``–``E000112``; 403 ``E000620``/``E000623``); a code with no
  documented status gets 401/403/400 by category (a guess). 404/405 for an unknown path/method
  (``E000027``) and 413 for a body over the size limit (``E000503``) are our choices.
* Report sources (接收状态报告 "source": 1 SMS platform, 2 SMSC, 3 Huawei platform): ``EXPIRED`` is the
  report the platform builds itself when no carrier report came in 72 h, so it has source ``1`` and
  no ``updateTime`` (seed lines 605–611: "the platform constructs a status report that does not
  contain the updateTime parameter"); Huawei platform codes (``E`` + 6 digits) have source ``3`` (our
  reading of the source table); everything else, ``RTE_ERR`` included (seed lines 829–830), source ``2``.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from smskit import codes
from smskit.auth import AKSK_ALGORITHM, verify_aksk, verify_wsse
from smskit.numbers import country_of
from smskit.protocol import (
    DIFF,
    FORM,
    JSON,
    MAX_CALLBACK_LEN,
    MAX_EXTEND_LEN,
    MAX_ITEMS,
    MAX_NUMBER_LEN,
    MAX_NUMBERS,
    MAX_REPORTS_PER_PUSH,
    MAX_TEMPLATE_ID_LEN,
    PARTIAL,
    SINGLE,
    SUCCESS,
    UPDATE_TIME_FORMAT,
)

__all__ = [
    "DEFAULT_FAILURES",
    "MAX_BODY",
    "Decision",
    "Item",
    "Outcome",
    "Refusal",
    "SendRequest",
    "authenticate",
    "build_reports",
    "content_type_ok",
    "decide",
    "draw_outcome",
    "encode_report_batch",
    "encode_report_form",
    "error_body",
    "format_time",
    "http_status",
    "new_msg_id",
    "parse_request",
    "report_source",
    "request_code",
    "response_body",
]

MAX_BODY = 2 * 1024 * 1024
_EXPECTED_TYPE = {SINGLE: FORM, DIFF: JSON}

BAD_PARAM = "E000503"

DEFAULT_FAILURES: Mapping[str, float] = {
    "UNDELIV": 0.35,
    "EXPIRED": 0.2,
    "BLACK": 0.15,
    "MILIMIT": 0.15,
    "RTE_ERR": 0.15,
}
ORG_CODES: Mapping[str, str] = {"RTE_ERR": "E200027"}

_NUMBERS_TEXT = re.compile(r"^[0-9+,]*$")
_NUMBER = re.compile(r"^[0-9+]+$")


class Refusal(Exception):
    """The whole request is refused with request ``code``; ``detail`` says why (for the log and tests)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Item:
    """One content: numbers, template, params, signature."""

    to: tuple[str, ...]
    template_id: str
    params: tuple[str, ...] = ()
    signature: str | None = None


@dataclass(frozen=True)
class SendRequest:
    """A parsed, validated send request of either API."""

    api: str
    sender: str
    items: tuple[Item, ...]
    status_callback: str | None = None
    extend: str | None = None

    @property
    def n_numbers(self) -> int:
        return sum(len(item.to) for item in self.items)


@dataclass(frozen=True)
class Decision:
    """What the platform answers for one number."""

    to: str
    template_id: str
    params: tuple[str, ...]
    signature: str | None
    status: str
    segments: int
    country_id: str


@dataclass(frozen=True)
class Outcome:
    """A message's final report status (all its segments share it)."""

    status: str
    org_code: str | None = None


# -- parsing -------------------------------------------------------------------------------------


def content_type_ok(api: str, content_type: str | None) -> bool:
    """Whether ``content_type`` (parameters such as charset allowed) is the one ``api`` takes."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == _EXPECTED_TYPE[api]


def _refuse(detail: str, code: str = BAD_PARAM) -> Refusal:
    return Refusal(code, detail)


def _check_numbers(numbers: Sequence[str], where: str) -> tuple[str, ...]:
    if not numbers:
        raise _refuse(f"{where}: no numbers")
    if len(numbers) > MAX_NUMBERS:
        raise _refuse(f"{where}: {len(numbers)} numbers, at most {MAX_NUMBERS} allowed")
    for number in numbers:
        if not isinstance(number, str) or not _NUMBER.match(number):
            raise _refuse(f"{where}: number {number!r} has characters other than digits and '+'")
        if len(number) > MAX_NUMBER_LEN:
            raise _refuse(f"{where}: number {number!r} longer than {MAX_NUMBER_LEN} characters")
    return tuple(numbers)


def _check_template_id(template_id: Any, where: str) -> str:
    if not isinstance(template_id, str) or not template_id:
        raise _refuse(f"{where}: templateId is required")
    if len(template_id) > MAX_TEMPLATE_ID_LEN:
        raise _refuse(f"{where}: templateId longer than {MAX_TEMPLATE_ID_LEN} characters")
    return template_id


def _check_params(params: Any, where: str) -> tuple[str, ...]:
    if params is None:
        return ()
    if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
        raise _refuse(f"{where}: templateParas must be a JSON array of strings")
    return tuple(params)


def _check_optional_str(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _refuse(f"{name} must be a string")
    return value


def _check_common(fields: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    sender = fields.get("from")
    if not isinstance(sender, str) or not sender:
        raise _refuse("from (channel number) is required")
    callback = _check_optional_str(fields.get("statusCallback"), "statusCallback")
    if callback is not None:
        if len(callback) > MAX_CALLBACK_LEN:
            raise _refuse(f"statusCallback longer than {MAX_CALLBACK_LEN} characters")
        if not callback.startswith(("http://", "https://")):
            raise _refuse("statusCallback must be an http(s) URL")
    extend = _check_optional_str(fields.get("extend"), "extend")
    if extend is not None:
        if len(extend) > MAX_EXTEND_LEN:
            raise _refuse(f"extend longer than {MAX_EXTEND_LEN} characters")
        if "{" in extend or "}" in extend:
            raise _refuse("extend must not contain braces")
    return sender, callback, extend


def _parse_single(body: bytes) -> SendRequest:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refuse("body is not UTF-8") from exc
    fields = dict(parse_qsl(text, keep_blank_values=True))
    sender, callback, extend = _check_common(fields)
    to_text = fields.get("to", "")
    if not to_text:
        raise _refuse("to is required")
    if not _NUMBERS_TEXT.match(to_text):
        raise _refuse("to has characters other than digits, '+' and ','")
    numbers = to_text.split(",")
    if any(not n for n in numbers):
        raise _refuse("to has an empty number (stray comma)")
    to = _check_numbers(numbers, "to")
    template_id = _check_template_id(fields.get("templateId"), "templateId")
    paras_text = fields.get("templateParas", "")
    params: tuple[str, ...] = ()
    if paras_text:
        try:
            paras = json.loads(paras_text)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than the parser goes
            raise _refuse("templateParas is not valid JSON") from exc
        params = _check_params(paras, "templateParas")
    signature = _check_optional_str(fields.get("signature"), "signature")
    item = Item(to=to, template_id=template_id, params=params, signature=signature)
    return SendRequest(SINGLE, sender, (item,), callback, extend)


def _parse_diff(body: bytes) -> SendRequest:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than the parser goes
        raise _refuse("body is not valid JSON", "E000000") from exc
    if not isinstance(data, dict):
        raise _refuse("body must be a JSON object")
    sender, callback, extend = _check_common(data)
    content = data.get("smsContent")
    if not isinstance(content, list) or not content:
        raise _refuse("smsContent must be a non-empty array")
    if len(content) > MAX_ITEMS:
        raise _refuse(f"smsContent has {len(content)} items, at most {MAX_ITEMS} allowed")
    items = []
    for i, raw in enumerate(content):
        where = f"smsContent[{i}]"
        if not isinstance(raw, dict):
            raise _refuse(f"{where} must be an object")
        to = raw.get("to")
        if not isinstance(to, list):
            raise _refuse(f"{where}.to must be an array of numbers")
        items.append(
            Item(
                to=_check_numbers(to, f"{where}.to"),
                template_id=_check_template_id(raw.get("templateId"), f"{where}.templateId"),
                params=_check_params(raw.get("templateParas"), f"{where}.templateParas"),
                signature=_check_optional_str(raw.get("signature"), f"{where}.signature"),
            )
        )
    return SendRequest(DIFF, sender, tuple(items), callback, extend)


def parse_request(api: str, content_type: str | None, body: bytes) -> SendRequest:
    """Parse and validate a send request; raise :class:`Refusal` (E000040, E000503, E000000) if bad."""
    if not content_type_ok(api, content_type):
        raise Refusal("E000040", f"{api} takes Content-Type {_EXPECTED_TYPE[api]}, got {content_type!r}")
    return _parse_single(body) if api == SINGLE else _parse_diff(body)


# -- authentication ------------------------------------------------------------------------------


def authenticate(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    secrets: Mapping[str, str],
    now: datetime,
    nonce_seen: Callable[[str, str], bool],
) -> tuple[str | None, str | None, str]:
    """``(error_code, app_key, scheme)``: AK/SK when ``Authorization`` is ``SDK-HMAC-SHA256 …`` (or absent
    with no ``X-WSSE``), else X-WSSE, whose checks name an Authorization that is not WSSE (E000008)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    authorization = lowered.get("authorization", "").strip()
    aksk = authorization.startswith(AKSK_ALGORITHM) or (not authorization and "x-wsse" not in lowered)
    if not aksk:
        code, key = verify_wsse(lowered, secrets=secrets, now=now, nonce_seen=nonce_seen)
        return code, key, "wsse"
    code, key = verify_aksk(method, path, query, lowered, body, secrets=secrets, now=now)
    return code, key, "aksk"


# -- decisions -----------------------------------------------------------------------------------


def _content_status(item: Item, templates: Mapping[str, Any] | None) -> tuple[str, int]:
    """Per-number status and segment count that every number of ``item`` shares."""
    from smskit import templates as tpl_mod
    from smskit.templates.validation import DistinctValues

    if templates is None:
        if DistinctValues(item.params).empty.any():
            return "E200028", 1
        return SUCCESS, 1

    template = templates.get(item.template_id)
    if template is None:
        return "E200030", 1
    if template.region == "mainland" and not (item.signature or template.signature):
        return "E200029", 1
    # validate_params and render fall back to the template's own signature themselves
    if tpl_mod.validate_params(template, item.params, signature=item.signature):
        return "E200028", 1
    return SUCCESS, tpl_mod.segments(tpl_mod.render(template, item.params, signature=item.signature))


def decide(request: SendRequest, *, templates: Mapping[str, Any] | None) -> list[Decision]:
    """One :class:`Decision` per number, in request order (see the module docstring for the rules)."""
    decisions: list[Decision] = []
    seen: set[tuple[str, str, tuple[str, ...], str | None]] = set()
    for item in request.items:
        status, segs = _content_status(item, templates)
        countries = country_of(item.to)
        for number, country in zip(item.to, countries.tolist(), strict=True):
            key = (number, item.template_id, item.params, item.signature)
            number_status = "E200041" if key in seen else status
            seen.add(key)
            decisions.append(
                Decision(
                    to=number,
                    template_id=item.template_id,
                    params=item.params,
                    signature=item.signature,
                    status=number_status,
                    segments=segs,
                    country_id=country or "",
                )
            )
    return decisions


def request_code(decisions: Iterable[Decision]) -> str:
    """``000000`` when every number was accepted, else ``E000510``."""
    return SUCCESS if all(d.status == SUCCESS for d in decisions) else PARTIAL


def format_time(when: datetime) -> str:
    """UTC ``YYYY-MM-DDTHH:MM:SSZ``."""
    return when.astimezone(UTC).strftime(UPDATE_TIME_FORMAT)


def new_msg_id(rng: random.Random, serial: int) -> str:
    """An ``smsMsgId`` shaped like the platform's: ``<uuid>_<digits>``."""
    hexes = f"{rng.getrandbits(128):032x}"
    uuid_text = f"{hexes[:8]}-{hexes[8:12]}-{hexes[12:16]}-{hexes[16:20]}-{hexes[20:]}"
    return f"{uuid_text}_{serial}"


def _description(code: str) -> str:
    return "Success" if code == SUCCESS else codes.lookup(code, kind="request").meaning


def response_body(
    decisions: Sequence[Decision], *, sender: str, msg_ids: Sequence[str], created: datetime
) -> dict[str, Any]:
    """The JSON answer of a processed request: ``code``, ``description`` and one ``result`` per number."""
    code = request_code(decisions)
    create_time = format_time(created)
    return {
        "code": code,
        "description": _description(code),
        "result": [
            {
                "originTo": d.to,
                "createTime": create_time,
                "from": sender,
                "smsMsgId": msg_id,
                "status": d.status,
                "countryId": d.country_id,
                "total": d.segments,
            }
            for d, msg_id in zip(decisions, msg_ids, strict=True)
        ],
    }


def error_body(code: str) -> dict[str, str]:
    """The JSON answer of a refused request (no ``result``)."""
    return {"code": code, "description": _description(code)}


def http_status(code: str) -> int:
    """The HTTP status the emulator answers ``code`` with (the platform's is mostly undocumented)."""
    info = codes.lookup(code, kind="request")
    if info.http_status is not None:
        return info.http_status
    if info.category == "auth":
        return 401
    if info.category == "permission":
        return 403
    return 400


# -- status reports ------------------------------------------------------------------------------


def draw_outcome(rng: random.Random, *, delivery_rate: float, failures: Mapping[str, float]) -> Outcome:
    """Delivered with probability ``delivery_rate``, else a failure code drawn by ``failures``' weights."""
    if rng.random() < delivery_rate or not failures:
        return Outcome("DELIVRD")
    names = list(failures)
    status = rng.choices(names, weights=[failures[n] for n in names])[0]
    return Outcome(status, ORG_CODES.get(status))


PLATFORM_BUILT = "1"
_HUAWEI_CODE = re.compile(r"E\d{6}")


def report_source(status: str) -> str:
    """The ``source`` of a report with ``status`` (see the module docstring)."""
    if status == "EXPIRED":
        return PLATFORM_BUILT
    return "3" if _HUAWEI_CODE.fullmatch(status) else "2"


def build_reports(
    *,
    sms_msg_id: str,
    segments: int,
    outcome: Outcome,
    update_time: datetime,
    extend: str | None = None,
    to: str | None = None,
) -> list[dict[str, str]]:
    """One report per segment (``sequence`` 1…``total``), all with the message's outcome.

    ``update_time`` is left out of reports the platform builds itself (``EXPIRED``, source 1).
    """
    source = report_source(outcome.status)
    base: dict[str, str] = {
        "smsMsgId": sms_msg_id,
        "status": outcome.status,
        "statusDesc": codes.lookup(outcome.status, kind="report").meaning,
        "total": str(segments),
        "source": source,
    }
    if source != PLATFORM_BUILT:  # a report the platform built itself carries no updateTime
        base["updateTime"] = format_time(update_time)
    if outcome.org_code:
        base["orgCode"] = outcome.org_code
    if extend is not None:
        base["extend"] = extend
        if to is not None:
            base["to"] = to
    return [{**base, "sequence": str(seq)} for seq in range(1, segments + 1)]


def encode_report_form(report: Mapping[str, str]) -> bytes:
    """A single report as the platform's form body."""
    return urlencode(dict(report)).encode()


def encode_report_batch(reports: Sequence[Mapping[str, str]]) -> bytes:
    """Up to 50 reports as the batch JSON body ``{"statusReportList": […]}``."""
    if len(reports) > MAX_REPORTS_PER_PUSH:
        raise ValueError(f"at most {MAX_REPORTS_PER_PUSH} reports per push, got {len(reports)}")
    return json.dumps({"statusReportList": [dict(r) for r in reports]}).encode()
