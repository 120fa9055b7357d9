"""The client: sends through the platform's two send APIs with local checks and safe retries.

* :mod:`._http` — :class:`Client` (the HTTP edge)
* :mod:`.models` — :class:`SmsItem`, :class:`SendResult`
* :mod:`.checks` — local checks of numbers, params, extend and callback before any request
* :mod:`.retry` — whether an attempt may be repeated, and the backoff
"""

from smskit.client._http import Client
from smskit.client.models import RESULT_COLUMNS, SendResult, SmsItem

__all__ = ["RESULT_COLUMNS", "Client", "SendResult", "SmsItem"]
