"""Every notebook in notebooks/ runs top to bottom on the emulator (no credentials), in a kernel of this venv,
and reads well once rendered to HTML with nbconvert: rates as percentages, intervals as ranges, warnings as a
note rather than a stderr block (issue 12)."""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
KERNEL = "smskit-test-venv"

# Text each notebook's outputs must contain: the step the notebook exists to show worked.
MARKERS = {
    "01-quickstart": [
        "DataValidationError - template parameters must be str",
        "E000510",
        "E200028: Template variable check failed",
        "no number was accepted",
    ],
    "02-campaign": [
        "unsent",
        "every ready row sent exactly once: True",
        "the third run changed nothing: True",
        "smskit-plan-summary",  # plan.summary shows as a table
        "Note (CampaignWarning)",  # the outage's warning, as a note
    ],
    "03-delivery-report": ["reports", "final_status", "image/png"],
    "04-ab-experiment": [
        "arm sizes match the plan",
        "held out",  # the funnel's not-sent stage
        "cace 95% interval",  # ITT and CACE side by side
        "Conversion: B lifts conversion by +",  # the verdict, computed from the table
        "among those reached",
        "Note (ExperimentWarning)",  # B against A: the CACE is unbounded, said as a note
        "SampleSize(control=",
        "image/png",
    ],
    "05-composer": ["'requests': 2", "awaiting report", "delivered", "0 left to send"],
}
# Notebooks whose tables include delivery rates (each must show at least one, formatted).
RATE_NOTEBOOKS = {"03-delivery-report", "04-ab-experiment"}
# A table is a rate table when one of its headers is one of these.
RATE_HEADERS = {"rate", "low", "high", "share", "of_sent", "of_rows", "mean", "diff", "difference", "p50"}
RAW_FLOAT = re.compile(r"\d\.\d{5,}")


def _notebook_names() -> list[str]:
    return sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))


def test_every_notebook_has_markers():
    assert _notebook_names() == sorted(MARKERS)


@pytest.mark.parametrize("name", _notebook_names())
def test_notebook_is_committed_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert sum(c.cell_type == "markdown" for c in nb.cells) >= 3  # they teach, not just run


@pytest.fixture(scope="session")
def venv_kernel(tmp_path_factory) -> str:
    """A kernelspec running this very interpreter, found before any user-level 'python3' spec."""
    from ipykernel.kernelspec import install

    prefix = tmp_path_factory.mktemp("kernels")
    install(kernel_name=KERNEL, prefix=str(prefix))
    spec = prefix / "share" / "jupyter" / "kernels" / KERNEL
    assert json.loads((spec / "kernel.json").read_text())["argv"][0] == sys.executable
    return str(prefix / "share" / "jupyter")


@pytest.mark.slow
@pytest.mark.parametrize("name", _notebook_names())
def test_notebook_runs_on_the_emulator(name, venv_kernel, monkeypatch, tmp_path):
    from nbclient import NotebookClient

    for var in ("SMSKIT_BASE_URL", "SMSKIT_APP_KEY", "SMSKIT_APP_SECRET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("JUPYTER_PATH", venv_kernel)
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebooks' temp files land in this test's folder
    before = {p.name for p in NOTEBOOKS.parent.iterdir()}

    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell("import sys; print(sys.executable)"))
    client = NotebookClient(
        nb, timeout=180, kernel_name=KERNEL, resources={"metadata": {"path": str(NOTEBOOKS)}}, allow_errors=False
    )
    client.execute()

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert outputs[0]["text"].strip() == sys.executable
    text = json.dumps([o for o in outputs if o.get("output_type") != "error"], ensure_ascii=False)
    for marker in MARKERS[name]:
        assert marker in text, f"{name}: {marker!r} not in the outputs"
    assert {p.name for p in NOTEBOOKS.parent.iterdir()} == before  # nothing written into the repository
    assert not list(NOTEBOOKS.glob("*.sqlite"))

    stderr = [o.get("text", "") for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    assert stderr == [], f"{name}: stderr blocks in the outputs: {stderr}"
    page = _rendered(nb)
    assert 'data-mime-type="application/vnd.jupyter.stderr"' not in page  # nbconvert's stderr block
    tables = _rate_tables(page)
    for headers, cells in tables:
        raw = [c for c in cells if RAW_FLOAT.search(c)]
        assert not raw, f"{name}: raw floats {raw[:5]} in a table with headers {headers}"
    if name in RATE_NOTEBOOKS:
        assert tables, f"{name}: no rate table rendered"
        assert any(c.endswith("%") for _, cells in tables for c in cells)
        assert any(re.fullmatch(r"\d+\.\d% – \d+\.\d%", c) for _, cells in tables for c in cells)  # ranges


def _rendered(nb) -> str:
    """The executed notebook as nbconvert's HTML page."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    return body


def _rate_tables(page: str) -> list[tuple[list[str], list[str]]]:
    """(headers, cell texts) of every HTML table with a rate-like header."""
    out = []
    for table in re.findall(r"<table.*?</table>", page, flags=re.S):
        headers = [_text(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", table, flags=re.S)]
        if RATE_HEADERS & set(headers):
            out.append((headers, [_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", table, flags=re.S)]))
    return out


def _text(cell: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
