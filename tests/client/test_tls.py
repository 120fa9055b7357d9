"""An explicit CA bundle wins over REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE, against a real local TLS server (issue 11).

requests merges a session-level ``verify`` with the environment so that ``REQUESTS_CA_BUNDLE`` wins; the
client passes ``verify=`` with each request instead. Proxies still come from the environment.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import smskit
from smskit._server import BackgroundServer
from smskit.emulator import Emulator
from smskit.errors import TransportError

CN = "+8615512345678"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _ca(directory: Path, name: str) -> None:
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN=smskit test {name}",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throw-away CA with a server certificate for 127.0.0.1, and an unrelated second CA."""
    d = tmp_path_factory.mktemp("pki")
    _ca(d, "ca")
    _ca(d, "other")
    (d / "ext.cnf").write_text(
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "server.key",
        "-out", "server.csr", "-subj", "/CN=127.0.0.1", cwd=d,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf", cwd=d,
    )  # fmt: skip
    return d


@pytest.fixture(scope="module")
def tls_emulator(pki: Path) -> Iterator[tuple[Emulator, str]]:
    emu = Emulator(seed=1)
    server = BackgroundServer(emu.app, tls=(str(pki / "server.pem"), str(pki / "server.key")), name="tls-emulator")
    with server:
        yield emu, server.url
    emu.stop()


@pytest.fixture
def corporate_env(monkeypatch: pytest.MonkeyPatch, pki: Path) -> None:
    """A machine whose environment names another CA bundle, as corporate images often do."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.setenv(name, str(pki / "other.pem"))
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_explicit_ca_bundle_wins_over_the_environment(tls_emulator, pki: Path, corporate_env: None) -> None:
    emu, url = tls_emulator
    assert url.startswith("https://127.0.0.1:")
    client = smskit.Client(url, emu.app_key, emu.app_secret, sender="isms1", ca_bundle=str(pki / "ca.pem"))
    assert client.send(CN, "t1", ["1"]).code == "000000"


def test_smskit_ca_bundle_from_the_environment_wins_too(
    tls_emulator, pki: Path, corporate_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu, url = tls_emulator
    for name, value in {
        "SMSKIT_BASE_URL": url,
        "SMSKIT_APP_KEY": emu.app_key,
        "SMSKIT_APP_SECRET": emu.app_secret,
        "SMSKIT_SENDER": "isms1",
        "SMSKIT_CA_BUNDLE": str(pki / "ca.pem"),
    }.items():
        monkeypatch.setenv(name, value)
    assert smskit.Client.from_env().send(CN, "t1", ["1"]).code == "000000"


def test_without_a_bundle_the_environment_still_decides(tls_emulator, corporate_env: None) -> None:
    emu, url = tls_emulator
    client = smskit.Client(url, emu.app_key, emu.app_secret, sender="isms1", max_retries=0)
    with pytest.raises(TransportError, match="TLS verification failed") as info:
        client.send(CN, "t1", ["1"])
    assert info.value.may_have_reached is False


def test_proxies_still_come_from_the_environment(
    tls_emulator, pki: Path, corporate_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    emu, url = tls_emulator
    with socket.socket() as s:  # a port nothing listens on: the proxy is unreachable
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{dead}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = smskit.Client(
        url, emu.app_key, emu.app_secret, sender="isms1", ca_bundle=str(pki / "ca.pem"), max_retries=0
    )
    with pytest.raises(TransportError):
        client.send(CN, "t1", ["1"])  # went to the (dead) proxy from the environment
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert client.send(CN, "t1", ["1"]).code == "000000"
