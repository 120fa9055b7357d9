"""`make test` passes on a fresh machine: it installs the browser test's Chromium first, or says what to do."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / ".ci" / "browser-deps.sh"


def test_make_test_installs_the_browser_before_the_tests() -> None:
    plan = subprocess.run(["make", "-n", "test"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    steps = plan.splitlines()
    install = next(i for i, s in enumerate(steps) if ".ci/browser-deps.sh" in s)
    tests = next(i for i, s in enumerate(steps) if "-m pytest" in s)
    assert install < tests
    ci = (REPO / ".ci" / "run").read_text()
    assert "browser-deps.sh" in ci
    assert "make test" in ci


def _bin(tmp_path: Path, *, uid: int, apt: bool, sudo: bool) -> Path:
    """A PATH holding only fake id/apt-get/sudo (and cat): apt-get 'installs' chromium where told, and logs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "cat").symlink_to(shutil.which("cat") or "/bin/cat")
    scripts = {"id": f"#!/bin/sh\necho {uid}\n"}
    if apt:
        scripts["apt-get"] = (
            '#!/bin/sh\necho "apt-get $*" >> "$LOG"\n'
            'case "$*" in *install*chromium*) printf "#!/bin/sh\\necho Chromium 1\\n" > "$SMSKIT_CHROMIUM";'
            f' {shutil.which("chmod") or "/bin/chmod"} +x "$SMSKIT_CHROMIUM";; esac\n'
        )
    if sudo:
        scripts["sudo"] = (
            '#!/bin/sh\necho "sudo $*" >> "$LOG"\n[ "$1" = "-n" ] && shift\n[ "$1" = true ] || exec "$@"\n'
        )
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return bin_dir


def _run(tmp_path: Path, **fake: bool | int) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": str(_bin(tmp_path, **fake)),  # type: ignore[arg-type]
        "SMSKIT_CHROMIUM": str(tmp_path / "chromium"),
        "LOG": str(tmp_path / "log"),
    }
    return subprocess.run(["/bin/bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def _log(tmp_path: Path) -> str:
    log = tmp_path / "log"
    return log.read_text() if log.exists() else ""


@pytest.mark.parametrize(("uid", "sudo"), [(0, False), (1000, True)], ids=["root", "password-less-sudo"])
def test_a_missing_browser_is_installed_with_apt(tmp_path: Path, uid: int, sudo: bool) -> None:
    done = _run(tmp_path, uid=uid, apt=True, sudo=sudo)
    assert done.returncode == 0, done.stderr
    assert "Chromium 1" in done.stdout
    calls = _log(tmp_path)
    assert "apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core" in calls
    assert ("sudo -n apt-get install" in calls) is sudo


@pytest.mark.parametrize(
    ("fake", "why"),
    [
        ({"uid": 1000, "apt": True, "sudo": False}, "not root and has no password-less sudo"),
        ({"uid": 0, "apt": False, "sudo": False}, "no apt-get"),
    ],
    ids=["no-root", "no-apt"],
)
def test_when_it_cannot_install_it_says_exactly_what_to_do(tmp_path: Path, fake: dict, why: str) -> None:
    done = _run(tmp_path, **fake)
    assert done.returncode == 2
    assert why in done.stderr
    for remedy in (
        "sudo bash .ci/browser-deps.sh",
        "SMSKIT_CHROMIUM=/path/to/chromium make test",
        "SMSKIT_SKIP_BROWSER=1",
    ):
        assert remedy in done.stderr
    assert "install" not in _log(tmp_path)


def test_a_present_browser_needs_nothing(tmp_path: Path) -> None:
    chromium = tmp_path / "chromium"
    chromium.write_text("#!/bin/sh\n")
    chromium.chmod(0o755)
    done = _run(tmp_path, uid=1000, apt=False, sudo=False)
    assert (done.returncode, _log(tmp_path)) == (0, "")
    assert os.access(chromium, os.X_OK)
