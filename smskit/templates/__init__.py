"""SMS templates: the catalog, variable rules, parameter validation, rendering, GSM-7/UCS-2 and segments.

* :mod:`.catalog` — :class:`Template`, :class:`TemplateCatalog`, :func:`load_templates`
* :mod:`.variables` — the variables of a template and each one's value rule
* :mod:`.validation` — :func:`validate_params` and its vectorized form
* :mod:`.render` — the message the recipient sees
* :mod:`.encoding` — GSM-7 or UCS-2, length and billed segments
"""

from smskit.templates.catalog import KINDS, REGIONS, Template, TemplateCatalog, load_templates
from smskit.templates.encoding import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    encoding_of,
    encoding_series,
    segments,
    segments_series,
    text_length,
    ucs2_chars,
)
from smskit.templates.render import render, render_series
from smskit.templates.validation import (
    MAX_CONTENT_CHARS,
    MAX_VERIFICATION_CHARS,
    invalid_params_mask,
    validate_params,
)
from smskit.templates.variables import parse_variables

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "KINDS",
    "MAX_CONTENT_CHARS",
    "MAX_VERIFICATION_CHARS",
    "REGIONS",
    "Template",
    "TemplateCatalog",
    "encoding_of",
    "encoding_series",
    "invalid_params_mask",
    "load_templates",
    "parse_variables",
    "render",
    "render_series",
    "segments",
    "segments_series",
    "text_length",
    "ucs2_chars",
    "validate_params",
]
