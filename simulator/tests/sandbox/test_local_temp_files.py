"""``make run`` leaves nothing in the temporary directory: the sandbox's terminals (with their keys) stay in memory,
and the HTTPS mode's certificate and private key go with the stack."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from local.config import TEST_KEY
from simulator.tests.support.full_stack import full_stack


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_the_local_system_leaves_nothing_in_the_temp_directory(
    https: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with full_stack(https=https) as system:
        written = [path for path in scratch.rglob("*") if path.is_file()]
        assert not any(TEST_KEY in path.read_text(errors="replace") for path in written)
        assert (system.sandbox.server.certificate is not None) is https
    assert list(scratch.iterdir()) == []


def test_the_sandbox_server_alone_removes_its_certificate_when_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.bank import Bank
    from chalicelib.devserver import SandboxServer
    from chalicelib.terminals import BankConfig

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    server = SandboxServer(Bank(BankConfig({})), port=0, tls=True, quiet=True)
    assert server.certificate is not None
    assert server.certificate.is_file()
    server.start()
    server.stop()
    assert list(scratch.iterdir()) == []
