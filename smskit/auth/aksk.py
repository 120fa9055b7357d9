"""AK/SK (``SDK-HMAC-SHA256``) request signing and verification, as pure functions.

An HMAC-SHA256 of a canonical form of the request: :func:`aksk_headers` makes the headers to send,
:func:`verify_aksk` checks them (the emulator and the status-report receiver use it). The clock is
always passed in, so every function here is deterministic and testable.

The canonical form is the official signer's (``huaweicloudsdkcore`` 3.1.219, ``signer/signer.py``;
the tests check both directions against it): the path is percent-decoded, split on ``/`` and each
segment encoded (only ``A-Za-z0-9-_.~`` kept), always ending in ``/``; the query is decoded into raw
``(key, value)`` pairs, repeated keys kept, sorted on the raw pairs, then encoded; headers whose
name holds ``_`` are not signed; an empty body hashes as empty even when ``X-Sdk-Content-Sha256``
says ``UNSIGNED-PAYLOAD``. A verifier must be given the path as received (``raw_path``), not one a
server already decoded, and header values as the server read them (latin-1 text of UTF-8 bytes).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote, urlsplit

__all__ = [
    "AKSK_ALGORITHM",
    "AKSK_SKEW",
    "SDK_DATE_FORMAT",
    "UNSIGNED_PAYLOAD",
    "aksk_authorization",
    "aksk_headers",
    "canonical_request",
    "query_pairs",
    "verify_aksk",
]

AKSK_ALGORITHM = "SDK-HMAC-SHA256"


SDK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"


UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


AKSK_SKEW = timedelta(minutes=15)


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _encode(text: str) -> str:
    """Percent-encode everything but ``A-Za-z0-9-_.~``."""
    return quote(text, safe="~")


_EMPTY_HASH = hashlib.sha256(b"").hexdigest()


def _canonical_uri(path: str) -> str:
    """Each segment of the percent-decoded path, encoded; a ``/`` at the end (``%2F`` splits too)."""
    uri = "/".join(_encode(seg) for seg in unquote(path or "/").split("/"))
    return uri if uri.endswith("/") else uri + "/"


def query_pairs(query: str) -> list[tuple[str, str]]:
    """The raw ``(key, value)`` pairs of a received query string, in order (repeated keys kept)."""
    pairs: list[tuple[str, str]] = []
    for part in query.split("&") if query else []:
        if part:
            key, _, value = part.partition("=")
            pairs.append((unquote(key), unquote(value)))
    return pairs


def _canonical_query(query: str) -> str:
    """Sorted on the raw pairs, then encoded (``t=10.5`` sorts before ``t=10:00``, as the signer sorts)."""
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(query_pairs(query)))


def _payload_hash(lowered: Mapping[str, str], body: bytes) -> str:
    """The signer's rule: empty body → the empty hash; else ``X-Sdk-Content-Sha256`` if set; else SHA-256."""
    if not body:
        return _EMPTY_HASH
    return lowered.get("x-sdk-content-sha256") or _sha256_hex(body)


def canonical_request(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    signed_headers: Sequence[str] | None = None,
) -> tuple[str, str]:
    """Return ``(canonical_request, signed_headers)`` for SDK-HMAC-SHA256.

    Without ``signed_headers`` every header given is signed except names holding ``_`` (lower-cased,
    sorted), as the official signer does; a verifier passes the list from ``Authorization``.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    names = sorted(n for n in lowered if "_" not in n) if signed_headers is None else list(signed_headers)
    canonical_headers = "".join(f"{name}:{lowered[name].strip()}\n" for name in names)
    signed = ";".join(names)
    payload_hash = _payload_hash({n: lowered[n] for n in names}, body)
    text = "\n".join(
        [
            method.upper(),
            _canonical_uri(path),
            _canonical_query(query),
            canonical_headers,
            signed,
            payload_hash,
        ]
    )
    return text, signed


def _string_to_sign(canonical: str, sdk_date: str) -> str:
    return f"{AKSK_ALGORITHM}\n{sdk_date}\n{_sha256_hex(canonical.encode('utf-8', 'surrogateescape'))}"


def _as_sent(value: str) -> str:
    """A header value a server decoded as latin-1, back to the text the client signed (its UTF-8)."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # already the signed text
        return value


def _signature(secret: str, string_to_sign: str) -> str:
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def aksk_authorization(method: str, url: str, headers: Mapping[str, str], body: bytes, *, key: str, secret: str) -> str:
    """The ``Authorization`` value for a request whose ``headers`` (incl. ``X-Sdk-Date``) are final.

    ``headers`` must hold exactly the headers that will be signed, ``host`` included.
    """
    sdk_date = next((v for k, v in headers.items() if k.lower() == "x-sdk-date"), None)
    if sdk_date is None:
        raise ValueError("X-Sdk-Date header is required to sign")
    parts = urlsplit(url)
    canonical, signed = canonical_request(method, parts.path, parts.query, headers, body)
    signature = _signature(secret, _string_to_sign(canonical, sdk_date))
    return f"{AKSK_ALGORITHM} Access={key}, SignedHeaders={signed}, Signature={signature}"


def aksk_headers(
    method: str,
    url: str,
    body: bytes,
    *,
    key: str,
    secret: str,
    content_type: str,
    now: datetime,
    unsigned_payload: bool = False,
) -> dict[str, str]:
    """Headers to send for an AK/SK-signed request: Content-Type, Host, X-Sdk-Date, Authorization.

    ``unsigned_payload=True`` signs ``X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`` instead of the body hash,
    as newer official SDKs do for form bodies.
    """
    host = urlsplit(url).netloc
    headers = {
        "Content-Type": content_type,
        "Host": host,
        "X-Sdk-Date": now.astimezone(UTC).strftime(SDK_DATE_FORMAT),
    }
    if unsigned_payload:
        headers["X-Sdk-Content-Sha256"] = UNSIGNED_PAYLOAD
    headers["Authorization"] = aksk_authorization(method, url, headers, body, key=key, secret=secret)
    return headers


_SDK_DATE_RE = re.compile(r"\d{8}T\d{6}Z")


_AKSK_RE = re.compile(
    r"^SDK-HMAC-SHA256\s+Access=(?P<access>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),\s*"
    r"Signature=(?P<signature>[0-9a-fA-F]+)\s*$"
)


def verify_aksk(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    secrets: Mapping[str, str],
    now: datetime,
    skew: timedelta = AKSK_SKEW,
    unsigned_payload: bool = True,
) -> tuple[str | None, str | None]:
    """Check an AK/SK-signed request; return ``(error_code, access_key)``, error_code ``None`` when valid.

    The signature covers the body through its SHA-256, or through a signed ``X-Sdk-Content-Sha256``:
    when that holds a hash it must be the body's (else E000045: the signature alone would not notice a
    changed body); when it says ``UNSIGNED-PAYLOAD`` the body is not covered at all, which is refused
    with ``unsigned_payload=False`` (an empty body is always covered: it hashes as empty).

    Codes as Huawei's API reference lists them ("API错误码(发送短信)", sms_05_0050): E000001 no
    Authorization; E000041 X-Sdk-Date missing or empty; E000042 X-Sdk-Date not ``yyyyMMdd'T'HHmmss'Z'``;
    E000102 unknown key (app_key invalid); E000045 signature check failed (also when a header it names
    is missing, or ``host``/``x-sdk-date`` are not signed). E000043 Authorization malformed and E000044
    X-Sdk-Date outside ``skew`` (15 min, the API Gateway signing guide's window) come from third-party
    copies of the table: Huawei's own wording for them was not found.
    """
    lowered = {name.lower(): _as_sent(value) for name, value in headers.items()}
    auth = lowered.get("authorization")
    if not auth:
        return "E000001", None
    match = _AKSK_RE.match(auth.strip())
    if not match:
        return "E000043", None
    access = match["access"]
    sdk_date = lowered.get("x-sdk-date", "").strip()
    if not sdk_date:
        return "E000041", access
    try:
        signed_at = datetime.strptime(sdk_date, SDK_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return "E000042", access
    if not _SDK_DATE_RE.fullmatch(sdk_date):
        return "E000042", access
    if abs(now - signed_at) > skew:
        return "E000044", access
    secret = secrets.get(access)
    if secret is None:
        return "E000102", access
    names = match["signed"].split(";")
    if not {"host", "x-sdk-date"} <= set(names) or any(name not in lowered for name in names):
        return "E000045", access
    canonical, _ = canonical_request(method, path, query, lowered, body, signed_headers=names)
    expected = _signature(secret, _string_to_sign(canonical, sdk_date))
    if not hmac.compare_digest(expected, match["signature"].lower()):
        return "E000045", access
    claimed = lowered.get("x-sdk-content-sha256", "").strip() if "x-sdk-content-sha256" in names else ""
    if body and claimed:
        if claimed == UNSIGNED_PAYLOAD:
            if not unsigned_payload:
                return "E000045", access
        elif not hmac.compare_digest(claimed.lower().encode(), _sha256_hex(body).encode()):
            return "E000045", access
    return None, access
