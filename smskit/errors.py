"""The exception tree every smskit failure belongs to.

::

    SmsKitError                      base; .advice says what to do
    ├── ConfigError                  missing/invalid settings (no request was made)
    │   └── BudgetError              the campaign is over the contact policy's budget (nothing sent)
    ├── DataValidationError          bad input rows; .rows is a DataFrame of them with a `problem` column
    ├── LedgerError                  a ledger that cannot be used (corrupted, newer schema, busy)
    │   └── ConcurrentRunError       another run of the same campaign holds its lease
    ├── ApiError                     the platform answered with an error code
    │   ├── AuthenticationError      E000001–E000112 signing / key / clock problems
    │   ├── PermissionDeniedError    E000106, E000620 (IP whitelist), E000628
    │   ├── QuotaError               E000623, E000629, E200015 (quota, package, too many pending)
    │   ├── TemplateError            E200028–E200033 template / variable checks
    │   └── RequestError             E000000, E000027, E000040, E000503 and other malformed requests
    ├── TransportError               no usable HTTP answer; .may_have_reached says if it could have been sent
    │   └── ServerError              HTTP 429/5xx that carried no documented error code
    ├── ReportError                  a status-report body that cannot be parsed
    └── WarehouseError               a warehouse that cannot be opened, read or written (version, engine, path)

    SmsKitWarning (UserWarning)      something the user should know, e.g. a campaign left rows unsent

``ApiError`` carries ``code``, ``description``, ``http_status`` and the catalog's ``advice``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BudgetError",
    "ConcurrentRunError",
    "ConfigError",
    "DataValidationError",
    "LedgerError",
    "PermissionDeniedError",
    "QuotaError",
    "ReportError",
    "RequestError",
    "ServerError",
    "SmsKitError",
    "SmsKitWarning",
    "TemplateError",
    "TransportError",
    "WarehouseError",
]


class SmsKitError(Exception):
    """Base of every smskit error; ``advice`` says what to do about it."""

    def __init__(self, message: str, *, advice: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.advice = advice

    def __str__(self) -> str:
        return f"{self.message} ({self.advice})" if self.advice else self.message


class ConfigError(SmsKitError):
    """A required setting is missing or invalid; nothing was sent."""


class BudgetError(ConfigError):
    """The campaign would exceed the contact policy's ``max_segments`` or ``max_cost``; nothing was sent."""


class DataValidationError(SmsKitError):
    """Input rows failed validation; ``rows`` holds them with a ``problem`` column."""

    def __init__(self, message: str, *, rows: pd.DataFrame | None = None, advice: str = "") -> None:
        super().__init__(message, advice=advice)
        self.rows = rows

    def _repr_html_(self) -> str:
        import html

        table = self.rows.head(20).to_html(escape=True) if self.rows is not None else ""
        return f"<b>{html.escape(self.message)}</b><p>{html.escape(self.advice)}</p>{table}"


class LedgerError(SmsKitError):
    """The ledger cannot be used for this campaign; nothing was sent."""


class ConcurrentRunError(LedgerError):
    """Another run of the same campaign holds the ledger's lease; this run sent nothing."""


class ApiError(SmsKitError):
    """The platform answered with an error ``code``."""

    def __init__(
        self,
        code: str,
        description: str = "",
        *,
        http_status: int | None = None,
        advice: str = "",
        response: Any = None,
    ) -> None:
        self.code = code
        self.description = description
        self.http_status = http_status
        self.response = response
        status = f"HTTP {http_status}, " if http_status is not None else ""
        super().__init__(f"{code}: {description or 'no description'} ({status}code {code})", advice=advice)


class AuthenticationError(ApiError):
    """The request's signature, key or clock was refused."""


class PermissionDeniedError(ApiError):
    """The application may not call this API from here (permissions, IP whitelist, country)."""


class QuotaError(ApiError):
    """A quota, package or pending-message limit was reached; retrying now will not help."""


class TemplateError(ApiError):
    """The template or its variables were refused."""


class RequestError(ApiError):
    """The request was malformed (parameters, content type, format)."""


class TransportError(SmsKitError):
    """No usable HTTP answer; ``may_have_reached`` tells whether the request could have been processed."""

    def __init__(self, message: str, *, may_have_reached: bool, advice: str = "") -> None:
        super().__init__(message, advice=advice)
        self.may_have_reached = may_have_reached


class ServerError(TransportError):
    """HTTP 429 or 5xx with no documented error code in the body.

    429 and 503 mean the request was refused before processing (``may_have_reached=False``); any
    other 5xx may come from a gateway after the platform processed it (``may_have_reached=True``).
    See :mod:`smskit.client.retry`.
    """

    def __init__(self, http_status: int, body: str = "", *, may_have_reached: bool = False, advice: str = "") -> None:
        default = (
            "the outcome is unknown: a gateway may have answered after the platform processed the request; "
            "do not re-send blindly, status reports (extend + to) settle it"
            if may_have_reached
            else "nothing was sent; retry later with backoff"
        )
        super().__init__(
            f"HTTP {http_status} from the SMS platform: {body[:200]!r}",
            may_have_reached=may_have_reached,
            advice=advice or default,
        )
        self.http_status = http_status


class ReportError(SmsKitError):
    """A status-report body could not be parsed."""


class WarehouseError(SmsKitError):
    """A warehouse could not be opened, read or written (a newer schema version, a missing engine, a bad path)."""


class SmsKitWarning(UserWarning):
    """Base of smskit's warnings: the work went on, but a person should look."""
