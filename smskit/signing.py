"""Request signing and verification, as pure functions.

Two schemes authenticate calls to the platform:

* **AK/SK** (``SDK-HMAC-SHA256``, recommended): an HMAC of a canonical form of the request.
  :func:`aksk_headers` makes the headers to send; :func:`verify_aksk` checks them (the emulator and
  the status-report receiver use it).
* **X-WSSE**: ``PasswordDigest = Base64(SHA-256(nonce + created + secret))``. The guide's examples
  disagree on what is Base64-encoded: the hex text of the hash (``digest="hex"``, the default,
  as the reference's own example) or its 32 raw bytes (``digest="raw"``). :func:`verify_wsse`
  accepts both, and upper-case hex too.

Clocks and nonces are always passed in, so every function here is deterministic and testable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets as _secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

__all__ = [
    "AKSK_ALGORITHM",
    "SDK_DATE_FORMAT",
    "WSSE_AUTHORIZATION",
    "WSSE_CREATED_FORMAT",
    "aksk_authorization",
    "aksk_headers",
    "canonical_request",
    "new_nonce",
    "verify_aksk",
    "verify_wsse",
    "wsse_digest",
    "wsse_header",
    "wsse_headers",
]

AKSK_ALGORITHM = "SDK-HMAC-SHA256"
SDK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
WSSE_CREATED_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
WSSE_AUTHORIZATION = 'WSSE realm="SDP",profile="UsernameToken",type="Appkey"'
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
AKSK_SKEW = timedelta(minutes=15)
WSSE_SKEW = timedelta(hours=24)

WsseDigest = Literal["hex", "raw"]


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _encode(text: str) -> str:
    """Percent-encode everything but ``A-Za-z0-9-_.~``."""
    return quote(text, safe="~")


def _canonical_uri(path: str) -> str:
    segments = [_encode(seg) for seg in (path or "/").split("/")]
    uri = "/".join(segments)
    return uri if uri.endswith("/") else uri + "/"


def _canonical_query(query: str) -> str:
    pairs: list[tuple[str, str]] = []
    for part in query.split("&") if query else []:
        key, _, value = part.partition("=")
        pairs.append((_encode(unquote(key)), _encode(unquote(value))))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def canonical_request(method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
    """Return ``(canonical_request, signed_headers)`` for SDK-HMAC-SHA256.

    Every header given is signed (lower-cased, sorted). The payload hash is the
    ``X-Sdk-Content-Sha256`` header's value when present, else the SHA-256 of ``body``.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    names = sorted(lowered)
    canonical_headers = "".join(f"{name}:{lowered[name].strip()}\n" for name in names)
    signed = ";".join(names)
    payload_hash = lowered.get("x-sdk-content-sha256") or _sha256_hex(body)
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
    return f"{AKSK_ALGORITHM}\n{sdk_date}\n{_sha256_hex(canonical.encode())}"


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
) -> tuple[str | None, str | None]:
    """Check an AK/SK-signed request; return ``(error_code, access_key)``, error_code ``None`` when valid.

    Codes: E000001 no Authorization, E000027 malformed, E000110 date outside ``skew``,
    E000102 unknown key, E000101 signature mismatch.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    auth = lowered.get("authorization")
    if not auth:
        return "E000001", None
    match = _AKSK_RE.match(auth.strip())
    if not match:
        return "E000027", None
    access = match["access"]
    sdk_date = lowered.get("x-sdk-date", "")
    try:
        signed_at = datetime.strptime(sdk_date, SDK_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return "E000027", access
    if abs(now - signed_at) > skew:
        return "E000110", access
    secret = secrets.get(access)
    if secret is None:
        return "E000102", access
    names = match["signed"].split(";")
    if not {"host", "x-sdk-date"} <= set(names) or any(name not in lowered for name in names):
        return "E000101", access
    signed_headers = {name: lowered[name] for name in names}
    canonical, _ = canonical_request(method, path, query, signed_headers, body)
    expected = _signature(secret, _string_to_sign(canonical, sdk_date))
    if not hmac.compare_digest(expected, match["signature"].lower()):
        return "E000101", access
    return None, access


def new_nonce() -> str:
    """A fresh cryptographically random nonce (32 hex chars); never reuse one."""
    return _secrets.token_hex(16)


def _created_text(created: datetime | str) -> str:
    if isinstance(created, str):
        return created
    if created.tzinfo is None:
        raise ValueError("created must be timezone-aware (UTC); naive local time is the guide's bug")
    return created.astimezone(UTC).strftime(WSSE_CREATED_FORMAT)


def wsse_digest(nonce: str, created: str, secret: str, *, digest: WsseDigest = "hex") -> str:
    """``Base64(SHA-256(nonce + created + secret))`` of the hex text (``"hex"``) or raw bytes (``"raw"``)."""
    hashed = hashlib.sha256((nonce + created + secret).encode())
    if digest == "hex":
        raw = hashed.hexdigest().encode()
    elif digest == "raw":
        raw = hashed.digest()
    else:
        raise ValueError(f"digest must be 'hex' or 'raw', not {digest!r}")
    return base64.b64encode(raw).decode()


def wsse_header(key: str, secret: str, *, nonce: str, created: datetime | str, digest: WsseDigest = "hex") -> str:
    """The ``X-WSSE`` value: ``UsernameToken Username="…",PasswordDigest="…",Nonce="…",Created="…"``."""
    created_text = _created_text(created)
    password = wsse_digest(nonce, created_text, secret, digest=digest)
    return f'UsernameToken Username="{key}",PasswordDigest="{password}",Nonce="{nonce}",Created="{created_text}"'


def wsse_headers(
    key: str,
    secret: str,
    *,
    content_type: str,
    now: datetime,
    nonce: str | None = None,
    digest: WsseDigest = "hex",
) -> dict[str, str]:
    """Headers to send for an X-WSSE request; a fresh nonce is drawn unless one is given."""
    return {
        "Content-Type": content_type,
        "Authorization": WSSE_AUTHORIZATION,
        "X-WSSE": wsse_header(key, secret, nonce=nonce or new_nonce(), created=now, digest=digest),
    }


_AUTH_PARAM_RE = re.compile(r'(\w+)\s*=\s*"([^"]*)"')
_CREATED_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def _params(text: str) -> dict[str, str]:
    return {k.lower(): v for k, v in _AUTH_PARAM_RE.findall(text)}


def verify_wsse(
    headers: Mapping[str, str],
    *,
    secrets: Mapping[str, str],
    now: datetime,
    nonce_seen: Callable[[str, str], bool] | None = None,
    skew: timedelta = WSSE_SKEW,
) -> tuple[str | None, str | None]:
    """Check X-WSSE headers; return ``(error_code, app_key)``, error_code ``None`` when valid.

    ``nonce_seen(app_key, nonce)`` records a nonce and says whether it was used before; a replayed
    nonce is refused with E000027. Codes: E000001 no Authorization; E000002/E000004 realm missing/not
    SDP; E000003/E000005 profile missing/wrong; E000006/E000007 type; E000020 no X-WSSE; E000021 not a
    UsernameToken; E000022–E000025 Username/PasswordDigest/Nonce/Created missing; E000026 Created
    malformed; E000110 Created outside ``skew``; E000102 unknown key; E000105 wrong digest.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    auth = lowered.get("authorization")
    if not auth:
        return "E000001", None
    if not auth.strip().startswith("WSSE"):
        return "E000002", None
    auth_params = _params(auth)
    for field, missing, wrong, value in (
        ("realm", "E000002", "E000004", "SDP"),
        ("profile", "E000003", "E000005", "UsernameToken"),
        ("type", "E000006", "E000007", "Appkey"),
    ):
        if field not in auth_params:
            return missing, None
        if auth_params[field] != value:
            return wrong, None
    token = lowered.get("x-wsse")
    if not token:
        return "E000020", None
    if not token.strip().startswith("UsernameToken"):
        return "E000021", None
    fields = _params(token)
    for field, code in (
        ("username", "E000022"),
        ("passworddigest", "E000023"),
        ("nonce", "E000024"),
        ("created", "E000025"),
    ):
        if not fields.get(field):
            return code, fields.get("username")
    key, created, nonce = fields["username"], fields["created"], fields["nonce"]
    if not _CREATED_RE.match(created):
        return "E000026", key
    created_at = datetime.strptime(created, WSSE_CREATED_FORMAT).replace(tzinfo=UTC)
    if abs(now - created_at) > skew:
        return "E000110", key
    secret = secrets.get(key)
    if secret is None:
        return "E000102", key
    given = fields["passworddigest"]
    hashed = hashlib.sha256((nonce + created + secret).encode())
    candidates = (
        base64.b64encode(hashed.hexdigest().encode()).decode(),
        base64.b64encode(hashed.hexdigest().upper().encode()).decode(),
        base64.b64encode(hashed.digest()).decode(),
    )
    if not any(hmac.compare_digest(given, c) for c in candidates):
        return "E000105", key
    if nonce_seen is not None and nonce_seen(key, nonce):
        return "E000027", key
    return None, key
