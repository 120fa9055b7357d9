"""Authentication of requests to the platform and of its pushes: AK/SK (:mod:`.aksk`) and X-WSSE (:mod:`.wsse`)."""

from smskit.auth.aksk import (
    AKSK_ALGORITHM,
    AKSK_SKEW,
    SDK_DATE_FORMAT,
    UNSIGNED_PAYLOAD,
    aksk_authorization,
    aksk_headers,
    canonical_request,
    verify_aksk,
)
from smskit.auth.wsse import (
    WSSE_AUTHORIZATION,
    WSSE_CREATED_FORMAT,
    WSSE_SKEW,
    WsseDigest,
    new_nonce,
    verify_wsse,
    wsse_digest,
    wsse_header,
    wsse_headers,
)

__all__ = [
    "AKSK_ALGORITHM",
    "AKSK_SKEW",
    "SDK_DATE_FORMAT",
    "UNSIGNED_PAYLOAD",
    "WSSE_AUTHORIZATION",
    "WSSE_CREATED_FORMAT",
    "WSSE_SKEW",
    "WsseDigest",
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
