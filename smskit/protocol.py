"""The platform's wire protocol as constants: API paths, content types, result codes, documented limits,
and time formats. The client, the emulator, the receiver and the planner all take them from here.
"""

from __future__ import annotations

__all__ = [
    "API_BY_PATH",
    "BATCH_PATH",
    "DIFF",
    "FORM",
    "JSON",
    "JSON_UTF8",
    "MAX_CALLBACK_LEN",
    "MAX_EXTEND_LEN",
    "MAX_ITEMS",
    "MAX_NUMBERS",
    "MAX_NUMBER_LEN",
    "MAX_REPORTS_PER_PUSH",
    "MAX_TEMPLATE_ID_LEN",
    "MAX_VARIABLES",
    "PARTIAL",
    "SEND_PATH",
    "SINGLE",
    "SUCCESS",
    "UPDATE_TIME_FORMAT",
]

SINGLE = "batchSendSms"  # one template, many numbers
DIFF = "batchSendDiffSms"  # several templates / parameter sets
SEND_PATH = "/sms/batchSendSms/v1"
BATCH_PATH = "/sms/batchSendDiffSms/v1"
API_BY_PATH = {SEND_PATH: SINGLE, BATCH_PATH: DIFF}

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
JSON_UTF8 = "application/json;charset=UTF-8"

SUCCESS = "000000"  # request (and per-number status) code: every number accepted
PARTIAL = "E000510"  # request code: some or all numbers failed; read each result's status

MAX_NUMBERS = 500  # numbers per batchSendSms call and per batchSendDiffSms item
MAX_ITEMS = 100  # batchSendDiffSms items per call (the real maximum is undocumented)
MAX_NUMBER_LEN = 21
MAX_TEMPLATE_ID_LEN = 32
MAX_CALLBACK_LEN = 1024
MAX_EXTEND_LEN = 128
MAX_VARIABLES = 20
#: The platform documents at most 50 reports per batch push (receivers accept more, bounded by body size).
MAX_REPORTS_PER_PUSH = 50

#: Status-report ``updateTime`` and send-response ``createTime``: UTC ``yyyy-MM-ddTHH:mm:ssZ``.
UPDATE_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
