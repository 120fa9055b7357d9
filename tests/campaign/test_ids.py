"""id= (issue 12): the recipients' own id column is carried into the plan, its problems, the results and the
funnel, so every row can be found by the user's id."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from smskit.campaign.plan import plan_campaign
from smskit.campaign.send import CampaignWarning, send_campaign
from smskit.errors import DataValidationError
from smskit.reports.funnel import delivery_funnel

VERIFY = "bfccfa780ff5e8f11245b2dfbc82efae"


@pytest.fixture
def customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C4"],
            "phone": ["+6591000001", "not a number", "+6591000003", "+6591000004"],
            "code": ["111111", "222222", "333333", "444444"],
        },
        index=pd.Index([7, 8, 9, 10], name="line"),
    )


def test_plan_and_problems_carry_the_id(customers, data_dir) -> None:
    plan = plan_campaign(
        customers, template_id=VERIFY, params=["code"], templates=data_dir / "templates.csv", id="customer_id"
    )
    assert plan.recipients.columns[0] == "customer_id"
    assert plan.recipients["customer_id"].tolist() == ["C1", "C2", "C3", "C4"]
    assert plan.problems.loc[8, "customer_id"] == "C2"
    with pytest.raises(DataValidationError) as caught:
        plan.raise_if_invalid()
    assert caught.value.rows is not None
    assert caught.value.rows["customer_id"].tolist() == ["C2"]


def test_results_and_funnel_carry_the_id(customers, emulator, data_dir) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CampaignWarning)
        results = send_campaign(
            customers,
            client=emulator.client(),
            progress=False,
            template_id=VERIFY,
            params=["code"],
            templates=data_dir / "templates.csv",
            skip_invalid=True,
            id="customer_id",
        )
    assert results.columns[0] == "customer_id"
    assert results.index.equals(customers.index)
    assert results.set_index("customer_id")["state"].astype(str).to_dict() == {
        "C1": "accepted",
        "C2": "invalid",
        "C3": "accepted",
        "C4": "accepted",
    }
    sent_to = dict(zip(emulator.sent()["to"], emulator.sent()["sms_msg_id"], strict=True))
    assert results.loc[results["customer_id"] == "C3", "sms_msg_id"].item() == sent_to["+6591000003"]
    funnel = delivery_funnel(results, pd.DataFrame({"smsMsgId": [], "status": []}))
    assert funnel["customer_id"].tolist() == ["C1", "C2", "C3", "C4"]


@pytest.mark.parametrize(("column", "message"), [("nope", "no column"), ("state", "name of a column smskit adds")])
def test_a_bad_id_column_is_refused(customers, column, message) -> None:
    frame = customers.assign(state="x")
    with pytest.raises(DataValidationError, match=message):
        plan_campaign(frame, template_id=VERIFY, params=["code"], id=column)
