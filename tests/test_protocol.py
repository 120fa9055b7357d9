"""The platform's wire constants are defined once, in smskit.protocol: no second copy to drift."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from smskit import protocol

PACKAGE = Path(protocol.__file__).resolve().parent
#: Where the client, the emulator and the receiver meet the wire: they must take its constants from protocol.
SCANNED = ["client", "emulator", "reports", "auth", "cli/receive.py", "cli/emulator.py"]
#: Wire texts that must not be typed again (codes.py, the catalog, describes codes and is not scanned).
WIRE_TEXTS = {
    getattr(protocol, name): name
    for name in ("SEND_PATH", "BATCH_PATH", "FORM", "JSON", "JSON_UTF8", "SUCCESS", "PARTIAL", "UPDATE_TIME_FORMAT")
}
#: Same text, different field: X-WSSE ``Created`` happens to use the report time format.
ALLOWED = {("auth/wsse.py", "%Y-%m-%dT%H:%M:%SZ")}


def _modules() -> list[Path]:
    out: list[Path] = []
    for entry in SCANNED:
        path = PACKAGE / entry
        out += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return out


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_second_copy_of_a_wire_constant(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    where = str(path.relative_to(PACKAGE))
    redefined = [
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name) and target.id in protocol.__all__
    ]
    assert not redefined, f"{where} defines {redefined} again: import them from smskit.protocol"
    copied = [
        f"{node.value!r} (protocol.{WIRE_TEXTS[node.value]}, line {node.lineno})"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in WIRE_TEXTS
        and (where, node.value) not in ALLOWED
    ]
    assert not copied, f"{where} types wire constants again: {copied}"


def test_the_scan_would_see_a_copy(tmp_path: Path) -> None:
    """The scan above is not vacuous: the emulator's old copies are what it reports."""
    old = 'SINGLE = "batchSendSms"\nFORM = "application/x-www-form-urlencoded"\n'
    tree = ast.parse(old)
    names = [t.id for n in ast.walk(tree) if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)]
    texts = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in WIRE_TEXTS]
    assert set(names) <= set(protocol.__all__)
    assert texts == [protocol.FORM]
