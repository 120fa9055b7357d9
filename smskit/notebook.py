"""Notebook display: smskit's tables formatted, smskit's warnings as a readable note.

In a Jupyter kernel, ``import smskit`` calls :func:`register`, which

* shows the tables smskit marks (:func:`smskit.display.mark`: every table of :mod:`smskit.analytics`,
  and ``experiments.compare_arms``) with rates as percentages and intervals as ranges — an HTML
  formatter for DataFrames that hands every other frame to the formatter it replaces (pandas' own);
* shows smskit's warnings (``CampaignWarning``, ``ExperimentWarning`` …) as a note in the cell's
  output, not as a stderr block with an ipykernel path. Python's warning filters still decide
  *whether* a warning is shown; only *how* changes, and other libraries' warnings are untouched.

:func:`unregister` restores both. Outside a kernel (scripts, the terminal, tests) nothing changes.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["register", "unregister", "warning_html"]

_FLAG = "_smskit_hook"


def _kernel_shell() -> Any:
    """The running IPython shell when it is a kernel (it can show HTML), else None."""
    import sys

    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    shell = ipython.get_ipython()
    return shell if shell is not None and getattr(shell, "kernel", None) is not None else None


def register(shell: Any = None) -> bool:
    """Install the table formatter and the warning note in ``shell`` (default: the running kernel).

    Returns False (and changes nothing) outside a kernel; calling it twice is harmless.
    """
    import pandas as pd

    shell = shell if shell is not None else _kernel_shell()
    if shell is None:
        return False
    formatter = shell.display_formatter.formatters["text/html"]
    current = formatter.type_printers.get(pd.DataFrame)
    if not getattr(current, _FLAG, False):
        formatter.for_type(pd.DataFrame, _table_printer(current))
    if not getattr(warnings.showwarning, _FLAG, False):
        warnings.showwarning = _warning_hook(warnings.showwarning)
    return True


def unregister(shell: Any = None) -> None:
    """Undo :func:`register`."""
    import pandas as pd

    shell = shell if shell is not None else _kernel_shell()
    if shell is not None:
        formatter = shell.display_formatter.formatters["text/html"]
        current = formatter.type_printers.get(pd.DataFrame)
        if getattr(current, _FLAG, False):
            previous = current.previous
            if previous is None:
                formatter.pop(pd.DataFrame)
            else:
                formatter.for_type(pd.DataFrame, previous)
    if getattr(warnings.showwarning, _FLAG, False):
        warnings.showwarning = warnings.showwarning.previous  # type: ignore[attr-defined]


def _table_printer(previous: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    from smskit.display import is_marked, table_html

    def printer(frame: Any) -> Any:
        if is_marked(frame):
            return table_html(frame)
        return previous(frame) if previous is not None else frame._repr_html_()

    setattr(printer, _FLAG, True)
    printer.previous = previous  # type: ignore[attr-defined]
    return printer


def warning_html(message: Warning | str, category: type[Warning]) -> str:
    """A warning as a short note: its kind and its (escaped) text."""
    return (
        '<div class="smskit-warning" style="border-left:4px solid #E69F00;background:#fff8e6;'
        'padding:6px 10px;margin:4px 0">'
        f"<b>Note ({html.escape(category.__name__)}):</b> {html.escape(str(message))}</div>"
    )


def _warning_hook(previous: Callable[..., None]) -> Callable[..., None]:
    def showwarning(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        if file is None and category.__module__.split(".")[0] == "smskit" and _kernel_shell() is not None:
            from IPython.display import HTML, display

            display(HTML(warning_html(message, category)))
            return
        previous(message, category, filename, lineno, file, line)

    setattr(showwarning, _FLAG, True)
    showwarning.previous = previous  # type: ignore[attr-defined]
    return showwarning
