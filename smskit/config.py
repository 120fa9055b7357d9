"""Settings: explicit arguments win over the environment, which wins over a ``.env`` file.

The application secret lives in a field left out of ``repr`` and ``str``; nothing in smskit prints it.
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

__all__ = ["ENV_VARS", "Settings", "check_base_url", "is_loopback"]

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


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (the only hosts plain HTTP is allowed to)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
        file_values: Mapping[str, str | None] = {}
        if dotenv is not None and Path(dotenv).is_file():
            from dotenv import dotenv_values

            file_values = dotenv_values(dotenv)
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
