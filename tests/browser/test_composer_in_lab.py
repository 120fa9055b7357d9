"""The composer and the dashboard in JupyterLab, driven by headless Chromium as a person would use them:
pick a template, watch the preview change, dry run, confirm, send to the emulator, see the results and the
dashboard fill up. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from smskit.templates import load_templates
from smskit.widgets import template_label

REPO = Path(__file__).resolve().parents[2]
TURKISH = "2321c5caf1fe8391a54c242bd71268e7"

SETUP = f"""
import tempfile
from pathlib import Path

import smskit
from smskit.widgets import Composer, Dashboard

DATA = Path({str(REPO / "data")!r})
WORK = Path(tempfile.mkdtemp(prefix="smskit-browser-"))
templates = smskit.load_templates(DATA / "templates.csv")
emu = smskit.Emulator(templates, seed=7, report_delay=1.0).start()
receiver = smskit.CallbackReceiver(WORK / "reports.sqlite").start()
recipients = smskit.read_recipients(DATA / "recipients.csv")
composer = Composer(
    recipients,
    client=emu.client(),
    templates=templates,
    default_region="GB",
    opt_out=DATA / "opt_out.csv",
    price_per_segment=0.05,
    currency="USD",
    status_callback=receiver.url,
)
composer
"""

DASHBOARD = """
dashboard = Dashboard(receiver, results=lambda: composer.results)
dashboard.start(interval=1)
dashboard
"""

TABLES = """
# run again once the composer has sent: the campaign's delivery rate by country, as the notebook shows it
funnel = smskit.delivery_funnel(composer.results, receiver.reports()) if composer.results is not None else None
smskit.analytics.delivery_rate(funnel, by="country") if funnel is not None else "not sent yet"
"""

KERNEL_IDLE = """() => {
    const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    return !!k && k.status === 'idle';
}"""


def _write_notebook(path):
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(code.strip()) for code in (SETUP, DASHBOARD, TABLES)]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, path)


def _wait_text(page, selector: str, text: str) -> None:
    page.wait_for_function(
        "([s, t]) => [...document.querySelectorAll(s)].some(e => e.innerText.includes(t))", arg=[selector, text]
    )


def _count(page, label: str) -> int:
    tile = page.locator(".smskit-counts > div", has=page.locator(f"div:text-is('{label}')")).first
    return int(tile.locator(".smskit-count").inner_text().replace(",", ""))


@pytest.mark.browser
@pytest.mark.slow
def test_compose_preview_dry_run_confirm_send_and_watch(jupyter_lab, page, artifacts):
    _write_notebook(jupyter_lab.root / "composer.ipynb")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(jupyter_lab.url("/lab/tree/composer.ipynb"))
    page.wait_for_function(KERNEL_IDLE, timeout=90_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")

    composer = page.locator(".widget-vbox", has=page.locator("text=SMS composer")).first
    composer.wait_for(timeout=90_000)
    preview = composer.locator(".smskit-preview")
    preview.wait_for()
    # a list starts on a list template (never a verification code): the first whose variables all map
    assert "Account 742307: your statement for Paul Fischer" in preview.inner_text()
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    composer.screenshot(path=artifacts / "01-composer.png")

    # pick a template: the mapping and the preview follow
    label = template_label(load_templates(REPO / "data" / "templates.csv")[TURKISH])
    composer.locator(".widget-dropdown", has=page.locator("label:text-is('Template')")).locator("select").select_option(
        label=label
    )
    _wait_text(page, ".smskit-preview", "Merhaba Paul Fischer")
    assert "UCS-2" in preview.inner_text()
    assert preview.locator("mark").count() >= 2  # ı and ç highlighted
    composer.locator(".widget-dropdown", has=page.locator("label:text-is('Preview for')")).locator(
        "select"
    ).select_option(index=2)
    _wait_text(page, ".smskit-preview", "Merhaba Hannah Ng")
    composer.screenshot(path=artifacts / "02-preview.png")

    # dry run: totals and the problems table, nothing sent
    review = composer.get_by_role("button", name=re.compile("Review and send"))
    assert review.is_disabled()
    composer.get_by_role("button", name="Dry run").click()
    dry = composer.locator(".smskit-dry-run")
    dry.wait_for()
    assert "Nothing was sent" in dry.inner_text()
    problems = composer.locator(".smskit-table").first
    assert "opted out" in problems.inner_text()
    assert "call me" in problems.inner_text()  # the recipients' own phone column is shown
    composer.screenshot(path=artifacts / "03-dry-run.png")

    # confirmation before anything leaves
    page.wait_for_function(
        "() => [...document.querySelectorAll('button')]"
        ".some(b => b.innerText.includes('Review and send') && !b.disabled)"
    )
    review.click()
    confirm = composer.locator(".smskit-confirm")
    confirm.wait_for()
    text = confirm.inner_text()
    assert "About to send" in text
    assert "Estimated cost" in text
    assert "USD" in text
    n = int(re.search(r"About to send ([\d,]+) messages", text).group(1).replace(",", ""))
    composer.screenshot(path=artifacts / "04-confirm.png")

    composer.get_by_role("button", name="Confirm and send").click()
    sent = composer.locator(".smskit-sent")
    sent.wait_for(timeout=60_000)
    assert f"{n:,} of {n:,} accepted" in sent.inner_text()
    assert "Results (first rows)" in composer.inner_text()
    composer.locator(".smskit-sent").scroll_into_view_if_needed()
    composer.screenshot(path=artifacts / "05-sent.png")

    # the same plan again: the review says what the ledger holds, and nothing can be sent twice
    composer.get_by_role("button", name="Dry run").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('button')]"
        ".some(b => b.innerText.includes('Review and send') && !b.disabled)"
    )
    review.click()
    _wait_text(page, ".smskit-confirm", "0 left to send")
    again = confirm.inner_text()
    assert f"0 left to send, {n:,} already sent" in again
    assert "About to send" not in again
    assert composer.get_by_role("button", name="Confirm and send").is_disabled()
    confirm.scroll_into_view_if_needed()
    composer.screenshot(path=artifacts / "05b-review-after-send.png")

    # the dashboard follows the reports as they arrive
    dashboard = page.locator(".widget-vbox", has=page.locator("text=Delivery dashboard")).first
    dashboard.wait_for()
    page.wait_for_function(
        """(n) => {
            const tiles = [...document.querySelectorAll('.smskit-counts > div')];
            const get = (name) => {
                const t = tiles.find(d => d.innerText.trim().endsWith(name));
                return t ? parseInt(t.querySelector('.smskit-count').innerText.replace(/,/g, ''), 10) : -1;
            };
            return get('accepted') === n && get('awaiting report') === 0 && get('delivered') > 0;
        }""",
        arg=n,
        timeout=60_000,
    )
    assert _count(page, "delivered") + _count(page, "failed") == n
    assert dashboard.locator("img").count() == 2
    rates = dashboard.locator(".smskit-rates")
    assert "95% interval" in rates.inner_text()
    assert re.search(r"\d+\.\d% – \d+\.\d%", rates.inner_text())
    dashboard.get_by_role("button", name="Stop").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.widget-vbox')].some(e => e.innerText.includes('Delivery dashboard')"
        " && e.innerText.includes('stopped'))"
    )
    dashboard.scroll_into_view_if_needed()
    dashboard.screenshot(path=artifacts / "06-dashboard.png")

    # a table in the notebook itself: rates as percentages, intervals as ranges, no raw floats
    cell = page.locator(".jp-Cell").nth(2)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    table = cell.locator(".jp-OutputArea-output table")
    table.wait_for(timeout=60_000)
    text = table.inner_text()
    assert "95% interval" in text
    assert re.search(r"\d+\.\d% – \d+\.\d%", text)
    assert not re.search(r"\d\.\d{5,}", text)
    cell.scroll_into_view_if_needed()
    cell.screenshot(path=artifacts / "07-rate-table.png")

    assert not [e for e in errors if "widget" in e.lower()], errors
    for name in (
        "01-composer",
        "02-preview",
        "03-dry-run",
        "04-confirm",
        "05-sent",
        "05b-review-after-send",
        "06-dashboard",
        "07-rate-table",
    ):
        assert (artifacts / f"{name}.png").stat().st_size > 10_000
