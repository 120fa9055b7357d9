"""ipywidgets, imported once with an install hint when it is missing."""

try:
    import ipywidgets as W
except ImportError as exc:  # pragma: no cover - ipywidgets is a dependency
    raise ImportError("smskit.widgets needs ipywidgets 8: pip install 'ipywidgets>=8'") from exc

__all__ = ["W"]
