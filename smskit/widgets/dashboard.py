"""The Dashboard widget: live delivery counts and figures while status reports arrive."""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from typing import Any

import pandas as pd

from smskit.analytics import NOT_SENT_HEADLINES
from smskit.errors import SmsKitError
from smskit.widgets._ipywidgets import W
from smskit.widgets.views import (
    counts_html,
    delivery_counts,
    error_html,
    figure_png,
    note_html,
    rates_html,
    time_bin,
)

__all__ = ["Dashboard"]


class Dashboard:
    """Live delivery counts and figures while status reports arrive.

    ``receiver_or_reports`` is a :class:`smskit.CallbackReceiver` (anything with ``.reports()``), a
    reports DataFrame, a report source path for :func:`smskit.read_status_reports`, or a callable
    returning a reports frame. ``results`` (a ``send_campaign`` frame, or a callable returning one or
    ``None``, e.g. ``lambda: composer.results``) turns the view into the campaign funnel.

    ``refresh()`` redraws once; ``start(interval=2)`` refreshes in a background thread until ``stop()``
    or the Stop button.
    """

    def __init__(self, receiver_or_reports: Any, results: Any = None) -> None:
        self.source = receiver_or_reports
        self.results = results
        self.frame: pd.DataFrame | None = None
        self.refreshes = 0
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.counts = W.HTML()
        self.caption = W.HTML()
        self.rates = W.HTML()
        self.figures = [W.Image(format="png", layout=W.Layout(max_width="640px")) for _ in range(2)]
        self.stop_button = W.Button(
            description="Stop", icon="stop", layout=W.Layout(width="auto"), disabled=True, tooltip="Stop refreshing"
        )
        self.stop_button.on_click(lambda _b: self.stop())
        self.refresh_button = W.Button(description="Refresh", icon="refresh", layout=W.Layout(width="auto"))
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.state = W.HTML()
        self.widget = W.VBox(
            [
                W.HTML('<div style="font-size:18px;font-weight:600">Delivery dashboard</div>'),
                W.HBox([self.refresh_button, self.stop_button, self.state]),
                self.counts,
                self.caption,
                self.rates,
                *self.figures,
            ],
            layout=W.Layout(max_width="820px"),
        )
        self.refresh()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _reports(self) -> pd.DataFrame:
        src = self.source
        if isinstance(src, pd.DataFrame):
            return src
        if hasattr(src, "reports") and callable(src.reports):
            return src.reports()
        if callable(src):
            return src()
        from smskit.reports.ingest import read_status_reports

        return read_status_reports(src)

    def _results(self) -> pd.DataFrame | None:
        res = self.results() if callable(self.results) else self.results
        return res if isinstance(res, pd.DataFrame) else None

    def refresh(self) -> pd.DataFrame:
        """Read the reports again and redraw counts and figures; returns the frame shown."""
        from smskit import plots

        with self._lock:
            reports = self._reports()
            results = self._results()
            if results is not None:
                from smskit.reports.funnel import delivery_funnel

                frame = delivery_funnel(results, reports)
                draws: list[tuple[Callable[[Any], Any], tuple[float, float]]] = [
                    (lambda ax: plots.funnel(frame, ax=ax), (7, 2.6)),
                    (lambda ax: plots.failure_reasons(frame, ax=ax), (8, 3.2)),
                ]
                caption = "Campaign: {sent:,} recipients sent, " + f"{len(reports):,} status report(s) so far."
            else:
                frame = reports
                freq = time_bin(frame["update_time"]) if "update_time" in frame.columns else "1min"
                draws = [
                    (lambda ax: plots.delivery_over_time(frame, on="update_time", freq=freq, ax=ax), (7, 3.0)),
                    (lambda ax: plots.failure_reasons(frame, ax=ax), (8, 3.2)),
                ]
                caption = f"{len(reports):,} status report(s) so far."
            self.frame = frame
            counts = delivery_counts(frame)
            none = [k for k in NOT_SENT_HEADLINES if k in counts and not counts[k]]  # states no row has
            self.counts.value = counts_html(counts.drop(none))
            text = caption.format(sent=int(counts.get("sent", 0)))
            self.caption.value = f'<div style="color:#555">{html.escape(text)}</div>'
            self.rates.value = rates_html(frame) if results is not None and counts.get("sent", 0) else ""
            for image, (draw, size) in zip(self.figures, draws, strict=True):
                if len(frame) == 0:
                    image.layout.display = "none"
                    continue
                try:
                    image.value = figure_png(draw, size=size)
                    image.layout.display = None
                except (ValueError, KeyError, SmsKitError):
                    image.layout.display = "none"
            self.refreshes += 1
            return frame

    def start(self, *, interval: float = 2.0) -> Dashboard:
        """Refresh every ``interval`` seconds in a background thread (until ``stop()``)."""
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval!r}")
        if self.running:
            return self
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.refresh()
                except Exception as exc:  # shown in the widget: a background thread has no cell to fail in
                    self.error = exc
                    self.state.value = "stopped after an error: " + error_html(exc)
                    self.stop_button.disabled = True
                    return

        self._thread = threading.Thread(target=loop, name="smskit-dashboard", daemon=True)
        self.stop_button.disabled = False
        self.state.value = note_html(f"refreshing every {interval:g} s", color="#006644")
        self._thread.start()
        return self

    def stop(self, *, timeout: float = 10.0) -> None:
        """Stop the background refresh (waits for a refresh in progress to finish)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None
        self.stop_button.disabled = True
        self.state.value = note_html("stopped", color="#666")
