"""The template catalog: :class:`Template` (one approved template) and :func:`load_templates` (CSV/JSON)."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from smskit.errors import DataValidationError
from smskit.protocol import MAX_TEMPLATE_ID_LEN as MAX_TEMPLATE_ID_CHARS
from smskit.protocol import MAX_VARIABLES
from smskit.templates.variables import parse_variables

__all__ = ["KINDS", "REGIONS", "Kind", "Region", "Template", "TemplateCatalog", "load_templates"]

Region = Literal["international", "mainland"]


Kind = Literal["verification", "notification", "marketing"]


REGIONS: tuple[str, ...] = ("international", "mainland")


KINDS: tuple[str, ...] = ("verification", "notification", "marketing")


@dataclass(frozen=True, slots=True)
class Template:
    """One approved SMS template; ``variables`` is derived from ``content``."""

    template_id: str
    content: str
    region: Region = "international"
    kind: Kind = "notification"
    signature: str | None = None
    variables: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        problems = []
        if not self.template_id or len(self.template_id) > MAX_TEMPLATE_ID_CHARS:
            problems.append(f"template_id must be 1–{MAX_TEMPLATE_ID_CHARS} chars")
        if self.region not in REGIONS:
            problems.append(f"region {self.region!r} is not one of {REGIONS}")
        if self.kind not in KINDS:
            problems.append(f"kind {self.kind!r} is not one of {KINDS}")
        if problems:
            raise DataValidationError(
                f"template {self.template_id!r}: " + "; ".join(problems), advice="fix the template catalog"
            )
        variables = parse_variables(self.content)
        if len(variables) > MAX_VARIABLES:
            raise DataValidationError(
                f"template {self.template_id!r} has {len(variables)} variables; the limit is {MAX_VARIABLES}",
                advice="split the template",
            )
        if self.kind == "verification" and len(variables) != 1:
            raise DataValidationError(
                f"verification template {self.template_id!r} has {len(variables)} variables; it needs exactly 1",
                advice="use kind 'notification' or keep one variable",
            )
        object.__setattr__(self, "variables", variables)
        if self.signature == "":
            object.__setattr__(self, "signature", None)

    def _repr_html_(self) -> str:
        return TemplateCatalog([self])._repr_html_()


class TemplateCatalog(Mapping[str, Template]):
    """Read-only ``{template_id: Template}`` mapping that renders as a table in notebooks."""

    def __init__(self, templates: Iterable[Template]) -> None:
        self._by_id: dict[str, Template] = {}
        for t in templates:
            if t.template_id in self._by_id:
                raise DataValidationError(
                    f"template_id {t.template_id!r} appears twice", advice="keep one row per template_id"
                )
            self._by_id[t.template_id] = t

    def __getitem__(self, template_id: str) -> Template:
        try:
            return self._by_id[template_id]
        except KeyError:
            raise KeyError(f"unknown template_id {template_id!r}; known: {sorted(self._by_id)[:10]}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def __repr__(self) -> str:
        ids = ", ".join(list(self._by_id)[:5]) + ("…" if len(self) > 5 else "")
        return f"TemplateCatalog({len(self)} templates: {ids})"

    def to_frame(self) -> pd.DataFrame:
        """One row per template: id, region, kind, signature, variables, content."""
        rows = [
            {
                "template_id": t.template_id,
                "region": t.region,
                "kind": t.kind,
                "signature": t.signature or "",
                "variables": " ".join(f"${{{v}}}" for v in t.variables),
                "content": t.content,
            }
            for t in self._by_id.values()
        ]
        columns = ["template_id", "region", "kind", "signature", "variables", "content"]
        return pd.DataFrame(rows, columns=columns).set_index("template_id")

    def _repr_html_(self) -> str:
        return f"<b>{len(self)} templates</b>" + self.to_frame().to_html(escape=True)


_REQUIRED_COLUMNS = ("template_id", "content", "region", "kind")


def load_templates(source: str | os.PathLike[str] | pd.DataFrame | io.IOBase) -> TemplateCatalog:
    """Read a template catalog from CSV or JSON (a list of objects) with columns
    ``template_id, content, region, kind, signature``; ``templates[template_id]`` gives a ``Template``.

    Raises ``DataValidationError`` naming every bad row.
    """
    records = _read_template_records(source)
    problems: list[dict[str, Any]] = []
    templates: list[Template] = []
    for i, rec in enumerate(records):
        missing = [c for c in _REQUIRED_COLUMNS if not str(rec.get(c) or "").strip()]
        if missing:
            problems.append({"row": i, "template_id": rec.get("template_id"), "problem": f"missing {missing}"})
            continue
        try:
            templates.append(
                Template(
                    template_id=str(rec["template_id"]).strip(),
                    content=str(rec["content"]),
                    region=str(rec["region"]).strip().lower(),  # type: ignore[arg-type]
                    kind=str(rec["kind"]).strip().lower(),  # type: ignore[arg-type]
                    signature=(str(rec.get("signature") or "").strip() or None),
                )
            )
        except DataValidationError as exc:
            problems.append({"row": i, "template_id": rec.get("template_id"), "problem": exc.message})
    if problems:
        rows = pd.DataFrame(problems)
        raise DataValidationError(
            f"{len(rows)} template row(s) are invalid: {rows['problem'].iloc[0]}",
            rows=rows,
            advice="fix these rows of the template file",
        )
    return TemplateCatalog(templates)


def _read_template_records(source: Any) -> list[dict[str, Any]]:
    if isinstance(source, pd.DataFrame):
        return source.fillna("").astype(str).to_dict("records")  # type: ignore[return-value]
    if isinstance(source, io.IOBase):
        text = source.read()
        text = text.decode("utf-8-sig") if isinstance(text, bytes) else text
        return _parse_template_text(text, json_first=text.lstrip().startswith(("[", "{")))
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DataValidationError(
            f"cannot read template file {path}: {exc.strerror or exc}", advice="check the path"
        ) from exc
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise DataValidationError(
            f"template file {path.name} has extension {suffix!r}", advice="use a .csv or .json file"
        )
    return _parse_template_text(text, json_first=suffix == ".json")


def _parse_template_text(text: str, *, json_first: bool) -> list[dict[str, Any]]:
    if json_first:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            what = exc if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            raise DataValidationError(f"template JSON is malformed: {what}", advice="fix the JSON or use CSV") from exc
        if isinstance(data, dict):
            data = data.get("templates", [data])
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            raise DataValidationError("template JSON must be a list of objects", advice='write [{"template_id": …}, …]')
        return data
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in _REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise DataValidationError(
            f"template CSV lacks column(s) {missing}; it has {reader.fieldnames}",
            advice="columns are template_id, content, region, kind, signature",
        )
    return list(reader)
