"""Network helpers: loopback hosts and free ports."""

from __future__ import annotations

import socket

import pytest

from sre_agent.net import free_port, free_ports, is_loopback


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost",
                                  "LocalHost", " 127.0.0.1 "])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "192.0.2.7", "example.org",
                                  "localhost.evil.example", "127.0.0.1.nip.io", ""])
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_ports(5)
    assert len(ports) == len(set(ports)) == 5 and all(0 < p < 65536 for p in ports)
    for port in ports:  # free right after (a race with other processes remains, by design)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))
    assert free_ports(0) == ()


def test_free_port_on_ipv4_and_ipv6_loopback() -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this host")
    try:
        v6 = free_port("[::1]")
    except OSError:
        pytest.skip("IPv6 loopback is not configured")
    assert 0 < v6 < 65536
