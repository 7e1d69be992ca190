"""The audited client address: the right end of X-Forwarded-For after the trusted proxies,
never an entry the client wrote itself."""

from __future__ import annotations

import pytest
from flask import Flask

from aide.entrypoints.audit import client_ip, forwarded_client


@pytest.mark.parametrize(
    ("header", "hops", "expected"),
    [
        ("203.0.113.7", 0, "203.0.113.7"),
        # The client sent "6.6.6.6"; the front end appended the address it saw.
        ("6.6.6.6, 7.7.7.7", 0, "7.7.7.7"),
        ("6.6.6.6,7.7.7.7", 0, "7.7.7.7"),
        # One trusted proxy (a load balancer) appended its own address after the client's.
        ("6.6.6.6, 203.0.113.7, 10.0.0.1", 1, "203.0.113.7"),
        ("203.0.113.7, 10.0.0.1", 1, "203.0.113.7"),
        # Shorter than the trusted chain: the leftmost entry was still written by a proxy.
        ("10.0.0.1", 2, "10.0.0.1"),
        ("2001:db8::1", 0, "2001:db8::1"),
        # Not an address at the trusted position: nothing to record from the header.
        ("6.6.6.6, evil", 0, None),
        ("6.6.6.6, ", 0, None),
        ("", 0, None),
    ],
)
def test_forwarded_client(header: str, hops: int, expected: str | None) -> None:
    assert forwarded_client(header, hops) == expected


def test_client_ip_falls_back_to_the_peer(monkeypatch: pytest.MonkeyPatch) -> None:
    app = Flask(__name__)
    environ = {"REMOTE_ADDR": "198.51.100.9"}
    with app.test_request_context("/", environ_base=environ):
        from flask import request

        assert client_ip(request) == "198.51.100.9"
    headers = {"X-Forwarded-For": "6.6.6.6, 7.7.7.7, 10.0.0.1"}
    with app.test_request_context("/", headers=headers, environ_base=environ):
        from flask import request

        assert client_ip(request) == "10.0.0.1"
        monkeypatch.setenv("TRUSTED_PROXY_HOPS", "1")
        assert client_ip(request) == "7.7.7.7"
    with app.test_request_context("/", headers={"X-Forwarded-For": "x"}, environ_base=environ):
        from flask import request

        assert client_ip(request) == "198.51.100.9"
