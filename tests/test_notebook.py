"""smskit.notebook against a real IPython shell: marked tables are formatted, every other frame is left to
pandas, and unregister restores what was there."""

from __future__ import annotations

import pandas as pd
import pytest

from smskit import analytics, notebook
from tests.test_analytics import synthetic_funnel


@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    yield shell
    notebook.unregister(shell)
    InteractiveShell.clear_instance()


def _html(shell, obj) -> str:
    data, _ = shell.display_formatter.format(obj)
    return data.get("text/html", "")


def test_register_formats_marked_tables_only(shell):
    table = analytics.delivery_rate(synthetic_funnel(300, seed=4), by="template_id")
    plain = pd.DataFrame({"rate": [0.942857]})
    before = _html(shell, plain)
    assert notebook.register(shell)
    assert notebook.register(shell)  # twice is harmless
    shown = _html(shell, table)
    assert "%" in shown
    assert "95% interval" in shown
    assert _html(shell, plain) == before  # other frames: pandas' own HTML
    notebook.unregister(shell)
    assert "95% interval" not in _html(shell, table)


def test_register_outside_a_kernel_changes_nothing():
    import warnings

    hook = warnings.showwarning
    assert notebook.register() is False
    assert warnings.showwarning is hook


def test_warning_html_is_a_note_with_escaped_text():
    from smskit.campaign.send import CampaignWarning

    note = notebook.warning_html("3 <unsent>", CampaignWarning)
    assert "Note (CampaignWarning):" in note
    assert "3 &lt;unsent&gt;" in note
