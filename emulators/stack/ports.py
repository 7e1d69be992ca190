"""Local TCP ports: pick free ones (port 0 semantics for servers that need the number up front)
and wait for a server to accept or release one."""

from __future__ import annotations

import socket
import time

LOCALHOST = "127.0.0.1"


def free_port(host: str = LOCALHOST) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def free_ports(count: int, host: str = LOCALHOST) -> list[int]:
    """`count` distinct free ports, all held open together so none is handed out twice."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind((host, 0))
        return [int(p.getsockname()[1]) for p in probes]
    finally:
        for probe in probes:
            probe.close()


def is_listening(port: int, host: str = LOCALHOST) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def is_free(port: int, host: str = LOCALHOST) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def wait_until_free(ports: list[int], timeout_s: float, host: str = LOCALHOST) -> list[int]:
    """Ports still taken after `timeout_s` (empty when all were released)."""
    deadline = time.monotonic() + timeout_s
    while True:
        taken = [p for p in ports if not is_free(p, host)]
        if not taken or time.monotonic() >= deadline:
            return taken
        time.sleep(0.1)
