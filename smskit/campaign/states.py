"""Every row-state vocabulary of the pipeline, defined once.

Three vocabularies, each a tuple (order = categorical order) with a one-line meaning per state:

* :data:`PLAN_STATES` — ``CampaignPlan.recipients["state"]``: what the plan decided for a row;
* :data:`RESULT_STATES` — ``send_campaign(...)["state"]``: what happened to a row (a row the plan left
  out keeps its plan state);
* :data:`REQUEST_STATES` — the ledger's ``requests.state``: where one API call stands.

Derived groups: :data:`SENT_STATES` (a request was made for the row; the funnel's rows and every
rate's denominator), :data:`NOT_SENT_STATES` (every other result state), :data:`LEFT_OUT_STATES`
(plan states other than ``ready``), :data:`POLICY_STATES` (what a contact rule can decide),
:data:`SETTLED_STATES` (in a campaign's history, they stop a re-run from sending a recipient again)
and :data:`OPEN_STATES` (a person or a re-run must still settle them). Producers build their
categoricals from :data:`PLAN_DTYPE` / :data:`RESULT_DTYPE`.
"""

from __future__ import annotations

import pandas as pd

__all__ = [
    "LEFT_OUT_STATES",
    "NOT_SENT_STATES",
    "OPEN_STATES",
    "PLAN_DTYPE",
    "PLAN_MEANINGS",
    "PLAN_STATES",
    "POLICY_STATES",
    "REQUEST_MEANINGS",
    "REQUEST_STATES",
    "RESULT_DTYPE",
    "RESULT_MEANINGS",
    "RESULT_STATES",
    "SENT_STATES",
    "SETTLED_STATES",
    "STATE_MEANINGS",
]

#: What the plan decided for a row.
PLAN_MEANINGS: dict[str, str] = {
    "ready": "will be sent in this run",
    "invalid": "cannot be sent as written (bad number, template or params); `problem` says why",
    "suppressed": "deliberately not sent: opted out, a duplicate in this campaign, or a recent repeat",
    "deferred": "not sent now because of a time rule; `not_before` (UTC) says when it may go",
    "expired": "its sending window closed before it could go; never sent",
    "held_out": "kept back on purpose as an experiment's holdout (control without a message)",
}

#: What happened to a row in ``send_campaign`` (rows the plan left out keep their plan state).
RESULT_MEANINGS: dict[str, str] = {
    "accepted": "the platform took the number (sms_msg_id set)",
    "rejected": "the platform refused it (status holds the code, error the reason)",
    "unknown": "the call may have reached the platform but no usable answer came; never re-sent "
    "automatically, settled by status reports or resend_unknown=True",
    "unsent": "not sent in this run and certainly never processed; a re-run with the same ledger sends it",
    **{state: meaning for state, meaning in PLAN_MEANINGS.items() if state != "ready"},
}

#: Where one API call stands in the ledger.
REQUEST_MEANINGS: dict[str, str] = {
    "pending": "not sent yet, or refused with nothing sent: a run may claim and send it",
    "in_flight": "claimed by a run that is sending it now (or crashed while sending it)",
    "done": "answered; its rows hold each recipient's outcome",
    "unknown": "was in flight when its run stopped, or its answer was lost: it may have been sent",
}

PLAN_STATES: tuple[str, ...] = tuple(PLAN_MEANINGS)
RESULT_STATES: tuple[str, ...] = tuple(RESULT_MEANINGS)
REQUEST_STATES: tuple[str, ...] = tuple(REQUEST_MEANINGS)

#: Every state of every vocabulary with its meaning (for docs and displays).
STATE_MEANINGS: dict[str, str] = {**PLAN_MEANINGS, **RESULT_MEANINGS}

#: Result states of rows for which a request was made (the funnel's rows, every rate's denominator).
SENT_STATES: tuple[str, ...] = ("accepted", "rejected", "unknown")
#: Result states of rows that were never handed to the platform.
NOT_SENT_STATES: tuple[str, ...] = tuple(s for s in RESULT_STATES if s not in SENT_STATES)
#: Plan states a contact-policy rule can give a row (:mod:`smskit.campaign.policy`).
POLICY_STATES: tuple[str, ...] = ("ready", "deferred", "suppressed", "expired")
#: Plan states of rows the plan leaves out of this run.
LEFT_OUT_STATES: tuple[str, ...] = tuple(s for s in PLAN_STATES if s != "ready")
#: History states that stop a re-run from sending a recipient again, best first: it was accepted, it may
#: have been (``unknown``: re-sent only with ``resend_unknown=True``), or the platform answered for that
#: number with a refusal (``rejected`` in an answered request; a refused *request* sent nothing and its
#: rows are sent again).
SETTLED_STATES: tuple[str, ...] = ("accepted", "unknown", "rejected")
#: Result states that still need settling: a re-run sends ``unsent``, reports settle ``unknown``.
OPEN_STATES: tuple[str, ...] = ("unsent", "unknown")

PLAN_DTYPE = pd.CategoricalDtype(list(PLAN_STATES))
RESULT_DTYPE = pd.CategoricalDtype(list(RESULT_STATES))
