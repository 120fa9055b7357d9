"""A campaign run in a child process, so a test can SIGKILL it mid-send and re-run it with the same ledger.

Usage: python tests/campaign/_campaign_child.py BASE_URL APP_KEY LEDGER RECIPIENTS_CSV RESULTS_CSV [wait]
(secret on stdin). With ``wait`` the run waits for another run's lease. Writes the results frame to
RESULTS_CSV and prints ``STATES <json counts>`` when it finishes.
"""

from __future__ import annotations

import json
import sys
import warnings

import smskit
from smskit.campaign.send import CampaignWarning


def main() -> None:
    base_url, app_key, ledger, recipients_csv, results_csv = sys.argv[1:6]
    wait = sys.argv[6:7] == ["wait"]
    secret = sys.stdin.readline().strip()
    client = smskit.Client(base_url, app_key, secret, sender="isms-child", max_retries=0)
    recipients = smskit.read_recipients(recipients_csv)
    plan = smskit.plan_campaign(recipients, template_id="bfccfa780ff5e8f11245b2dfbc82efae", params=["code"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CampaignWarning)
        results = smskit.send_campaign(
            plan,
            client=client,
            ledger=ledger,
            rate=None,
            concurrency=2,
            progress=False,
            campaign_id="crash",
            wait_for_lease=wait,
        )
    results.to_csv(results_csv)
    counts = results["state"].value_counts()
    print("STATES " + json.dumps({str(k): int(v) for k, v in counts.items()}), flush=True)


if __name__ == "__main__":
    main()
