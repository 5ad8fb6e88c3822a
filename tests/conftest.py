"""Tests run offline: any attempt to reach a remote host fails loudly instead of waiting on the network."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class NetworkBlockedError(RuntimeError):
    """A test tried to open a connection to a remote host."""


def _is_local(sock: socket.socket, address: Any) -> bool:
    if sock.family == getattr(socket, "AF_UNIX", None):
        return True  # a file path on this machine
    host = address[0] if isinstance(address, tuple) and address else address
    if isinstance(host, bytes):
        host = host.decode()
    return host in _LOCAL_HOSTS


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: Any) -> None:
        if not _is_local(self, address):
            raise NetworkBlockedError(f"tests are offline: refused a connection to {address!r}")
        real_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        if not _is_local(self, address):
            raise NetworkBlockedError(f"tests are offline: refused a connection to {address!r}")
        return real_connect_ex(self, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", guarded_connect)
        patch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
        yield


@pytest.fixture(autouse=True)
def _private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own data folder, so none reads or writes the user's ~/.tape_studio."""
    monkeypatch.setenv("TAPE_STUDIO_HOME", str(tmp_path_factory.mktemp("home")))
    for name in ("TAPE_STUDIO_MODEL", "TAPE_STUDIO_LLM_MODE", "TAPE_STUDIO_STORE"):
        monkeypatch.delenv(name, raising=False)
