"""Frame contracts: the columns and dtypes of the frames smskit hands from stage to stage, declared once.

==============  =====================================  ===========================================
contract        produced by                            index
==============  =====================================  ===========================================
``RESULTS``     ``send_campaign``, ``read_results``    the recipients' index
``REPORTS``     ``read_status_reports``, receivers     a DataFrame source's own index, else 0…n-1
``FINAL_STATE`` ``reports.funnel.final_state``         ``sms_msg_id``
``FUNNEL``      ``delivery_funnel``                    the results' index
``REPLIES``     ``read_replies``, ``replies_frame``    a DataFrame source's own index, else 0…n-1
==============  =====================================  ===========================================

Producers build their frames from these declarations where they can (``final_state`` casts with
``FINAL_STATE.dtypes``; ``REPORT_COLUMNS``/``REPORT_DTYPES`` are ``REPORTS``'), and the tests check every
producer with :func:`check_frame`. Frames may carry extra columns (a user's id, a variant); the declared
ones must be there with their dtype. Text columns are pandas strings (``str`` or ``string``); times are
timezone-aware UTC (any resolution).

This module imports nothing heavy: :mod:`smskit.reports.wire` uses it and stays pandas-free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FINAL_STATE",
    "FUNNEL",
    "FUNNEL_ADDED",
    "REPLIES",
    "REPORTS",
    "RESULTS",
    "FrameContract",
    "check_frame",
]

UTC = "datetime64[ns, UTC]"


@dataclass(frozen=True)
class FrameContract:
    """The declared columns (in order) of one kind of frame, each with its dtype."""

    name: str
    dtypes: Mapping[str, str]
    index: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.dtypes)

    def problems(self, frame: pd.DataFrame) -> list[str]:
        """What in ``frame`` breaks the contract (missing columns, wrong dtypes, index name); empty when none."""
        out = [f"missing column {c!r}" for c in self.columns if c not in frame.columns]
        for column, spec in self.dtypes.items():
            if column in frame.columns and not _dtype_matches(frame[column].dtype, spec):
                out.append(f"column {column!r} is {frame[column].dtype}, not {spec}")
        if self.index is not None and frame.index.name != self.index:
            out.append(f"the index is named {frame.index.name!r}, not {self.index!r}")
        return out


def check_frame(frame: pd.DataFrame, contract: FrameContract) -> pd.DataFrame:
    """Return ``frame`` unchanged when it meets ``contract``; raise ``DataValidationError`` naming every breach.

    Usage: ``check_frame(results, RESULTS)``.
    """
    from smskit.errors import DataValidationError

    problems = contract.problems(frame)
    if problems:
        raise DataValidationError(
            f"not a {contract.name} frame: " + "; ".join(problems),
            advice=f"pass the frame smskit produces for {contract.name} (see smskit.frames)",
        )
    return frame


def _dtype_matches(dtype: Any, spec: str) -> bool:
    import pandas as pd

    if spec == "str":
        return isinstance(dtype, pd.StringDtype)
    if spec == UTC:
        return isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC"
    return bool(dtype == spec)


def _contract(name: str, dtypes: dict[str, str], index: str | None = None) -> FrameContract:
    return FrameContract(name, MappingProxyType(dtypes), index)


#: ``send_campaign``'s results: one row per input row (states: ``smskit.campaign.states.RESULT_STATES``).
RESULTS = _contract(
    "results",
    {
        "to": "str",
        "template_id": "str",
        "state": "category",
        "sms_msg_id": "str",
        "status": "str",
        "error": "str",
        "sent_at": UTC,
        "extend": "str",
        "request_no": "Int64",
    },
)

#: Status reports: one row per report (per segment of a long message).
REPORTS = _contract(
    "reports",
    {
        "sms_msg_id": "str",
        "status": "category",
        "status_desc": "str",
        "delivered": "bool",
        "category": "category",
        "org_code": "str",
        "source": "str",
        "update_time": UTC,
        "total": "int64",
        "sequence": "int64",
        "extend": "str",
        "to": "str",
    },
)

#: The final state of each reported message.
FINAL_STATE = _contract(
    "final state",
    {
        "final_status": "category",
        "delivered": "bool",
        "final": "bool",
        "category": "category",
        "reported_at": UTC,
        "total": "int64",
        "segments_delivered": "int64",
        "to": "str",
        "extend": "str",
    },
    index="sms_msg_id",
)

#: The columns ``delivery_funnel`` adds to the results.
FUNNEL_ADDED: Mapping[str, str] = MappingProxyType(
    {
        "final_status": "category",
        "delivered": "bool",
        "category": "category",
        "reported_at": UTC,
        "latency_s": "float64",
    }
)

#: ``delivery_funnel``: the results' columns, then :data:`FUNNEL_ADDED`.
FUNNEL = _contract("funnel", {**RESULTS.dtypes, **FUNNEL_ADDED})

#: Uplink (reply) SMS: one row per reply; ``unsubscribe`` is derived from ``body``.
REPLIES = _contract(
    "replies",
    {
        "sms_msg_id": "str",
        "from": "str",
        "to": "str",
        "body": "str",
        "create_time": UTC,
        "received_at": UTC,
        "unsubscribe": "bool",
    },
)
