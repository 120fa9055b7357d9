"""Settings: explicit arguments win over the environment, which wins over a ``.env`` file.

* :class:`Settings` — the client's: base URL, app key and secret, sender, signature, …
* :class:`ReceiverSettings` — the status-report receiver's: its URL token and the push AK/SK pairs.

Secrets live in fields left out of ``repr`` and ``str``; nothing in smskit prints them.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from smskit.errors import ConfigError

__all__ = [
    "ENV_VARS",
    "RECEIVER_ENV_VARS",
    "ReceiverSettings",
    "Settings",
    "check_base_url",
    "is_loopback",
    "mask_url",
    "read_push_keys",
    "read_secret_file",
]

# field name -> environment variable
ENV_VARS: dict[str, str] = {
    "base_url": "SMSKIT_BASE_URL",
    "app_key": "SMSKIT_APP_KEY",
    "app_secret": "SMSKIT_APP_SECRET",
    "sender": "SMSKIT_SENDER",
    "signature": "SMSKIT_SIGNATURE",
    "auth": "SMSKIT_AUTH",
    "wsse_digest": "SMSKIT_WSSE_DIGEST",
    "status_callback": "SMSKIT_STATUS_CALLBACK",
    "ca_bundle": "SMSKIT_CA_BUNDLE",
}


# receiver setting -> environment variable
RECEIVER_ENV_VARS: dict[str, str] = {
    "token": "SMSKIT_RECEIVER_TOKEN",
    "token_file": "SMSKIT_RECEIVER_TOKEN_FILE",
    "push_ak": "SMSKIT_PUSH_AK",
    "push_sk": "SMSKIT_PUSH_SK",
    "push_keys_file": "SMSKIT_PUSH_KEYS_FILE",
}


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (the only hosts plain HTTP is allowed to)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def mask_url(url: str | None) -> str | None:
    """A URL with its path hidden (``https://host/…``): a status callback's path holds the receiver's token."""
    if not url:
        return url
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…" if parts.scheme and parts.netloc else "…"


def check_base_url(url: str) -> str:
    """Validate the application access address; plain ``http`` only for loopback (the emulator)."""
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ConfigError(
            f"base_url {url!r} is not an http(s) URL",
            advice="use the application access address from the console, e.g. "
            "https://smsapi.ap-southeast-1.myhuaweicloud.com:443",
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(
            f"base_url {url!r} uses plain http to a non-loopback host",
            advice="use https: credentials and numbers must not cross the network unencrypted",
        )
    if parts.path not in {"", "/"}:
        raise ConfigError(
            f"base_url {url!r} has a path",
            advice="give only scheme://host:port; smskit adds /sms/batchSendSms/v1 itself",
        )
    return url.rstrip("/")


@dataclass(frozen=True)
class Settings:
    """Resolved configuration for a :class:`smskit.Client`; build it with :meth:`resolve`."""

    base_url: str
    app_key: str
    app_secret: str = field(repr=False)
    sender: str | None = None
    signature: str | None = None
    auth: str = "aksk"
    wsse_digest: str = "hex"
    status_callback: str | None = None
    ca_bundle: str | None = None

    def __repr__(self) -> str:
        shown = {f.name: getattr(self, f.name) for f in fields(self) if f.repr}
        shown["status_callback"] = mask_url(self.status_callback)
        return "Settings(" + ", ".join(f"{name}={value!r}" for name, value in shown.items()) + ")"

    def __post_init__(self) -> None:
        if self.auth not in {"aksk", "wsse"}:
            raise ConfigError(f"auth must be 'aksk' or 'wsse', not {self.auth!r}", advice="set SMSKIT_AUTH")
        if self.wsse_digest not in {"hex", "raw"}:
            raise ConfigError(
                f"wsse_digest must be 'hex' or 'raw', not {self.wsse_digest!r}",
                advice="set SMSKIT_WSSE_DIGEST",
            )
        if not self.app_key:
            raise ConfigError("app_key is empty", advice="set SMSKIT_APP_KEY or pass app_key=")
        if not self.app_secret:
            raise ConfigError("app_secret is empty", advice="set SMSKIT_APP_SECRET or pass app_secret=")
        if self.ca_bundle and not Path(self.ca_bundle).is_file():
            raise ConfigError(f"CA bundle {self.ca_bundle!r} does not exist", advice="fix SMSKIT_CA_BUNDLE")
        object.__setattr__(self, "base_url", check_base_url(self.base_url))

    @classmethod
    def resolve(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        dotenv: str | os.PathLike[str] | None = ".env",
        **overrides: Any,
    ) -> Settings:
        """Arguments (``overrides`` not ``None``) > ``environ`` (default ``os.environ``) > ``dotenv`` file."""
        unknown = set(overrides) - set(ENV_VARS)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}", advice=f"use {sorted(ENV_VARS)}")
        env = os.environ if environ is None else environ
        file_values = _dotenv_values(dotenv)
        values: dict[str, Any] = {}
        for name, var in ENV_VARS.items():
            value = overrides.get(name)
            if value is None:
                value = env.get(var) or file_values.get(var) or None
            if value is not None:
                values[name] = value
        missing = [ENV_VARS[name] for name in ("base_url", "app_key", "app_secret") if name not in values]
        if missing:
            raise ConfigError(
                f"missing configuration: {', '.join(missing)}",
                advice="pass them as arguments, export them, or put them in .env "
                "(`smskit emulator` prints a ready-to-export set for testing)",
            )
        return cls(**values)

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the given non-``None`` fields replaced."""
        names = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in overrides.items() if v is not None and k in names})


def _dotenv_values(dotenv: str | os.PathLike[str] | None) -> Mapping[str, str | None]:
    if dotenv is None or not Path(dotenv).is_file():
        return {}
    from dotenv import dotenv_values

    return dotenv_values(dotenv)


def read_secret_file(path: str | os.PathLike[str], what: str, variable: str) -> str:
    """The text of a file holding a secret; ConfigError naming the file and ``variable`` when unreadable."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the {what} file {os.fspath(path)!r}: {exc}", advice=f"fix {variable}") from exc


def read_push_keys(path: str | os.PathLike[str]) -> dict[str, str]:
    """Push AK/SK pairs from a file: one ``AK SK`` pair per line (blank lines and ``#`` comments skipped).

    Two lines keep two pairs valid at once, as Huawei advises while a changed pair takes effect
    (about 5 minutes, API reference "推送AKSK验证").
    """
    pairs: dict[str, str] = {}
    text = read_secret_file(path, "push keys", RECEIVER_ENV_VARS["push_keys_file"])
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ConfigError(
                f"{os.fspath(path)} line {number}: expected 'AK SK', got {len(parts)} field(s)",
                advice="write one push AK and its SK per line, separated by a space",
            )
        ak, sk = parts
        if ak in pairs and pairs[ak] != sk:
            raise ConfigError(f"{os.fspath(path)} line {number}: AK {ak!r} appears twice", advice="keep one SK per AK")
        pairs[ak] = sk
    if not pairs:
        raise ConfigError(f"{os.fspath(path)} holds no push AK/SK pair", advice="write 'AK SK' on a line")
    return pairs


@dataclass(frozen=True)
class ReceiverSettings:
    """The status-report receiver's secrets: the URL ``token`` and the push ``{AK: SK}`` pairs.

    Build it with :meth:`resolve` (arguments > environment > ``.env``, like :class:`Settings`).
    Neither the token nor any SK is shown by ``repr``.
    """

    token: str | None = field(default=None, repr=False)
    push_keys: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        token = self.token
        if token is not None and (not token or "/" in token or token != token.strip() or not token.isprintable()):
            raise ConfigError(
                "the receiver token must be a non-empty path segment",
                advice="use e.g. secrets.token_urlsafe(16)",
            )
        keys = dict(self.push_keys)
        for ak, sk in keys.items():
            if not isinstance(ak, str) or not isinstance(sk, str) or not ak or not sk or ak != ak.strip():
                raise ConfigError("every push AK and SK must be non-empty text", advice="check the push keys")
        object.__setattr__(self, "push_keys", keys)

    def __repr__(self) -> str:
        token = "set" if self.token is not None else None
        return f"ReceiverSettings(token={token!r}, push_aks={sorted(self.push_keys)!r})"

    @classmethod
    def resolve(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        dotenv: str | os.PathLike[str] | None = ".env",
        token: str | None = None,
        token_file: str | os.PathLike[str] | None = None,
        push_ak: str | None = None,
        push_sk: str | None = None,
        push_keys: Mapping[str, str] | None = None,
        push_keys_file: str | os.PathLike[str] | None = None,
    ) -> ReceiverSettings:
        """Resolve each secret from the first level that sets it: arguments, then ``environ``, then ``dotenv``.

        The token comes from ``token`` or the first line of ``token_file``; the push keys from the
        ``push_ak``/``push_sk`` pair, a ``push_keys`` mapping and the ``push_keys_file`` lines (see
        :func:`read_push_keys`), all of one level merged.
        """
        env = os.environ if environ is None else environ
        file_values = _dotenv_values(dotenv)
        levels: list[Mapping[str, Any]] = [
            {
                "token": token,
                "token_file": token_file,
                "push_ak": push_ak,
                "push_sk": push_sk,
                "push_keys_file": push_keys_file,
            },
            {name: env.get(var) or None for name, var in RECEIVER_ENV_VARS.items()},
            {name: file_values.get(var) or None for name, var in RECEIVER_ENV_VARS.items()},
        ]
        resolved_token: str | None = None
        for level in levels:
            if level["token"] is not None:
                resolved_token = level["token"]
            elif level["token_file"] is not None:
                var = RECEIVER_ENV_VARS["token_file"]
                resolved_token = read_secret_file(level["token_file"], "receiver token", var).strip()
            else:
                continue
            break
        keys: dict[str, str] = {}
        for i, level in enumerate(levels):
            keys = dict(push_keys or {}) if i == 0 else {}
            ak, sk = level["push_ak"], level["push_sk"]
            if (ak is None) != (sk is None):
                where = "arguments" if i == 0 else "the environment" if i == 1 else str(dotenv)
                raise ConfigError(
                    f"a push AK without its SK (or the reverse) in {where}",
                    advice="set both SMSKIT_PUSH_AK and SMSKIT_PUSH_SK, or use SMSKIT_PUSH_KEYS_FILE",
                )
            if ak is not None:
                keys[ak] = sk
            if level["push_keys_file"] is not None:
                for file_ak, file_sk in read_push_keys(level["push_keys_file"]).items():
                    if keys.get(file_ak, file_sk) != file_sk:
                        raise ConfigError(f"push AK {file_ak!r} has two SKs", advice="keep one SK per AK")
                    keys[file_ak] = file_sk
            if keys:
                break
        return cls(token=resolved_token, push_keys=keys)
