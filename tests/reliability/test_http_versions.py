"""Issue 15, finding 4: unknown HTTP versions and HTTP/1.1 without Host get no 200.

Sent as raw bytes to a real server on loopback (what scripts/serve runs), so whichever
layer refuses them (the HTTP parser or api/server.py's front) is what is tested.
"""

from __future__ import annotations

import pytest

from ..conftest import RULES_DIR
from ..gunicorn_server import raw_exchange, running


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running(RULES_DIR, tmp_path_factory.mktemp("versions"), workers=1, interval=0) as srv:
        yield srv


@pytest.mark.server
@pytest.mark.parametrize("request_head", [
    b"GET /healthz HTTP/1.9\r\nHost: x\r\n\r\n",
    b"GET /v1/decision?jurisdiction=DE HTTP/1.9\r\nHost: x\r\n\r\n",
    b"GET /healthz HTTP/1.2\r\nHost: x\r\n\r\n",
    b"GET /healthz HTTP/3.0\r\nHost: x\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\n\r\n",
    b"GET /v1/decision?jurisdiction=DE HTTP/1.1\r\nAccept: */*\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost:\r\n\r\n",
], ids=["1.9", "1.9-decision", "1.2", "3.0", "1.1-no-host", "1.1-no-host-decision", "1.1-empty-host"])
def test_no_200_for_unknown_versions_or_missing_host(server, request_head):
    answer = raw_exchange(server.port, request_head)
    status_line = answer.split(b"\r\n", 1)[0]
    # No answer at all (connection closed) is a refusal too; a 200 never is.
    assert not status_line.split(b" ")[1:2] == [b"200"], answer[:300]
    if answer:
        assert status_line.split(b" ")[1].startswith((b"4", b"5")), answer[:300]


@pytest.mark.server
@pytest.mark.parametrize("request_head", [
    b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /healthz HTTP/1.0\r\n\r\n",  # HTTP/1.0 has no Host requirement
])
def test_well_formed_requests_still_get_200(server, request_head):
    answer = raw_exchange(server.port, request_head)
    assert answer.split(b"\r\n", 1)[0].split(b" ")[1] == b"200", (request_head, answer[:200])
