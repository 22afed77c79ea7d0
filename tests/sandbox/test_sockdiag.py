"""Listening sockets from the kernel's sock_diag (sre_agent.sandbox.sockdiag): the same
inodes /proc/<pid>/net/tcp{,6} lists, in this process's network namespace and in a real `ns`
sandbox's own."""

from __future__ import annotations

import os
import re
import socket
from typing import Any

import pytest

from sre_agent.sandbox import procs, sockdiag
from tests.support import needs_ns


def test_listeners_on_the_port_in_this_namespace_ipv4_and_ipv6() -> None:
    with socket.socket() as v4, socket.socket(socket.AF_INET6) as v6, \
            socket.socket() as other:
        v4.bind(("127.0.0.1", 0))
        v4.listen()
        port = v4.getsockname()[1]
        v6.bind(("::1", port))
        v6.listen()
        other.bind(("127.0.0.1", 0))
        other.listen()
        with socket.create_connection(("127.0.0.1", port)) as client:  # not a listener
            found = sockdiag.listening_inodes(os.getpid(), port)
            assert found == {os.fstat(v4.fileno()).st_ino, os.fstat(v6.fileno()).st_ino}
            assert os.fstat(client.fileno()).st_ino not in found
            assert {str(i) for i in found} == procs.proc_listening_inodes(os.getpid(), port)
            assert procs.listener_pids(os.getpid(), port, [os.getpid()]) == [os.getpid()]
    assert sockdiag.listening_inodes(os.getpid(), port) == set()  # closed: nobody listens


def test_a_gone_process_is_an_error_the_caller_sees() -> None:
    with pytest.raises(OSError):
        sockdiag.listening_inodes(2**22 + 12345, 80)


@needs_ns
@pytest.mark.e2e
def test_in_a_sandbox_the_same_as_proc(healthy_ns_sandbox: Any) -> None:
    sb = healthy_ns_sandbox
    text = (sb.workdir / "etc" / "clients.conf").read_text()
    port = int(re.search(r"127\.0\.0\.1:(\d+)", text).group(1))
    supervisor = sb.supervisor_pid()
    found = sockdiag.listening_inodes(supervisor, port)
    assert found and {str(i) for i in found} == procs.proc_listening_inodes(supervisor, port)
    # the host's namespace does not see the sandbox's listener
    assert not {str(i) for i in found} & procs.proc_listening_inodes(os.getpid(), port)
    assert sb.listener_supervised(port) is True
