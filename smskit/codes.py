"""Catalog of every request code, per-number status and status-report code the platform returns.

Three kinds of code:

* ``request`` — the response's top-level ``code`` (``000000``, ``E000xxx``);
* ``status`` — ``result[].status`` per number in the send response (``000000``, ``E200xxx``);
* ``report`` — ``status`` in a status report (``DELIVRD``, ``EXPIRED``, carrier codes, ``E200xxx``).

Each :class:`CodeInfo` says what the code means, which :data:`CATEGORIES` entry it belongs to, whether
the message is charged, what to do, and for request codes the HTTP status (when known) and whether an
unchanged retry could succeed.

Request codes, their meanings and HTTP statuses follow Huawei's API reference (pages cited above
``_REQUEST``); the few known only from third-party copies of its table say so in their meaning.

Decisions (the spec leaves them open):

* ``billed``: ``DELIVRD`` and every carrier outcome are assumed charged (the carrier received the
  message); Huawei platform codes (``E2xxxxx``, ``E000628``, ``E000629``) are not, as the platform
  states. Request-level errors sent nothing, so are not charged. Unknown codes are assumed charged
  unless they look like Huawei codes (``E`` + 6 digits): undocumented codes are nearly always carrier
  codes, and over-estimating cost is the safer mistake.
* ``retryable``: for request codes, whether repeating the same request could succeed (``E000000`` is
  not: the platform says it almost always means an unparsable body); for status and
  report codes, whether re-sending the same message later could (rate limits, timeouts, pending caps).
* ``E000109`` (user not activated) and ``E000112`` (user frozen) are ``permission``: the signature was
  right but the account may not send; fixing credentials will not help.
* ``E000027`` (illegal request) is ``request``; ``E200041`` (duplicate number) is ``request`` too: the
  fix is to de-duplicate the request.
* ``UNKNOWN`` (the carrier's own "status unknown") is category ``unknown``; a missing code (``None``,
  NaN, blank) means no report yet and is ``pending``.

Usage: ``lookup("E000620").advice`` · ``categorize(reports["status"])`` · ``raise error_for(code, desc)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np
import pandas as pd

from smskit.errors import (
    ApiError,
    AuthenticationError,
    PermissionDeniedError,
    QuotaError,
    RequestError,
    TemplateError,
)

__all__ = [
    "CATEGORIES",
    "CATEGORY_COLORS",
    "DELIVERED",
    "KINDS",
    "CodeInfo",
    "catalog",
    "categorize",
    "error_for",
    "lookup",
]

CATEGORIES: tuple[str, ...] = (
    "accepted",
    "delivered",
    "pending",
    "auth",
    "permission",
    "quota",
    "template",
    "request",
    "partial",
    "platform",
    "carrier_rejected",
    "blacklist",
    "rate_limited",
    "expired",
    "unknown",
)

KINDS: tuple[str, ...] = ("request", "status", "report")

DELIVERED = "DELIVRD"

_CATEGORY_DTYPE = pd.CategoricalDtype(list(CATEGORIES))

#: Stable colour per category for plots. Okabe–Ito / Paul Tol colours (colour-blind safe): success is
#: green/blue, waiting is grey, failures are warm (oranges, reds, purples, browns).
CATEGORY_COLORS: dict[str, str] = {
    "accepted": "#56B4E9",
    "delivered": "#009E73",
    "pending": "#999999",
    "auth": "#882255",
    "permission": "#AA4499",
    "quota": "#E69F00",
    "template": "#DDCC77",
    "request": "#CC6677",
    "partial": "#F0E442",
    "platform": "#994F00",
    "carrier_rejected": "#D55E00",
    "blacklist": "#332288",
    "rate_limited": "#EE7733",
    "expired": "#EE3377",
    "unknown": "#DDDDDD",
}


@dataclass(frozen=True)
class CodeInfo:
    """What one platform code means and what to do about it."""

    code: str
    kind: str
    meaning: str
    category: str
    billed: bool
    advice: str
    retryable: bool = False
    http_status: int | None = None


# --- the table ---------------------------------------------------------------------------------------

_CONSOLE = "look the code up in the console's Send Details or contact Huawei Cloud support"
_SUPPORT = "record the smsMsgId and contact Huawei Cloud support; nothing was charged"
_WSSE = (
    'send exactly \'WSSE realm="SDP",profile="UsernameToken",type="Appkey"\' in Authorization (or use auth=\'aksk\')'
)
_XWSSE = (
    "send a complete X-WSSE header: UsernameToken Username, PasswordDigest, Nonce and Created "
    "(UTC yyyy-MM-ddTHH:mm:ssZ, not local time with a Z); smskit builds it with auth='wsse'"
)
_OPT_OUT = "add the number to the opt-out list; only the subscriber or support can lift it"
_TOMORROW = "send to this number again tomorrow, or ask support to lift the limit"
_KEY = "check SMSKIT_APP_KEY/SMSKIT_APP_SECRET against the application in the console"
_AKSK = (
    "a wrong secret is the usual cause: check SMSKIT_APP_KEY/SMSKIT_APP_SECRET against the application in "
    "the console; if they match, check that nothing between you and the platform rewrites the signed "
    "headers, path or query (smskit signs as Huawei's official SDK does)"
)
_SDK_DATE = "send X-Sdk-Date as UTC yyyyMMdd'T'HHmmss'Z' (smskit does with auth='aksk')"


def _req(
    code: str, meaning: str, category: str, advice: str, *, retry: bool = False, http: int | None = None
) -> CodeInfo:
    return CodeInfo(code, "request", meaning, category, False, advice, retry, http)


def _st(code: str, meaning: str, category: str, advice: str, *, billed: bool = False, retry: bool = False) -> CodeInfo:
    return CodeInfo(code, "status", meaning, category, billed, advice, retry)


def _rep(code: str, meaning: str, category: str, advice: str, *, billed: bool = True, retry: bool = False) -> CodeInfo:
    return CodeInfo(code, "report", meaning, category, billed, advice, retry)


# Request codes follow Huawei's API reference, "API错误码(发送短信)" / "API Error Codes"
# (https://support.huaweicloud.com/api-msgsms/sms_05_0050.html, en: /intl/en-us/api-msgsms/sms_05_0050.html)
# and the "返回值" tables of 发送短信 / 发送分批短信, which add the HTTP status
# (https://huaweicloud.com/guide/productsdesc-bms_1d4133ae3121de62fa250a5e0c1f5f65support4,
#  https://huaweicloud.com/guide/productsdesc-bms_5f3ca3ee7bfbb5f5f5fd3a9833e9af67support5).
# In those tables one HTTP-status cell spans a group of rows: 200 000000; 400 from E000000 down to
# E000510 (E000000–E000023 seen under it, the rest by row order: a row-span reading); 401 E000101–
# E000112; 403 E000620 (E000623 sits under it too: row-span reading, not confirmed). Where the
# reference gives no status (E000630) the field stays None and the emulator answers 400 (a guess).
_REF_400 = 400  # "400" cell of the 返回值 table, read by its row-span
_REQUEST: tuple[CodeInfo, ...] = (
    CodeInfo(
        "000000",
        "request",
        "Success: the request was accepted",
        "accepted",
        True,
        "nothing to do; read each result entry's status and wait for status reports (up to 72 h)",
        False,
        200,
    ),
    _req(
        "E000000",
        "System error, usually a request the platform could not parse",
        "request",
        "check the body: templateParas must be a JSON array of strings, template variables use ${…}; "
        "only if the body is certainly well-formed, retry later (a platform fault)",
        http=400,
    ),
    # -- WSSE: Authorization (E000001–E000008) and X-WSSE (E000020–E000026), 返回值 table (400) ----------
    _req(
        "E000001",
        "Authorization not contained in the HTTP header",
        "auth",
        "send an Authorization header; smskit signs every request, so check that no proxy strips it",
        http=400,
    ),
    _req("E000002", "realm not contained in Authorization", "auth", _WSSE, http=400),
    _req("E000003", "profile not contained in Authorization", "auth", _WSSE, http=400),
    _req("E000004", "The value of realm in Authorization must be SDP", "auth", _WSSE, http=400),
    _req("E000005", "The value of profile in Authorization must be UsernameToken", "auth", _WSSE, http=400),
    _req("E000006", "The value of type in Authorization must be Appkey", "auth", _WSSE, http=400),
    _req("E000007", "type not contained in Authorization", "auth", _WSSE, http=400),
    _req("E000008", "WSSE not contained in Authorization", "auth", _WSSE, http=400),
    _req("E000020", "X-WSSE not contained in the HTTP header", "auth", _XWSSE, http=400),
    _req("E000021", "UserName not contained in X-WSSE", "auth", _XWSSE, http=400),
    _req("E000022", "Nonce not contained in X-WSSE", "auth", _XWSSE, http=400),
    _req("E000023", "Created not contained in X-WSSE", "auth", _XWSSE, http=400),
    # E000024–E000026: Huawei's wording was not found; these meanings come from third-party copies of the
    # table (notes/huawei-reference.md §1.3), so they are marked as such.
    _req("E000024", "PasswordDigest not contained in X-WSSE (third-party copy)", "auth", _XWSSE, http=_REF_400),
    _req("E000025", "Created is badly formatted (third-party copy)", "auth", _XWSSE, http=_REF_400),
    _req("E000026", "UsernameToken not contained in X-WSSE (third-party copy)", "auth", _XWSSE, http=_REF_400),
    _req(
        "E000027",
        "Illegal request",
        "request",
        "check the URL path (/sms/batchSendSms/v1 or /sms/batchSendDiffSms/v1), method POST and the body",
        http=_REF_400,
    ),
    # -- Content-Type and AK/SK (E000040–E000045), site-search snippets of sms_05_0050 (400 by row-span) ----
    _req(
        "E000040",
        "Wrong Content-Type",
        "request",
        "use application/x-www-form-urlencoded for batchSendSms and application/json for batchSendDiffSms",
        http=_REF_400,
    ),
    _req("E000041", "X-Sdk-Date header is empty", "auth", _SDK_DATE, http=_REF_400),
    _req("E000042", "The format of the X-Sdk-Date header is invalid", "auth", _SDK_DATE, http=_REF_400),
    _req("E000043", "Authorization is badly formatted (third-party copy)", "auth", _AKSK, http=_REF_400),
    _req(
        "E000044",
        "X-Sdk-Date expired (third-party copy)",
        "auth",
        "synchronise this machine's clock with NTP: X-Sdk-Date must be within 15 minutes of UTC",
        http=_REF_400,
    ),
    _req("E000045", "Authorization (Signature) check failed", "auth", _AKSK, http=_REF_400),
    # -- 401 group of the 返回值 table: E000101–E000112 --------------------------------------------------
    _req(
        "E000101",
        "Authentication failed",
        "auth",
        f"{_KEY}; with WSSE try SMSKIT_WSSE_DIGEST=raw (or hex), with AK/SK check the signed host and path",
        http=401,
    ),
    _req(
        "E000102",
        "Invalid app_key",
        "auth",
        f"{_KEY}; the key is the application's App Key, not an account AK; check the access address too",
        http=401,
    ),
    _req(
        "E000103",
        "app_key unavailable",
        "auth",
        "the application is disabled or deleted: check its state in the console or use another application",
        http=401,
    ),
    _req("E000104", "Invalid app_secret", "auth", f"{_KEY}; reset the App Secret in the console if in doubt", http=401),
    _req(
        "E000105",
        "Invalid PasswordDigest",
        "auth",
        "the digest must be Base64(SHA-256(Nonce + Created + App Secret)); check the secret, or switch "
        "SMSKIT_WSSE_DIGEST between hex and raw",
        http=401,
    ),
    _req(
        "E000106",
        "The app_key has no permission for this API",
        "permission",
        "enable the API for the application in the console, or use an application that has it",
        http=401,
    ),
    _req(
        "E000109",
        "User not activated",
        "permission",
        "finish activating the account (real-name verification, top-up) in the console",
        http=401,
    ),
    _req(
        "E000110",
        "Time out of limit (X-WSSE Created too far from the platform's clock)",
        "auth",
        "synchronise this machine's clock with NTP: Created must be current UTC (yyyy, not YYYY, in Java)",
        http=401,
    ),
    _req("E000111", "User name or password error", "auth", _KEY, http=401),
    _req(
        "E000112",
        "User frozen",
        "permission",
        "the account is frozen (often arrears): top up or contact Huawei Cloud support",
        http=401,
    ),
    _req(
        "E000503",
        "Parameter format error",
        "request",
        "check from (channel number), to (E.164 with +, comma-separated, ≤ 500), templateId (≤ 32 chars), "
        "templateParas (JSON array of strings), statusCallback (≤ 1024 chars) and extend (≤ 128, no {})",
        http=_REF_400,
    ),
    _req(
        "E000510",
        "The SMS fails to be sent; see each number's status",
        "partial",
        "read each result entry's status: the others were accepted and must not be sent again",
        http=_REF_400,
    ),
    # -- 403 group: E000620 (seen), E000623 (row-span reading, not confirmed) ---------------------------
    _req(
        "E000620",
        "The app client IP is not in the IP whitelist",
        "permission",
        "add this machine's public IP to the application's IP whitelist in the console "
        "(a change takes 10–15 minutes to apply)",
        http=403,
    ),
    _req(
        "E000623",
        "SMS sending quota reached (daily/monthly limit)",
        "quota",
        "raise the quota in the console (defaults: 500 a day, 10,000 a month) or wait for the next day/month",
        http=403,
    ),
    # E000630: added 2024 ("修订记录": 发送短信/发送分批短信章节新增E000630错误码); no HTTP status found.
    _req(
        "E000630",
        "SMS sending quota of the country/region reached",
        "quota",
        "raise the country/region's quota in the console's general settings, or wait for the next day/month",
    ),
)

_STATUS: tuple[CodeInfo, ...] = (
    _st(
        "000000",
        "Accepted for sending",
        "accepted",
        "wait for the status report; charged unless a Huawei platform code follows",
        billed=True,
    ),
    _st(
        "E200015",
        "Too many messages pending for sending",
        "quota",
        "slow down (lower rate/concurrency) and send this number again later",
        retry=True,
    ),
    _st(
        "E200028",
        "Template variable check failed",
        "template",
        "each templateParas value must match its variable's type and length (${NUM_n} digits only, "
        '${TXT_n} ≤ n chars) and be non-empty: send " " or "." for an empty ${TXT_n}, "0" for an empty '
        "${NUM_n}; ${DATE}/${TIME} cannot be empty",
    ),
    _st(
        "E200029",
        "Template type check failed",
        "template",
        "the template type (verification/notification/promotion) must match the signature and channel",
    ),
    _st(
        "E200030",
        "Template not activated",
        "template",
        "wait for the template's approval or activate it in the console; check templateId",
    ),
    _st(
        "E200031",
        "Protocol check failed",
        "template",
        "the content breaks the channel's protocol rules: check template length, characters and signature",
    ),
    _st(
        "E200033",
        "Template type incorrect",
        "template",
        "use a template whose type the channel (from) supports",
    ),
    _st(
        "E200041",
        "Duplicate number for the same content in one request",
        "request",
        "de-duplicate the numbers before sending; the first copy was accepted, do not resend it",
    ),
)

_PLATFORM = "platform"
_UNDESCRIBED = "Huawei platform refused the message (this code's meaning is not published in the spec)"
_REPORT: tuple[CodeInfo, ...] = (
    _rep(DELIVERED, "Delivered to the handset", "delivered", "nothing to do"),
    _rep(
        "ACCEPTD",
        "Accepted by the carrier; final state not reported yet",
        "pending",
        "wait: a final report follows, or EXPIRED after 72 h",
    ),
    _rep(
        "EXPIRED",
        "Not delivered in time (phone off/out of coverage, or no carrier report in 72 h)",
        "expired",
        "verify the number is live; resend later if still relevant",
        retry=True,
    ),
    _rep(
        "DELETED",
        "Deleted by the carrier's SMSC before delivery",
        "carrier_rejected",
        "check the content and number; contact support if many numbers show it",
    ),
    _rep(
        "UNDELIV",
        "Undeliverable (dead, suspended or unreachable number)",
        "carrier_rejected",
        "verify the number and remove dead ones from the list",
    ),
    _rep(
        "UNKNOWN",
        "The carrier reports the outcome as unknown",
        "unknown",
        "treat as not delivered; check the console's Send Details or contact support if frequent",
    ),
    _rep(
        "REJECTD",
        "Rejected by the carrier (e.g. the recipient unsubscribed)",
        "carrier_rejected",
        "add the number to the opt-out list; do not resend",
    ),
    _rep(
        "KEYWORD",
        "Blocked by the carrier's keyword filter",
        "carrier_rejected",
        "reword the template/variables to avoid sensitive keywords, then resend",
    ),
    _rep(
        "TIMEOUT",
        "The carrier timed out delivering the message",
        "expired",
        "resend later; contact support if it persists",
        retry=True,
    ),
    _rep(
        "MILIMIT",
        "Per-minute sending limit for this number reached",
        "rate_limited",
        "wait at least a minute before sending to this number again",
        retry=True,
    ),
    _rep(
        "LIMIT",
        "Daily sending limit for this number reached",
        "rate_limited",
        _TOMORROW,
        retry=True,
    ),
    _rep(
        "BEYONDN",
        "Daily sending limit for this number reached",
        "rate_limited",
        _TOMORROW,
        retry=True,
    ),
    _rep(
        "CTLIMIT",
        "Sending limit for this number reached (carrier)",
        "rate_limited",
        "pause sends to this number; ask support to lift the limit if the traffic is legitimate",
        retry=True,
    ),
    _rep(
        "BLACK",
        "Number on the carrier's blacklist (unsubscribed or complained)",
        "blacklist",
        _OPT_OUT,
    ),
    _rep(
        "TDBLACK",
        "Number on the carrier's unsubscribe blacklist",
        "blacklist",
        _OPT_OUT,
    ),
    _rep(
        "TSBLACK",
        "Number on the carrier's complaint blacklist",
        "blacklist",
        _OPT_OUT,
    ),
    _rep(
        "MBBLACK",
        "Number on the carrier's blacklist",
        "blacklist",
        _OPT_OUT,
    ),
    # Huawei platform interceptions (receipt codes page sms_05_0051, "华为平台"; not charged). SC:0016 is
    # named only by the FAQ "手机回复“R”被加入了退订黑名单?" as the unsubscribe blacklist.
    _rep(
        "SC:0003",
        "Number on the platform's blacklist (intercepted by Huawei)",
        "blacklist",
        "a verification/notification number can be released in the console (blacklist management); otherwise "
        + _OPT_OUT,
        billed=False,
    ),
    _rep("SC:0005", "Number on the complaint blacklist (intercepted by Huawei)", "blacklist", _OPT_OUT, billed=False),
    _rep(
        "SC:0016",
        "Number on the signature's unsubscribe blacklist (the recipient replied R)",
        "blacklist",
        "the recipient unsubscribed from this signature's promotional messages: " + _OPT_OUT,
        billed=False,
    ),
    _rep(
        "RTE_ERR",
        "Routing error: no gateway matched (orgCode E200027)",
        _PLATFORM,
        _SUPPORT + "; check the channel (from) and the destination country",
        billed=False,
    ),
    _rep(
        "E200018",
        "Chinese mainland sender channel check failed",
        _PLATFORM,
        "from must be a channel number (csms…) that belongs to this application",
        billed=False,
    ),
    *(_rep(f"E2000{n}", _UNDESCRIBED, _PLATFORM, _SUPPORT, billed=False) for n in (19, 20, 21, 22, 23)),
    _rep(
        "E200024",
        "No international SMS capability",
        _PLATFORM,
        "remove numbers outside the channel's region or use an international (isms…) channel",
        billed=False,
    ),
    _rep(
        "E200025",
        "International recipient channel check failed",
        _PLATFORM,
        "the number's country is not served by this channel: remove it or ask support",
        billed=False,
    ),
    _rep("E200026", "No international channel matched the recipient", _PLATFORM, _SUPPORT, billed=False),
    _rep("E200027", "Gateway match failed (no route configured)", _PLATFORM, _SUPPORT, billed=False),
    _rep(
        "E200032",
        "A template is required",
        "template",
        "send templateId (and templateParas when the template has variables)",
        billed=False,
    ),
    *(_rep(f"E2000{n}", _UNDESCRIBED, _PLATFORM, _SUPPORT, billed=False) for n in (34, 35, 36, 37)),
    _rep(
        "E200038",
        "Long message parts not all received in time",
        _PLATFORM,
        "the platform waits about 3 minutes for every segment; check the network, then resend",
        billed=False,
        retry=True,
    ),
    _rep(
        "E200051",
        "International verification-code content invalid",
        "template",
        "an international verification code must be 4–8 digits",
        billed=False,
    ),
    _rep(
        "E000628",
        "Recipient's country/region not in the whitelist",
        "permission",
        "add the country/region to the whitelist in the console's general settings",
        billed=False,
    ),
    _rep(
        "E000629",
        "SMS package used up (stop-when-used-up mode)",
        "quota",
        "buy a package or switch the sending mode in the console, then resend",
        billed=False,
    ),
)

_ENTRIES: tuple[CodeInfo, ...] = _REQUEST + _STATUS + _REPORT


def _with_report_twins(entries: tuple[CodeInfo, ...]) -> dict[tuple[str, str], CodeInfo]:
    """Index by (code, kind); E2xxxxx per-number statuses also arrive in reports, so add report twins."""
    table = {(e.code, e.kind): e for e in entries}
    for e in entries:
        if e.kind == "status" and e.code.startswith("E2") and (e.code, "report") not in table:
            table[(e.code, "report")] = replace(e, kind="report", billed=False)
    return table


_TABLE: dict[tuple[str, str], CodeInfo] = _with_report_twins(_ENTRIES)

# --- families ------------------------------------------------------------------------------------------

_CARRIER_PREFIX = {
    "MK": "Carrier SMSC error",
    "MC": "Carrier SMSC error",
    "MB": "Carrier gateway (ISMG) error",
    "MA": "Carrier SMSC did not answer the gateway",
    "ID": "Carrier SMSC internal error",
}
_PREFIXED = re.compile(r"^([A-Z0-9]{1,4}):(\S+)$")
_HUAWEI_PLATFORM = re.compile(r"^E2\d{5}$")
_HUAWEI_CODE = re.compile(r"^E\d{6}$")


def _family(code: str, kind: str | None) -> CodeInfo | None:
    """Classify a code that is not in the table by its shape."""
    k = kind or "report"
    if m := _PREFIXED.match(code):
        prefix = m.group(1)
        meaning = _CARRIER_PREFIX.get(prefix, f"Carrier error ({prefix}: family)")
        return CodeInfo(
            code,
            k,
            f"{meaning} {m.group(2)}",
            "carrier_rejected",
            True,
            "carrier refused the message: verify the number; if many numbers share this code, send the "
            "code and a sample smsMsgId to Huawei Cloud support",
        )
    if code.endswith("BLACK"):
        return CodeInfo(
            code,
            k,
            "Number on a carrier blacklist",
            "blacklist",
            True,
            _OPT_OUT,
        )
    if code.endswith("LIMIT"):
        return CodeInfo(
            code,
            k,
            "Carrier sending limit reached",
            "rate_limited",
            True,
            "send to this number less often; retry later",
            True,
        )
    if _HUAWEI_PLATFORM.match(code):
        return CodeInfo(code, k, "Huawei platform code (not in the catalog)", "platform", False, _SUPPORT)
    return None


def _unknown(code: str, kind: str | None) -> CodeInfo:
    k = kind or "report"
    billed = k != "request" and not _HUAWEI_CODE.match(code.upper())
    return CodeInfo(code, k, "Unknown code", "unknown", billed, _CONSOLE)


def _pending(kind: str | None) -> CodeInfo:
    return CodeInfo(
        "",
        kind or "report",
        "No status reported yet",
        "pending",
        False,
        "wait: status reports arrive up to 72 h after sending",
    )


def _is_missing(value: object) -> bool:
    try:
        return bool(pd.isna(cast(Any, value)))
    except (TypeError, ValueError):
        return False


def lookup(code: str | None, *, kind: str | None = None) -> CodeInfo:
    """Return the catalog entry for ``code``; never raises.

    Case and surrounding blanks are ignored. ``kind`` ("request", "status", "report") picks between
    entries sharing a code (``000000``); without it request, then status, then report wins. Codes not
    in the table are classified by family (``MK:0001``, ``*BLACK``, ``*LIMIT``, ``E2xxxxx``); anything
    else is category ``unknown``. ``None``/NaN/blank means no report yet: category ``pending``.
    """
    if kind not in KINDS:
        kind = None
    if code is None or (not isinstance(code, str) and _is_missing(code)):
        return _pending(kind)
    raw = str(code).strip()
    if not raw:
        return _pending(kind)
    norm = raw.upper()
    for k in ((kind,) if kind else ()) + KINDS:  # the asked kind first, then any kind under the asked name
        if (info := _TABLE.get((norm, k))) is not None:
            return info if kind in (None, k) else replace(info, kind=kind)
    return _family(norm, kind) or _unknown(raw, kind)


def catalog() -> pd.DataFrame:
    """One row per known (code, kind); columns as :class:`CodeInfo`, category and Int64 http_status."""
    rows = list(_TABLE.values())
    frame = pd.DataFrame(
        {
            "code": [r.code for r in rows],
            "kind": [r.kind for r in rows],
            "meaning": [r.meaning for r in rows],
            "category": pd.Categorical([r.category for r in rows], dtype=_CATEGORY_DTYPE),
            "billed": pd.array([r.billed for r in rows], dtype=bool),
            "advice": [r.advice for r in rows],
            "retryable": pd.array([r.retryable for r in rows], dtype=bool),
            "http_status": pd.array([r.http_status for r in rows], dtype="Int64"),
        }
    )
    return frame


def categorize(codes: pd.Series, *, kind: str | None = None) -> pd.DataFrame:
    """Classify a Series of codes: category, billed, advice, delivered; same index as ``codes``.

    Each distinct value is looked up once. Missing values mean "no report yet" (``pending``).
    Usage: ``reports.join(categorize(reports["status"]))``.
    """
    ids, uniques = pd.factorize(codes, use_na_sentinel=True)
    infos = [lookup(u, kind=kind) for u in uniques] + [lookup(None, kind=kind)]
    take = np.where(ids < 0, len(uniques), ids)
    cat_codes = np.array([CATEGORIES.index(i.category) for i in infos], dtype=np.int8)[take]
    cats = pd.Categorical.from_codes(cat_codes, dtype=_CATEGORY_DTYPE)
    billed = np.array([i.billed for i in infos], dtype=bool)[take]
    advice = np.array([i.advice for i in infos], dtype=object)[take]
    delivered = np.array([i.code == DELIVERED for i in infos], dtype=bool)[take]
    return pd.DataFrame(
        {"category": cats, "billed": billed, "advice": advice, "delivered": delivered}, index=codes.index
    )


_ERROR_CLASS: dict[str, type[ApiError]] = {
    "auth": AuthenticationError,
    "permission": PermissionDeniedError,
    "quota": QuotaError,
    "template": TemplateError,
}


def error_for(code: str, description: str = "", *, http_status: int | None = None, response: Any = None) -> ApiError:
    """Build the :mod:`smskit.errors` exception for a platform error ``code``, with the catalog's advice.

    Usage: ``raise error_for(body["code"], body.get("description", ""), http_status=r.status_code)``.
    """
    info = lookup(code, kind=None)
    cls = _ERROR_CLASS.get(info.category, RequestError)
    return cls(
        info.code or str(code),
        description or info.meaning,
        http_status=http_status if http_status is not None else info.http_status,
        advice=info.advice,
        response=response,
    )
