"""The HTTP edge: ``Client.send`` (batchSendSms) and ``Client.send_batch`` (batchSendDiffSms).

Everything is checked locally before a request is made; requests are signed per attempt (fresh
``X-Sdk-Date`` or WSSE nonce); one pooled ``requests.Session`` is reused across calls and threads;
TLS is always verified (a CA bundle may be given, verification cannot be turned off); redirects are
never followed. Only attempts that cannot have sent anything are retried, and :mod:`smskit.client.retry`
decides every outcome (its docstring has the table).
"""

from __future__ import annotations

import html
import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, cast
from urllib.parse import urlencode

import requests
from requests.adapters import HTTPAdapter

from smskit import codes
from smskit.auth import WsseDigest, aksk_headers, wsse_headers
from smskit.client import checks, retry
from smskit.client.models import SendResult, SmsItem
from smskit.config import ENV_VARS, Settings
from smskit.errors import ApiError, ConfigError, DataValidationError, RequestError, ServerError, TransportError
from smskit.protocol import BATCH_PATH, FORM, JSON, JSON_UTF8, MAX_ITEMS, PARTIAL, SEND_PATH, SUCCESS

__all__ = ["Client"]

log = logging.getLogger("smskit.client")


class Client:
    """Sends SMS through the Huawei Cloud Message & SMS API.

    >>> client = smskit.Client.from_env()                      # doctest: +SKIP
    >>> client.send(["+8615512345678"], "8ff55eac…", ["369751"]).raise_for_status()  # doctest: +SKIP

    Parameters
    ----------
    base_url, app_key, app_secret
        The application access address and credentials from the console.
    auth
        ``"aksk"`` (SDK-HMAC-SHA256, default) or ``"wsse"``.
    wsse_digest
        ``"hex"`` (default) or ``"raw"``: what the WSSE PasswordDigest Base64-encodes.
    timeout
        ``(connect, read)`` seconds.
    ca_bundle
        A CA bundle path; certificates are always verified.
    max_retries
        Retries of attempts that cannot have sent anything (connection refused, 429/503); see
        :mod:`smskit.client.retry` for the whole policy.
    """

    def __init__(
        self,
        base_url: str,
        app_key: str,
        app_secret: str,
        *,
        auth: str = "aksk",
        wsse_digest: str = "hex",
        sender: str | None = None,
        signature: str | None = None,
        status_callback: str | None = None,
        timeout: tuple[float, float] = (5, 30),
        ca_bundle: str | None = None,
        unsigned_payload: bool = False,
        pool_size: int = 16,
        max_retries: int = 3,
        clock: Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = Settings(
            base_url=base_url,
            app_key=app_key,
            app_secret=app_secret,
            sender=sender,
            signature=signature,
            auth=auth,
            wsse_digest=wsse_digest,
            status_callback=status_callback,
            ca_bundle=ca_bundle,
        )
        self.timeout = timeout
        self.unsigned_payload = unsigned_payload
        self.max_retries = max_retries
        self._clock = clock or (lambda: datetime.now(UTC))
        self._rng = rng or random.Random()
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        # passed with each request: a session-level verify loses to REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE in
        # requests' merge of environment settings, so an explicit ca_bundle would be ignored (proxies still
        # come from the environment)
        self._verify: str | bool = ca_bundle or True
        self._session.headers.update({"Accept": JSON, "User-Agent": "smskit/0.1"})

    @classmethod
    def from_env(cls, **overrides: Any) -> Client:
        """A client from arguments > environment > ``.env`` (see :class:`smskit.config.Settings`)."""
        setting_names = set(ENV_VARS)
        settings = Settings.resolve(**{k: v for k, v in overrides.items() if k in setting_names})
        options = {k: v for k, v in overrides.items() if k not in setting_names}
        return cls(
            settings.base_url,
            settings.app_key,
            settings.app_secret,
            auth=settings.auth,
            wsse_digest=settings.wsse_digest,
            sender=settings.sender,
            signature=settings.signature,
            status_callback=settings.status_callback,
            ca_bundle=settings.ca_bundle,
            **options,
        )

    # -- public API -------------------------------------------------------------------------
    def send(
        self,
        to: str | Iterable[str],
        template_id: str,
        params: Sequence[str] | None = (),
        *,
        sender: str | None = None,
        signature: str | None = None,
        status_callback: str | None = None,
        extend: str | None = None,
    ) -> SendResult:
        """One template to up to 500 numbers (``POST /sms/batchSendSms/v1``)."""
        numbers = checks.split_numbers(to)
        checks.check_numbers(numbers)
        checks.check_template_id(template_id)
        values = checks.check_params(params)
        fields = {"from": self._sender(sender), "to": ",".join(numbers), "templateId": template_id}
        if values:
            fields["templateParas"] = json.dumps(values, ensure_ascii=False)
        if sig := signature or self.settings.signature:
            fields["signature"] = sig
        fields.update(self._common(status_callback=status_callback, extend=extend))
        body = urlencode(fields).encode()
        return self._post(SEND_PATH, body, FORM, api="batchSendSms")

    def send_batch(
        self,
        items: Iterable[SmsItem | Mapping[str, Any]],
        *,
        sender: str | None = None,
        status_callback: str | None = None,
        extend: str | None = None,
    ) -> SendResult:
        """Several templates/parameter sets in one call (``POST /sms/batchSendDiffSms/v1``)."""
        batch = [SmsItem.coerce(item) for item in items]
        if not batch:
            raise DataValidationError("send_batch needs at least one item", advice="pass SmsItem(...) objects")
        if len(batch) > MAX_ITEMS:
            raise DataValidationError(
                f"{len(batch)} items in one call; smskit sends at most {MAX_ITEMS}",
                advice="split the items, or use smskit.send_campaign which batches for you",
            )
        default_signature = self.settings.signature
        if default_signature:  # the client's signature applies per item, as send() applies it per call
            batch = [i if i.signature else SmsItem(i.to, i.template_id, i.params, default_signature) for i in batch]
        for item in batch:
            item.check()
        payload: dict[str, Any] = {"from": self._sender(sender)}
        payload.update(self._common(status_callback=status_callback, extend=extend))
        payload["smsContent"] = [item.to_json() for item in batch]
        body = json.dumps(payload, ensure_ascii=False).encode()
        return self._post(BATCH_PATH, body, JSON_UTF8, api="batchSendDiffSms")

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        s = self.settings
        return f"Client(base_url={s.base_url!r}, app_key={s.app_key!r}, auth={s.auth!r}, sender={s.sender!r})"

    def _repr_html_(self) -> str:
        return f"<code>{html.escape(repr(self))}</code>"

    # -- internals --------------------------------------------------------------------------
    def _sender(self, sender: str | None) -> str:
        value = sender or self.settings.sender
        if not value:
            raise ConfigError(
                "no sender (channel number) given", advice="pass sender= or set SMSKIT_SENDER (csms…/isms…)"
            )
        return value

    def _common(self, *, status_callback: str | None, extend: str | None) -> dict[str, str]:
        """The optional fields both APIs share at the top level: statusCallback and extend."""
        callback = status_callback or self.settings.status_callback
        checks.check_status_callback(callback)
        checks.check_extend(extend)
        fields: dict[str, str] = {}
        if callback:
            fields["statusCallback"] = callback
        if extend:
            fields["extend"] = extend
        return fields

    def _headers(self, url: str, body: bytes, content_type: str) -> dict[str, str]:
        s = self.settings
        now = self._clock()
        if s.auth == "wsse":
            digest: WsseDigest = "raw" if s.wsse_digest == "raw" else "hex"
            return wsse_headers(s.app_key, s.app_secret, content_type=content_type, now=now, digest=digest)
        return aksk_headers(
            "POST",
            url,
            body,
            key=s.app_key,
            secret=s.app_secret,
            content_type=content_type,
            now=now,
            unsigned_payload=self.unsigned_payload,
        )

    def _post(self, path: str, body: bytes, content_type: str, *, api: str) -> SendResult:
        """POST ``body`` until :func:`~smskit.client.retry.should_retry` says stop (see that module's table)."""
        url = self.settings.base_url + path
        started = time.monotonic()
        attempt = 0
        while True:
            headers = self._headers(url, body, content_type)
            try:
                response = self._session.post(
                    url,
                    data=body,
                    headers=headers,
                    timeout=self.timeout,
                    verify=self._verify,
                    allow_redirects=False,
                )
            except requests.exceptions.RequestException as exc:
                written = retry.may_have_reached(exc)
                if attempt < self.max_retries and retry.should_retry(None, None, written):
                    self._wait(retry.backoff(attempt, self._rng), f"{type(exc).__name__} before sending")
                    attempt += 1
                    continue
                raise _transport_error(exc, written, url) from exc
            code, result = self._result(response, api=api, attempts=attempt + 1, started=started)
            retryable = code not in (None, SUCCESS, PARTIAL) and codes.lookup(code, kind="request").retryable
            if attempt < self.max_retries and retry.should_retry(
                response.status_code, code, True, retryable_code=retryable
            ):
                wait_s = retry.retry_delay(
                    attempt, self._rng, retry_after_s=retry.retry_after(response.headers.get("Retry-After"))
                )
                self._wait(wait_s, f"HTTP {response.status_code}" + (f" {code}" if code else ""))
                attempt += 1
                continue
            if isinstance(result, SendResult):
                log.debug("%s -> %s %s (%d numbers)", api, response.status_code, code, len(result.results))
                return result
            raise result

    def _wait(self, delay: float, why: str) -> None:
        log.info("retrying in %.2fs after %s (nothing was sent)", delay, why)
        time.sleep(delay)

    @staticmethod
    def _result(
        response: requests.Response, *, api: str, attempts: int, started: float
    ) -> tuple[str | None, SendResult | SmsKitErrorT]:
        """``(code in the body or None, what the answer means)``: a :class:`SendResult` when the body has a
        documented code, else the error the HTTP status rule gives (:mod:`smskit.client.retry`)."""
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        code = payload.get("code") if isinstance(payload, dict) and isinstance(payload.get("code"), str) else None
        if code is not None and retry.is_documented(code):
            results = cast(dict[str, Any], payload).get("result") or ()
            return code, SendResult(
                code=code,
                description=str(cast(dict[str, Any], payload).get("description", "")),
                http_status=status,
                results=tuple(r for r in results if isinstance(r, Mapping)),
                api=api,
                attempts=attempts,
                elapsed_s=time.monotonic() - started,
            )
        text = response.text[:200]
        processed = retry.may_have_processed(status)
        if status in retry.REFUSED_BEFORE_PROCESSING or status >= 500:
            return code, ServerError(status, text, may_have_reached=processed)
        if processed:
            return code, TransportError(
                f"HTTP {status} without a documented code from {api}: {text!r}",
                may_have_reached=True,
                advice="the outcome is unknown; check Send Details in the console before re-sending",
            )
        return code, RequestError(
            code or f"HTTP{status}",
            text or "no body",
            http_status=status,
            advice="nothing was sent; check the base_url and the API path",
        )


SmsKitErrorT = ApiError | TransportError


def _transport_error(exc: requests.exceptions.RequestException, written: bool, url: str) -> TransportError:
    if written:
        return TransportError(
            f"connection to {url} failed after the request was sent ({type(exc).__name__})",
            may_have_reached=True,
            advice="the outcome is unknown: the messages may have been sent; do not re-send blindly "
            "(send_campaign marks these recipients 'unknown' and status reports can resolve them)",
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return TransportError(
            f"TLS verification failed for {url}",
            may_have_reached=False,
            advice="nothing was sent; check the address; for a private CA set SMSKIT_CA_BUNDLE",
        )
    return TransportError(
        f"could not connect to {url} ({type(exc).__name__})",
        may_have_reached=False,
        advice="nothing was sent; check SMSKIT_BASE_URL and the network, then retry",
    )
