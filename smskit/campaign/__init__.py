"""Campaigns from DataFrames: read recipients, plan, pace, send once, record in the ledger.

* :mod:`.recipients` — :func:`~.recipients.read_recipients` (every column ``str``)
* :mod:`.plan` — :func:`~.plan.plan_campaign`: validation, dedupe and grouping into API calls (pure)
* :mod:`.policy` — :class:`~.policy.ContactPolicy` and its vectorized checks (hours, limits, caps, suppression)
* :mod:`.pacing` — the token bucket that paces sending
* :mod:`.ledger` — the SQLite ledger: claims, outcomes, resume
* :mod:`.send` — :func:`~.send.send_campaign`
* :mod:`.states` — every row-state vocabulary of the pipeline
"""

from smskit.campaign.ledger import Ledger
from smskit.campaign.plan import CampaignPlan, plan_campaign
from smskit.campaign.recipients import read_recipients
from smskit.campaign.send import CampaignWarning, send_campaign

__all__ = ["CampaignPlan", "CampaignWarning", "Ledger", "plan_campaign", "read_recipients", "send_campaign"]
