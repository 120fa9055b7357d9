"""smskit.widgets: the pure helpers directly, the widgets through their Python API (values set, buttons
clicked with ``button.click()``), sending to the emulator over loopback and reports into a real receiver."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pandas as pd
import pytest

from smskit import templates as tpl
from smskit import widgets
from smskit.campaign.recipients import read_recipients
from smskit.client import Client
from smskit.reports.receiver import CallbackReceiver
from smskit.widgets import Composer, Dashboard

PNG = b"\x89PNG\r\n\x1a\n"
VERIFY = "bfccfa780ff5e8f11245b2dfbc82efae"  # ${NUM_6}
PARCEL = "e3faa0f3a12a900eb1028eceda8d44ac"  # ${TXT_20} ${DATE} ${TIME}
TURKISH = "2321c5caf1fe8391a54c242bd71268e7"  # ${TXT_20}, UCS-2 literal text


@pytest.fixture
def catalog(data_dir: Path) -> tpl.TemplateCatalog:
    return tpl.load_templates(data_dir / "templates.csv")


@pytest.fixture
def recipients(data_dir: Path) -> pd.DataFrame:
    return read_recipients(data_dir / "recipients.csv")


@pytest.fixture
def small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "phone": ["+6581441067", "+12125551088", "not a number", "+491705878800"],
            "name": ["Hannah", "<img src=x onerror=alert(1)>", "Nobody", "Jürgen"],
            "code": ["521038", "059033", "111111", "742307"],
        },
        index=pd.Index([10, 20, 30, 40], name="rid"),
    )


# ---------------------------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    ("variables", "columns", "expected"),
    [
        (["TXT_20", "DATE", "TIME"], ["phone", "name", "date", "time"], ["name", "date", "time"]),
        (["NUM_6"], ["phone", "name", "code"], ["code"]),
        (["1"], ["phone", "otp"], ["otp"]),
        (["MONEY", "DATETIME"], ["Amount", "Paid At", "datetime"], ["Amount", "datetime"]),
        (["TXT_20"], ["phone", "customer_name"], ["customer_name"]),  # a column containing the hint
        (["TXT_20", "TXT_20"], ["phone", "name"], ["name", "name"]),  # a repeated variable reuses its column
        (["TXT_20", "TXT_10"], ["name", "first_name"], ["name", "first_name"]),  # a column is used once
        (["DATE"], ["phone", "city"], [None]),
        ([], ["phone"], []),
    ],
)
def test_default_param_columns(variables, columns, expected):
    assert widgets.default_param_columns(variables, columns, exclude=["phone"]) == expected


def test_default_param_columns_never_proposes_the_phone_column():
    assert widgets.default_param_columns(["PHONE"], ["phone", "tail"], exclude=["phone"]) == ["tail"]
    assert widgets.default_param_columns(["PHONE"], ["phone"], exclude=["phone"]) == [None]


def test_highlight_ucs2_marks_only_non_gsm_characters_and_escapes():
    out = widgets.highlight_ucs2("é ç <b>&\n")
    assert out.count("<mark") == 1  # é is GSM-7, ç is not
    assert ">ç</mark>" in out
    assert "&lt;b&gt;&amp;<br>" in out
    assert "<b>" not in out


def test_preview_message_measures_gsm_and_ucs2(catalog):
    gsm = widgets.preview_message(catalog[VERIFY], ["123456"])
    assert gsm.text == "Your smskit verification code is 123456. It expires in 5 minutes."
    assert (gsm.encoding, gsm.segments, gsm.ucs2, gsm.problems) == ("GSM-7", 1, (), ())
    assert gsm.length == len(gsm.text)
    ucs2 = widgets.preview_message(catalog[TURKISH], ["Ayşe"])
    assert ucs2.encoding == "UCS-2"
    assert ucs2.ucs2 == ("ş", "ı", "ç")
    assert ucs2.segments == tpl.segments(ucs2.text) == 2
    bad = widgets.preview_message(catalog[VERIFY], ["12ab"])
    assert bad.problems
    assert "NUM_6" in bad.problems[0]


def test_preview_row_uses_the_mapped_columns_and_flags_unmapped_variables(catalog, small):
    p = widgets.preview_row(small, 3, catalog[PARCEL], ["name", "code", None])
    assert p.text.startswith("Hi Jürgen, your parcel will arrive on 742307 between ${TIME} and 18:00.")
    assert p.problems[0] == "variable 3 ${TIME}: choose a column"
    assert not any(q.startswith("variable 3 ${TIME}: must") for q in p.problems)
    with pytest.raises(ValueError, match="3 variable"):
        widgets.preview_row(small, 0, catalog[PARCEL], ["name"])


def test_preview_html_escapes_recipient_text(catalog, small):
    p = widgets.preview_row(small, 1, catalog[TURKISH], ["name"])
    out = widgets.preview_html(p)
    assert "<img" not in out
    assert "&lt;img src=x onerror=alert(1)&gt;" in out
    assert "UCS-2" in out
    assert "2 segments" in out
    assert "Characters that force UCS-2" in out
    assert "would not be sent" in out  # the name is longer than ${TXT_20} allows


def test_template_label_and_row_labels(catalog, small):
    label = widgets.template_label(catalog["913069432e57a27e9f4f82974fb87a53"], width=12)
    assert label == "verification (mainland) · 您的验证码为${1}，…"
    assert widgets.row_labels(small, to="phone", extra="name", limit=2) == [
        "1 · +6581441067 · Hannah",
        "2 · +12125551088 · <img src=x onerror=alert(1)>",
    ]


def test_send_summary_and_confirmation(catalog, small):
    from smskit.campaign.plan import plan_campaign

    plan = plan_campaign(small, template_id=VERIFY, params=["code"], templates=catalog, skip_invalid=True)
    s = widgets.send_summary(plan)
    assert s == {"recipients": 3, "already_sent": 0, "left_out": 1, "requests": 1, "segments": 3, "cost": None}
    assert widgets.send_summary(plan, price_per_segment=0.05)["cost"] == pytest.approx(0.15)
    plain = widgets.confirmation_html(s, template_id="<x>")
    assert "About to send 3 messages" in plain
    assert "Estimated cost" not in plain
    assert "&lt;x&gt;" in plain
    priced = widgets.confirmation_html({**s, "cost": 0.15}, currency="USD")
    assert "Estimated cost" in priced
    assert "0.15 USD" in priced


def test_frame_html_escapes_and_truncates():
    frame = pd.DataFrame({"name": ["<script>x</script>"] * 30})
    out = widgets.frame_html(frame, max_rows=5, caption="a & b")
    assert "<script>" not in out
    assert "&lt;script&gt;" in out
    assert out.count("<tr") == 6  # header + 5 rows
    assert "25 more rows" in out
    assert "a &amp; b" in out


def test_delivery_counts_for_a_funnel_and_for_reports():
    from smskit.reports.funnel import delivery_funnel
    from smskit.reports.ingest import read_status_reports

    t0 = pd.Timestamp("2025-01-01", tz="UTC")
    results = pd.DataFrame(
        {
            "to": ["+6591000001", "+6591000002", "+6591000003", "+6591000004", "+6591000005", "+6591000006"],
            "state": pd.Categorical(["accepted", "accepted", "accepted", "rejected", "invalid", "unknown"]),
            "sms_msg_id": ["m1", "m2", "m3", None, None, None],
            "status": ["000000", "000000", "000000", "E200028", None, None],
            "sent_at": t0,
        }
    )
    reports = read_status_reports(
        pd.DataFrame({"sms_msg_id": ["m1", "m2"], "status": ["DELIVRD", "UNDELIV"], "update_time": ["2025-01-01"] * 2})
    )
    counts = widgets.delivery_counts(delivery_funnel(results, reports))
    assert counts[["sent", "accepted", "delivered", "failed", "awaiting report", "rejected", "unknown"]].to_dict() == {
        "sent": 5,
        "accepted": 3,
        "delivered": 1,
        "failed": 1,
        "awaiting report": 1,
        "rejected": 1,
        "unknown": 1,
    }
    reports = read_status_reports(
        pd.DataFrame({"sms_msg_id": ["a", "a", "b", "c"], "status": ["ACCEPTD", "DELIVRD", "UNDELIV", "ACCEPTD"]})
    )
    assert widgets.delivery_counts(reports).to_dict() == {
        "reports": 4,
        "messages": 3,
        "delivered": 1,
        "failed": 1,
        "awaiting report": 1,
    }


def test_figure_png_draws_without_pyplot():
    import sys

    png = widgets.figure_png(lambda ax: ax.plot([0, 1], [1, 0]))
    assert png.startswith(PNG)
    if "matplotlib.pyplot" in sys.modules:
        assert not sys.modules["matplotlib.pyplot"].get_fignums()


# ---------------------------------------------------------------------------------------------- Composer


def _composer(recipients, emulator, catalog, **kwargs):
    return Composer(recipients, client=emulator.client(), templates=catalog, default_region="GB", **kwargs)


def test_composer_starts_with_guessed_mapping_and_a_preview(recipients, emulator, catalog):
    c = _composer(recipients, emulator, catalog, template_id=PARCEL)
    assert c.param_columns == ["name", None, None]  # data/recipients.csv has no date or time column
    assert c.row.options[0][0] == "1 · +491705878800 · Paul Fischer"
    assert "Hi Paul Fischer, your parcel" in c.preview.value
    assert c.review_button.disabled
    assert c._repr_mimebundle_()["application/vnd.jupyter.widget-view+json"]["model_id"] == c.widget.model_id


def test_composer_preview_follows_template_row_and_mapping(recipients, emulator, catalog):
    c = _composer(recipients, emulator, catalog)
    assert catalog[c.template.value].kind != "verification"  # a list does not start on a verification code
    c.template.value = VERIFY
    assert c.param_columns == ["code"]
    assert "code is 742307." in c.preview.value
    assert "GSM-7" in c.preview.value
    c.template.value = TURKISH
    assert c.param_columns == ["name"]
    assert "Merhaba Paul Fischer" in c.preview.value
    assert "UCS-2" in c.preview.value
    assert "<mark" in c.preview.value
    c.row.value = 2
    assert "Merhaba Hannah Ng" in c.preview.value
    c.mapping[0].value = "city"
    assert "Merhaba Singapore" in c.preview.value
    c.mapping[0].value = None
    assert "choose a column" in c.preview.value


def test_composer_dry_run_sends_nothing_and_lists_problems(recipients, emulator, catalog):
    c = _composer(recipients, emulator, catalog, opt_out=["+6581119761"])
    c.template.value = TURKISH
    c.dry_run_button.click()
    assert c.plan is not None
    n_ready = int((c.plan.recipients["state"] == "ready").sum())
    assert f"{n_ready:,} ready to send" in c.plan_summary.value
    assert "Nothing was sent" in c.plan_summary.value
    assert f"{len(c.plan.problems):,} row(s) will not be sent" in c.problems.value
    assert "opted out" in c.problems.value
    assert not c.review_button.disabled
    assert emulator.sent().empty
    # any change voids the dry run
    c.mapping[0].value = "city"
    assert c.plan is None
    assert c.review_button.disabled
    assert "run the dry run again" in c.plan_summary.value


def test_composer_dry_run_refuses_unmapped_variables(recipients, emulator, catalog):
    c = _composer(recipients, emulator, catalog, template_id=PARCEL)
    c.mapping[1].value = None
    c.dry_run_button.click()
    assert c.plan is None
    assert c.review_button.disabled
    assert "Choose a column for ${DATE}" in c.plan_summary.value


def test_composer_without_skip_invalid_blocks_sending(recipients, emulator, catalog):
    c = _composer(recipients, emulator, catalog, skip_invalid=False)
    c.dry_run_button.click()
    assert c.plan is not None
    assert len(c.plan.problems)
    assert c.review_button.disabled
    c.skip_invalid.value = True
    c.dry_run_button.click()
    assert not c.review_button.disabled


def test_composer_confirms_then_sends_once(recipients, emulator, catalog):
    c = _composer(recipients, emulator, catalog, price_per_segment=0.04, currency="EUR")
    c.template.value = TURKISH
    c.send()  # no plan, no confirmation: refused
    assert "Review and confirm" in c.status.value
    assert emulator.sent().empty
    c.dry_run_button.click()
    c.send()  # planned but not confirmed: refused
    assert emulator.sent().empty
    c.review_button.click()
    s = widgets.send_summary(c.plan, price_per_segment=0.04)
    assert c.confirm_box.layout.display == "flex"
    assert f"About to send {s['recipients']:,} messages" in c.confirmation.value
    assert f"{s['cost']:,.2f} EUR" in c.confirmation.value
    c.cancel_button.click()
    assert c.confirm_box.layout.display == "none"
    assert "nothing was sent" in c.status.value
    c.review_button.click()
    c.confirm_button.click()
    results = c.results
    assert results is not None
    assert results.index.equals(recipients.index)
    assert int((results["state"] == "accepted").sum()) == s["recipients"] == len(emulator.sent())
    assert set(emulator.sent()["template_id"]) == {TURKISH}
    assert c.progress.value == c.progress.max == s["recipients"]
    assert c.progress.bar_style == "success"
    assert f"{s['recipients']:,} of {s['recipients']:,} accepted" in c.status.value
    assert "Results (first rows)" in c.results_view.value
    # the sent plan is spent: confirming again sends nothing more
    c.confirm_button.click()
    assert len(emulator.sent()) == s["recipients"]
    assert c.review_button.disabled


def test_composer_reports_a_failed_send(recipients, emulator, catalog):
    bad_client = Client(emulator.base_url, emulator.app_key, "wrong-secret-wrong-secret", sender=emulator.sender)
    c = Composer(recipients.head(5), client=bad_client, templates=catalog, default_region="GB")
    c.dry_run_button.click()
    c.review_button.click()
    c.confirm_button.click()
    assert emulator.sent().empty
    assert c.progress.bar_style in {"warning", "danger"}
    assert "0 of 5 accepted" in c.status.value or "Error" in c.status.value


def test_composer_escapes_recipient_text_everywhere(small, emulator, catalog):
    c = Composer(small, client=emulator.client(), templates=catalog, template_id=TURKISH)
    c.row.value = 1
    c.dry_run_button.click()
    for value in (c.preview.value, c.problems.value, c.widget.children[0].value):
        assert "<img" not in value
    assert "&lt;img" in c.preview.value
    assert "&lt;img" in c.problems.value


def test_composer_rejects_empty_input(emulator, catalog):
    from smskit.errors import SmsKitError

    with pytest.raises(SmsKitError, match="non-empty recipients"):
        Composer(pd.DataFrame(), client=emulator.client(), templates=catalog)


# ---------------------------------------------------------------------------------------------- Dashboard


def test_dashboard_over_a_reports_frame():
    from smskit.reports.ingest import read_status_reports

    reports = read_status_reports(
        pd.DataFrame(
            {
                "sms_msg_id": ["m1", "m2", "m3"],
                "status": ["DELIVRD", "DELIVRD", "E200027"],
                "to": ["+6581441067", "+6581441068", "+491705878800"],
                "update_time": ["2025-01-01T10:00:00Z", "2025-01-01T10:01:00Z", "2025-01-01T10:02:00Z"],
            }
        )
    )
    d = Dashboard(reports)
    assert d.refreshes == 1
    assert widgets.delivery_counts(reports).to_dict() == {
        "reports": 3,
        "messages": 3,
        "delivered": 2,
        "failed": 1,
        "awaiting report": 0,
    }
    assert '<div class="smskit-count" style="font-size:20px;font-weight:600">2</div>' in d.counts.value
    assert all(bytes(img.value).startswith(PNG) for img in d.figures)


def test_dashboard_with_no_reports_yet_shows_zero_and_hides_figures(tmp_path):
    with CallbackReceiver(tmp_path / "r.sqlite") as rx:
        d = Dashboard(rx)
    assert "0 status report(s) so far" in d.caption.value
    assert all(img.layout.display == "none" for img in d.figures)


def _wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_dashboard_follows_a_campaign_live(recipients, emulator, catalog, tmp_path):
    emulator.report_delay = 0.3
    with CallbackReceiver(tmp_path / "reports.sqlite") as rx:
        c = _composer(recipients.head(40), emulator, catalog, status_callback=rx.url)
        d = Dashboard(rx, results=lambda: c.results)
        assert d.frame is not None
        assert d.frame.empty
        d.start(interval=0.1)
        assert d.running
        assert not d.stop_button.disabled
        c.dry_run_button.click()
        c.review_button.click()
        c.confirm_button.click()
        sent = int((c.results["state"] == "accepted").sum())
        assert emulator.wait_for_reports(timeout=10)
        assert _wait(
            lambda: d.frame is not None and "state" in d.frame and d.frame["reported_at"].notna().sum() == sent
        ), (d.state.value, None if d.frame is None else d.frame.head())
        counts = widgets.delivery_counts(d.frame)
        assert counts["accepted"] == sent
        assert counts["delivered"] + counts["failed"] == sent
        n_sent = int(c.results["state"].isin(["accepted", "rejected", "unknown"]).sum())
        assert f"Campaign: {n_sent:,} recipients sent" in d.caption.value
        assert "95% interval" in d.rates.value  # the rate table, formatted
        assert re.search(r"<td>\d+\.\d% – \d+\.\d%</td>", d.rates.value)
        assert not re.search(r"\d\.\d{5,}", d.rates.value)
        assert all(bytes(img.value).startswith(PNG) for img in d.figures)
        d.stop_button.click()
        assert not d.running
        assert d.stop_button.disabled
        before = d.refreshes  # stop() waited for any refresh in progress
        time.sleep(0.3)
        assert d.refreshes == before
        d.refresh_button.click()
        assert d.refreshes == before + 1


def test_dashboard_start_rejects_bad_interval():
    d = Dashboard(pd.DataFrame({"sms_msg_id": [], "delivered": []}))
    with pytest.raises(ValueError, match="interval"):
        d.start(interval=0)


def test_problem_rows_shows_the_recipients_own_columns(catalog, small):
    from smskit.campaign.plan import plan_campaign

    plan = plan_campaign(small, template_id=VERIFY, params=["code"], templates=catalog, skip_invalid=True)
    rows = widgets.problem_rows(plan.problems, small, columns=["phone", "code", "phone", "missing"])
    assert rows.index.tolist() == [30]
    assert rows.columns.tolist() == ["phone", "code", "state", "problem"]
    assert rows.loc[30, "phone"] == "not a number"
    assert rows.loc[30, "state"] == "invalid"


@pytest.mark.parametrize(
    ("seconds", "expected"), [(0, "1s"), (29, "1s"), (31, "5s"), (600, "30s"), (3 * 3600, "15min"), (1e7, "1D")]
)
def test_time_bin_covers_the_span_in_about_30_bins(seconds, expected):
    start = pd.Timestamp("2025-01-01", tz="UTC")
    times = pd.Series([start, start + pd.Timedelta(seconds=seconds), pd.NaT])
    assert widgets.time_bin(times) == expected


# ---------------------------------------------------------------------------------------------- issue 12


ACCOUNT = "1084df3291afc97c2ee0c0af7c157be7"  # notification: Account ${NUM_6}: your statement for ${TXT_20} …


def test_default_template_is_never_a_verification_code_for_a_list(catalog):
    columns = ["phone", "name", "code", "city", "tier"]
    # the first notification (parcel) needs a date and a time this list lacks: the first one that maps wins
    assert widgets.default_template(catalog, columns, exclude=["phone"]) == ACCOUNT
    assert widgets.default_template(catalog, ["phone"], exclude=["phone"]) == PARCEL  # none maps: the first
    only_codes = {VERIFY: catalog[VERIFY]}
    assert widgets.default_template(only_codes, columns) is None


def test_composer_starts_on_a_list_template_or_none(recipients, emulator, catalog):
    c = _composer(recipients, emulator, catalog)
    assert c.template.value == ACCOUNT
    assert "Account 742307: your statement for Paul Fischer" in c.preview.value
    none = Composer(recipients, client=emulator.client(), templates={VERIFY: catalog[VERIFY]})
    assert none.template.value is None
    assert "Pick a template" in none.template_text.value
    none.dry_run_button.click()
    assert none.plan is None
    assert "Pick a template first" in none.plan_summary.value
    none.template.value = VERIFY
    assert "code is 742307." in none.preview.value


@pytest.mark.parametrize("with_ledger", [False, True])
def test_after_sending_the_review_reflects_the_ledger(recipients, emulator, catalog, tmp_path, with_ledger):
    """After Confirm and send, a new dry run and review say '0 left to send, N already sent', never
    'About to send N … nothing has been sent yet', and confirming sends nothing more."""
    options = {"ledger": tmp_path / "ledger.sqlite"} if with_ledger else {}
    c = _composer(recipients, emulator, catalog, **options)
    c.template.value = TURKISH
    c.dry_run_button.click()
    first = c.review()
    assert first is not None
    assert first["already_sent"] == 0
    c.confirm_button.click()
    n = len(emulator.sent())
    assert n == first["recipients"] > 0
    c.dry_run_button.click()
    again = c.review()
    assert again == {**first, "recipients": 0, "already_sent": n, "requests": 0, "segments": 0}
    text = c.confirmation.value
    assert f"0 left to send, {n:,} already sent" in text
    assert "About to send" not in text
    assert "Nothing has been sent yet" not in text
    assert c.confirm_button.disabled
    c.send()
    assert len(emulator.sent()) == n
    assert "Nothing left to send" in c.status.value


def test_dashboard_counts_held_out_rows_as_a_stage_of_their_own():
    """An experiment's holdout is never sent: the Dashboard shows it as "held out", outside the sent count."""
    from tests.summary._experiment import experiment_campaign

    results, reports, _ = experiment_campaign()
    d = Dashboard(reports, results=results)
    counts = widgets.delivery_counts(d.frame)
    assert counts["held out"] == int((results["state"] == "held_out").sum()) == 100
    assert counts["sent"] == 500
    assert counts["rows"] == counts["held out"] + counts["sent"]
    tile = '<div class="smskit-count" style="font-size:20px;font-weight:600">100</div>'
    assert tile + '<div style="font-size:12px;color:#555">held out</div>' in d.counts.value
    assert ">invalid</div>" not in d.counts.value  # states no row has are left out
    assert "Campaign: 500 recipients sent" in d.caption.value
