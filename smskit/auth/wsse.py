"""X-WSSE (``UsernameToken``) request signing and verification, as pure functions.

``PasswordDigest = Base64(SHA-256(nonce + created + secret))``. The guide's examples disagree on what
is Base64-encoded: the hex text of the hash (``digest="hex"``, the default, as the reference's own
example) or its 32 raw bytes (``digest="raw"``). :func:`verify_wsse` accepts both, and upper-case hex
too. Clocks and nonces are passed in, so every function here is deterministic and testable.
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

__all__ = [
    "WSSE_AUTHORIZATION",
    "WSSE_CREATED_FORMAT",
    "WSSE_SKEW",
    "WsseDigest",
    "new_nonce",
    "verify_wsse",
    "wsse_digest",
    "wsse_header",
    "wsse_headers",
]

WSSE_CREATED_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


WSSE_AUTHORIZATION = 'WSSE realm="SDP",profile="UsernameToken",type="Appkey"'


WSSE_SKEW = timedelta(hours=24)


WsseDigest = Literal["hex", "raw"]


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

    Codes as Huawei's API reference lists them ("API错误码(发送短信)", sms_05_0050; the 返回值 tables):
    E000001 no Authorization; E000008 Authorization is not WSSE; E000002/E000004 realm missing/not
    SDP; E000003/E000005 profile missing/not UsernameToken; E000007/E000006 type missing/not Appkey;
    E000020 no X-WSSE; E000021/E000022/E000023 UserName/Nonce/Created missing; E000024 PasswordDigest
    missing, E000025 Created badly formatted, E000026 not a UsernameToken (these three from third-party
    copies of the table); E000110 Created outside ``skew``; E000102 unknown key; E000105 wrong digest.
    ``nonce_seen(app_key, nonce)`` records a nonce and says whether it was used before; a replayed
    nonce is refused with E000027 "illegal request" (the reference names no code for it: our choice).
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    auth = lowered.get("authorization")
    if not auth:
        return "E000001", None
    if not auth.strip().startswith("WSSE"):
        return "E000008", None
    auth_params = _params(auth)
    for field, missing, wrong, value in (
        ("realm", "E000002", "E000004", "SDP"),
        ("profile", "E000003", "E000005", "UsernameToken"),
        ("type", "E000007", "E000006", "Appkey"),
    ):
        if field not in auth_params:
            return missing, None
        if auth_params[field] != value:
            return wrong, None
    token = lowered.get("x-wsse")
    if not token:
        return "E000020", None
    if not token.strip().startswith("UsernameToken"):
        return "E000026", None
    fields = _params(token)
    for field, code in (
        ("username", "E000021"),
        ("nonce", "E000022"),
        ("created", "E000023"),
        ("passworddigest", "E000024"),
    ):
        if not fields.get(field):
            return code, fields.get("username")
    key, created, nonce = fields["username"], fields["created"], fields["nonce"]
    if not _CREATED_RE.match(created):
        return "E000025", key
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
    given_bytes = given.encode("utf-8", "surrogateescape")  # compare_digest refuses non-ASCII str
    if not any(hmac.compare_digest(given_bytes, c.encode()) for c in candidates):
        return "E000105", key
    if nonce_seen is not None and nonce_seen(key, nonce):
        return "E000027", key
    return None, key
