"""Outcomes joined to recipients within a window, replies matched by number, and comparisons on them."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smskit import experiments
from smskit.errors import DataValidationError
from smskit.experiments import ExperimentWarning

T0 = pd.Timestamp("2025-03-03 09:00", tz="UTC")
DAY = pd.Timedelta("1D")


def loop_outcomes(frame, events, *, on, time, value, window, until):
    """The per-recipient oracle: each event goes to the row of its id with the latest reference at or
    before it, and counts when it falls in [reference, reference + window)."""
    ref = pd.to_datetime(frame["sent_at"], utc=True)
    ref = ref.fillna(ref.min())
    converted = dict.fromkeys(frame.index, False)
    total = dict.fromkeys(frame.index, 0.0)
    first: dict = dict.fromkeys(frame.index, pd.NaT)
    for _, event in events.iterrows():
        t = pd.Timestamp(event[time])
        t = t.tz_localize("UTC") if t.tz is None else t
        rows = [i for i in frame.index if frame.at[i, on] == event[on] and ref[i] <= t]
        if not rows:
            continue
        row = max(rows, key=lambda i: ref[i])
        if t < ref[row] + window:
            converted[row] = True
            total[row] += 1.0 if value is None else float(event[value])
            first[row] = t if pd.isna(first[row]) else min(first[row], t)
    observed = ((until - ref) / window).clip(0, 1)
    return pd.DataFrame(
        {
            "converted": pd.Series(converted),
            "value": pd.Series(total),
            "converted_at": pd.Series(first, dtype="datetime64[ns, UTC]"),
            "outcome_observed": observed,
        }
    )


def test_events_count_inside_the_window_only():
    frame = pd.DataFrame(
        {
            "customer": ["a", "b", "c", "d"],
            "variant": ["holdout", "A", "A", "B"],
            "sent_at": [T0, T0 + pd.Timedelta("10s"), pd.NaT, T0 + pd.Timedelta("1h")],  # c: invalid, never sent
        },
        index=pd.Index([10, 11, 12, 13], name="row"),
    )
    events = pd.DataFrame(
        {
            "customer": ["a", "a", "a", "b", "b", "c", "d", "zz"],
            "at": [
                T0 - pd.Timedelta("1s"),  # before the window
                T0,  # at its start: counts
                T0 + 7 * DAY,  # at its end: does not
                T0 + pd.Timedelta("10s") + 2 * DAY,
                T0 + pd.Timedelta("10s") + 3 * DAY,
                T0 + DAY,  # c's window starts at the campaign start T0
                T0 + pd.Timedelta("30min"),  # before d's send
                T0 + DAY,  # not a recipient
            ],
            "amount": [5.0, 7.5, 9.0, 10.0, 2.5, 4.0, 100.0, 1.0],
        }
    )
    before = frame.copy()
    out = experiments.attach_outcomes(frame, events, on="customer", time="at", value="amount", until=T0 + 10 * DAY)
    pd.testing.assert_frame_equal(frame, before)
    assert out.index.equals(frame.index)
    assert out["converted"].tolist() == [True, True, True, False]
    assert out["value"].tolist() == [7.5, 12.5, 4.0, 0.0]
    assert out["converted_at"].tolist() == [T0, T0 + pd.Timedelta("10s") + 2 * DAY, T0 + DAY, pd.NaT]
    assert str(out["converted_at"].dt.tz) == "UTC"
    assert out["outcome_observed"].tolist() == [1.0, 1.0, 1.0, 1.0]
    counts = experiments.attach_outcomes(frame, events, on="customer", time="at")
    assert counts["value"].tolist() == [1.0, 2.0, 1.0, 0.0]  # no value column: events are counted
    # extracted 3.5 days after the start: half of each window seen (d's a little less)
    early = experiments.attach_outcomes(frame, events, on="customer", time="at", until=T0 + 3.5 * DAY)
    assert early["outcome_observed"].tolist() == pytest.approx([0.5, 0.5 - 10 / 604800, 0.5, 0.5 - 3600 / 604800])


@given(
    n_rows=st.integers(min_value=1, max_value=12),
    n_ids=st.integers(min_value=1, max_value=8),
    n_events=st.integers(min_value=0, max_value=40),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    window_h=st.sampled_from([1, 24, 72]),
)
@settings(max_examples=120, deadline=None)
def test_attach_outcomes_matches_a_per_recipient_loop(n_rows, n_ids, n_events, seed, window_h):
    rng = np.random.default_rng(seed)
    hours = rng.choice(200, n_rows, replace=False)  # distinct reference times
    sent_at = pd.Series(T0 + pd.to_timedelta(hours, unit="h"))
    sent_at[rng.random(n_rows) < 0.2] = pd.NaT
    frame = pd.DataFrame(
        {"id": rng.integers(0, n_ids, n_rows), "sent_at": sent_at},
        index=pd.Index(rng.choice(1000, n_rows, replace=False)),
    )
    if frame["sent_at"].isna().all():
        frame.iloc[0, 1] = T0
    events = pd.DataFrame(
        {
            "id": rng.integers(0, n_ids + 2, n_events),
            "t": (T0 + pd.to_timedelta(rng.integers(-20, 260, n_events), unit="h")).tz_localize(None),  # naive: UTC
            "v": rng.integers(0, 100, n_events).astype(float),
        }
    )
    window = pd.Timedelta(hours=window_h)
    until = T0 + pd.Timedelta(hours=150)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentWarning)  # events may miss every id by chance
        out = experiments.attach_outcomes(frame, events, on="id", time="t", value="v", window=window, until=until)
    ref = loop_outcomes(frame, events, on="id", time="t", value="v", window=window, until=until)
    pd.testing.assert_series_equal(out["converted"], ref["converted"], check_names=False)
    pd.testing.assert_series_equal(out["value"], ref["value"], check_names=False)
    pd.testing.assert_series_equal(out["converted_at"], ref["converted_at"], check_names=False, check_dtype=False)
    pd.testing.assert_series_equal(out["outcome_observed"], ref["outcome_observed"], check_names=False)


def test_id_can_be_the_index_and_mismatched_types_warn():
    frame = pd.DataFrame({"sent_at": [T0, T0]}, index=pd.Index([101, 102], name="customer_id"))
    events = pd.DataFrame({"customer_id": [102], "at": [T0 + DAY]})
    out = experiments.attach_outcomes(frame, events, on="customer_id", time="at")
    assert out["converted"].tolist() == [False, True]
    as_text = events.assign(customer_id=["102"])
    with pytest.warns(ExperimentWarning, match="same type"):
        experiments.attach_outcomes(frame, as_text, on="customer_id", time="at")


@pytest.mark.parametrize(
    ("events", "kwargs", "match"),
    [
        (pd.DataFrame({"id": [1], "at": [None]}), {}, "no 'at'"),
        (pd.DataFrame({"id": [1], "at": ["yesterday-ish"]}), {}, "not a time"),
        (pd.DataFrame({"id": [1], "at": [T0], "v": ["ten"]}), {"value": "v"}, "numeric 'v'"),
        (pd.DataFrame({"id": [1], "when": [T0]}), {}, "at"),
    ],
)
def test_bad_events_are_refused_naming_rows(events, kwargs, match):
    frame = pd.DataFrame({"id": [1], "sent_at": [T0]})
    with pytest.raises(DataValidationError, match=match):
        experiments.attach_outcomes(frame, events, on="id", time="at", **kwargs)


def test_bad_frames_and_windows_are_refused():
    events = pd.DataFrame({"id": [1], "at": [T0]})
    done = pd.DataFrame({"id": [1], "sent_at": [T0], "converted": [True]})
    with pytest.raises(DataValidationError, match="already has"):
        experiments.attach_outcomes(done, events, on="id", time="at")
    with pytest.raises(DataValidationError, match="no row has a 'sent_at'"):
        experiments.attach_outcomes(pd.DataFrame({"id": [1], "sent_at": [pd.NaT]}), events, on="id", time="at")
    with pytest.raises(ValueError, match="positive duration"):
        experiments.attach_outcomes(pd.DataFrame({"id": [1], "sent_at": [T0]}), events, on="id", time="at", window="0D")


# --- replies ---------------------------------------------------------------------------------------


def replies_frame(rows):
    frame = pd.DataFrame(rows, columns=["from", "create_time", "received_at", "unsubscribe"])
    frame.insert(0, "sms_msg_id", [f"r{i}" for i in range(len(frame))])
    frame.insert(2, "to", "10690001")
    frame.insert(3, "body", ["ok"] * len(frame))
    return frame


def test_replies_match_by_number_within_the_window():
    frame = pd.DataFrame(
        {
            "to": ["+8613800138000", "+8613900139000", "+8613700137000", "+33612345678"],
            "variant": ["A", "A", "holdout", "B"],
            "sent_at": [T0, T0, T0, T0 + pd.Timedelta("1min")],
        },
        index=["r1", "r2", "r3", "r4"],
    )
    replies = replies_frame(
        [
            ("8613800138000", T0 + pd.Timedelta("5min"), T0 + pd.Timedelta("6min"), False),  # no "+": still matched
            ("+8613800138000", None, T0 + DAY, True),  # no create_time: received_at is used
            ("008613900139000", T0 + 8 * DAY, T0 + 8 * DAY, True),  # after the window
            ("+33612345678", T0 + pd.Timedelta("30s"), T0 + pd.Timedelta("31s"), False),  # before its send
            ("+4915112345678", T0 + DAY, T0 + DAY, True),  # not a recipient
        ]
    )
    out = experiments.attach_replies(frame, replies, until=T0 + 9 * DAY)
    assert out["replied"].tolist() == [True, False, False, False]
    assert out["unsubscribed"].tolist() == [True, False, False, False]
    assert out["replied_at"].tolist() == [T0 + pd.Timedelta("5min"), pd.NaT, pd.NaT, pd.NaT]
    assert out["replies_observed"].tolist() == [1.0] * 4
    with pytest.raises(DataValidationError, match="unsubscribe"):
        experiments.attach_replies(frame, replies.drop(columns="unsubscribe"))


def test_a_reply_goes_to_the_latest_message_before_it():
    frame = pd.DataFrame({"to": ["+33612345678", "+33612345678"], "sent_at": [T0, T0 + 2 * DAY]}, index=["x", "y"])
    replies = replies_frame([("+33612345678", T0 + DAY, T0 + DAY, False), ("+33612345678", T0 + 3 * DAY, None, True)])
    out = experiments.attach_replies(frame, replies, until=T0 + 10 * DAY)
    assert out["replied"].tolist() == [True, True]
    assert out["unsubscribed"].tolist() == [False, True]


# --- comparing outcomes ---------------------------------------------------------------------------


def experiment(seed: int = 0, n: int = 3000) -> pd.DataFrame:
    """Assigned rows of a sent campaign: states, delivery, and orders-based outcomes."""
    rng = np.random.default_rng(seed)
    variant = rng.choice(["holdout", "A", "B"], n, p=[0.2, 0.4, 0.4])
    held = variant == "holdout"
    state = np.where(held, "held_out", rng.choice(["accepted", "invalid", "rejected"], n, p=[0.9, 0.05, 0.05]))
    delivered = (state == "accepted") & (rng.random(n) < 0.92)
    sent_at = pd.Series(T0 + pd.to_timedelta(rng.uniform(0, 600, n), unit="s")).where(state != "invalid")
    sent_at[held] = T0
    frame = pd.DataFrame({"customer_id": np.arange(n), "variant": variant, "state": state, "sent_at": sent_at})
    # as after results.join(funnel[["delivered"]]): rows never sent have no funnel row, so NaN
    frame = frame.join(pd.Series(delivered, name="delivered")[np.isin(state, ["accepted", "rejected"])])
    buys = rng.random(n) < 0.05 + 0.03 * delivered
    events = pd.DataFrame(
        {
            "customer_id": np.flatnonzero(buys),
            "at": T0 + pd.to_timedelta(rng.uniform(3600, 6 * 86400, buys.sum()), unit="s"),
            "amount": rng.gamma(2.0, 20.0, buys.sum()),
        }
    )
    return experiments.attach_outcomes(frame, events, on="customer_id", time="at", value="amount", until=T0 + 8 * DAY)


def test_every_assigned_row_counts_intention_to_treat():
    frame = experiment()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = experiments.compare_arms(frame, control="holdout", metric="converted").set_index("variant")
    counts = frame["variant"].value_counts()
    assert table["n"].to_dict() == counts.to_dict()  # invalid, rejected, undelivered and held out rows included
    for arm in ("A", "B"):
        rows = frame.loc[frame["variant"] == arm]
        held = frame.loc[frame["variant"] == "holdout"]
        itt = rows["converted"].mean() - held["converted"].mean()
        assert table.loc[arm, "diff"] == pytest.approx(itt)
        reached = rows["delivered"].fillna(False).astype(bool).mean()
        assert table.loc[arm, "cace"] == pytest.approx(itt / reached)  # the holdout was never delivered
    assert table.attrs == {"metric": "converted", "confidence": 0.95, "control_reached": 0.0}  # a holdout


def test_delivery_comparison_leaves_the_holdout_out():
    frame = experiment()
    table = experiments.compare_arms(frame, control="A")  # metric="delivered"
    assert table["variant"].tolist() == ["A", "B"]
    sent = frame.loc[frame["variant"] == "A"]
    assert table.loc[0, "sent"] == int((~sent["state"].isin(["invalid"])).sum())
    with pytest.raises(DataValidationError, match="'holdout' has no sent messages"):
        experiments.compare_arms(frame, control="holdout")


def test_peeking_and_unequal_windows_warn():
    frame = experiment().drop(columns="outcome_observed")
    early = frame.assign(outcome_observed=np.where(frame["variant"] == "B", 0.5, 1.0))
    with pytest.warns(ExperimentWarning) as caught:
        experiments.compare_arms(early, control="holdout", metric="value")
    messages = " | ".join(str(w.message) for w in caught)
    assert "still open" in messages
    assert "observed unequally" in messages
    assert "B: 50%" in messages


def test_small_arms_warn_for_rates_and_values():
    frame = experiment(n=400)
    with pytest.warns(ExperimentWarning, match="expected converted and not converted"):
        experiments.compare_arms(frame, control="holdout", metric="converted")
    with pytest.warns(ExperimentWarning, match="non-zero value"):
        experiments.compare_arms(frame, control="holdout", metric="value")


def test_missing_outcomes_and_delivery_are_reported():
    frame = experiment()
    gap = frame.assign(converted=frame["converted"].astype(object).where(frame.index != 5))
    with pytest.raises(DataValidationError, match="intention-to-treat") as info:
        experiments.compare_arms(gap, control="holdout", metric="converted")
    assert info.value.rows.index.tolist() == [5]
    with pytest.warns(ExperimentWarning, match="no 'delivered' column"):
        table = experiments.compare_arms(frame.drop(columns="delivered"), control="holdout", metric="converted")
    assert table["cace"].isna().all()
    with pytest.raises(ValueError, match="metric must be one of"):
        experiments.compare_arms(frame, control="holdout", metric="revenue")  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match="'replied'"):
        experiments.compare_arms(frame, control="holdout", metric="replied")
