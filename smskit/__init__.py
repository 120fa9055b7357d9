"""smskit: run SMS campaigns through Huawei Cloud Message & SMS from pandas, and report on delivery.

>>> import smskit
>>> with smskit.Emulator() as emu:                         # doctest: +SKIP
...     emu.client(sender="isms0001").send("+6591234567", "tpl", ["1234"])

Public names are imported lazily, so ``import smskit`` stays fast and does not pull in
matplotlib, ipywidgets or the server stack until they are used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # errors
    "SmsKitError": "errors",
    "ConfigError": "errors",
    "DataValidationError": "errors",
    "LedgerError": "errors",
    "ConcurrentRunError": "errors",
    "ApiError": "errors",
    "AuthenticationError": "errors",
    "PermissionDeniedError": "errors",
    "QuotaError": "errors",
    "TemplateError": "errors",
    "RequestError": "errors",
    "TransportError": "errors",
    "ServerError": "errors",
    "ReportError": "errors",
    "BudgetError": "errors",
    "WarehouseError": "errors",
    # configuration and client
    "Settings": "config",
    "Client": "client",
    "SendResult": "client",
    "SmsItem": "client",
    # campaigns
    "read_recipients": "campaign.recipients",
    "load_templates": "templates.catalog",
    "plan_campaign": "campaign.plan",
    "CampaignPlan": "campaign.plan",
    "send_campaign": "campaign.send",
    "Ledger": "campaign.ledger",
    "ContactPolicy": "campaign.policy",
    # status reports
    "read_status_reports": "reports.ingest",
    "delivery_funnel": "reports.funnel",
    "CallbackReceiver": "reports.receiver",
    "read_replies": "reports.replies",
    # emulator
    "Emulator": "emulator",
    # warehouse
    "Warehouse": "warehouse",
}

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BudgetError",
    "CallbackReceiver",
    "CampaignPlan",
    "Client",
    "ConcurrentRunError",
    "ConfigError",
    "ContactPolicy",
    "DataValidationError",
    "Emulator",
    "Ledger",
    "LedgerError",
    "PermissionDeniedError",
    "QuotaError",
    "ReportError",
    "RequestError",
    "SendResult",
    "ServerError",
    "Settings",
    "SmsItem",
    "SmsKitError",
    "TemplateError",
    "TransportError",
    "Warehouse",
    "WarehouseError",
    "__version__",
    "delivery_funnel",
    "load_templates",
    "plan_campaign",
    "read_recipients",
    "read_replies",
    "read_status_reports",
    "send_campaign",
]

if TYPE_CHECKING:
    from .campaign.ledger import Ledger
    from .campaign.plan import CampaignPlan, plan_campaign
    from .campaign.policy import ContactPolicy
    from .campaign.recipients import read_recipients
    from .campaign.send import send_campaign
    from .client import Client, SendResult, SmsItem
    from .config import Settings
    from .emulator import Emulator
    from .errors import (
        ApiError,
        AuthenticationError,
        BudgetError,
        ConcurrentRunError,
        ConfigError,
        DataValidationError,
        LedgerError,
        PermissionDeniedError,
        QuotaError,
        ReportError,
        RequestError,
        ServerError,
        SmsKitError,
        TemplateError,
        TransportError,
        WarehouseError,
    )
    from .reports.funnel import delivery_funnel
    from .reports.ingest import read_status_reports
    from .reports.receiver import CallbackReceiver
    from .reports.replies import read_replies
    from .templates.catalog import load_templates
    from .warehouse import Warehouse


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'smskit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def _notebook_display() -> None:
    """In a Jupyter kernel: formatted tables and readable warnings (see :mod:`smskit.notebook`)."""
    import sys

    if "ipykernel" in sys.modules:
        from smskit import notebook

        notebook.register()


_notebook_display()
