"""The viewer's HTTP server against hostile requests, without ROS: the Host allow-list and Origin
check on every bind address, the control token off loopback, and malformed or slow requests
refused at once (all traffic stays on this machine's loopback)."""
import http.client
import json
import socket
import time

import pytest

from executive.viewer import server as viewer_server
from executive.viewer.hub import Hub
from executive.viewer.server import ViewerServer
from executive.viewer.state import idle


class Executive:
    """Stands in for viewer.hub.Control: answers cancel and start at once (the HTTP layer is what
    is tested here; test_viewer.py drives a real executive)."""

    def __init__(self):
        self.calls = []

    def submit(self, action, args, timeout):
        self.calls.append(action)
        return 200, {"ok": True, "message": f"{action} done"}


@pytest.fixture(params=["127.0.0.1", "0.0.0.0"])
def served(request, tmp_path):
    control = Executive()
    server = ViewerServer(Hub(idle()), tmp_path, request.param, 0, control=control,
                          missions=lambda: ["inspection"], allowed_hosts=["robot.example"])
    server.start()
    yield server, control
    server.close()


def ask(server, method, path, headers=None, body=None):
    """(status, JSON answer) of a request to ``server`` over loopback, with exactly ``headers``."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for name, value in (headers or {}).items():
        connection.putheader(name, value)
    data = json.dumps(body).encode() if body is not None else None
    if data is not None:
        connection.putheader("Content-Length", str(len(data)))
    connection.endheaders(data)
    response = connection.getresponse()
    answer = response.read()
    connection.close()
    return response.status, json.loads(answer) if response.headers.get_content_type() == "application/json" else answer


def test_host_names_are_an_allow_list_on_every_bind(served):
    server, _ = served
    port = server.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"{socket.gethostname()}:{port}",
                 f"robot.example:{port}", f"10.1.2.3:{port}", "ROBOT.EXAMPLE."):
        assert ask(server, "GET", "/api/state", {"Host": host})[0] == 200, host
    for host in (f"evil.example:{port}", "attacker.localhost.example", "", f"robot.example.evil:{port}"):
        code, answer = ask(server, "GET", "/api/state", {"Host": host} if host else {})
        assert code == 403 and "Host" in answer["message"], host
    # A rebinding page posts with its own name: refused before the body is read.
    code, _ = ask(server, "POST", "/api/cancel", {"Host": f"evil.example:{port}", "Content-Type": "application/json"}, {})
    assert code == 403


def test_origin_must_be_the_servers_own(served):
    server, control = served
    host = f"127.0.0.1:{server.port}"
    headers = {"Host": host, "Content-Type": "application/json", "Origin": "http://evil.example"}
    assert ask(server, "POST", "/api/cancel", headers, {})[0] == 403
    assert ask(server, "GET", "/api/state", {"Host": host, "Origin": "http://evil.example"})[0] == 403
    assert not control.calls


def test_control_off_loopback_needs_the_printed_token(served):
    server, control = served
    host = f"127.0.0.1:{server.port}"
    headers = {"Host": host, "Content-Type": "application/json", "Origin": f"http://{host}"}
    config = ask(server, "GET", "/api/config", {"Host": host})[1]
    if server.host == "127.0.0.1":
        assert server.token is None and not config["token_required"] and server.page_url == server.url
        assert ask(server, "POST", "/api/cancel", headers, {})[0] == 200
        return
    assert config["token_required"] and server.page_url == f"{server.url}#token={server.token}"
    assert len(server.token) >= 20
    for given in (None, "", "wrong", server.token[:-1]):
        extra = {} if given is None else {"Authorization": f"Bearer {given}"}
        code, answer = ask(server, "POST", "/api/cancel", {**headers, **extra}, {})
        assert code == 401 and "token" in answer["message"], given
    assert not control.calls
    assert ask(server, "POST", "/api/cancel", {**headers, "Authorization": f"Bearer {server.token}"}, {})[0] == 200
    assert control.calls == ["cancel"]


def raw(server, data: bytes, timeout: float = 10.0):
    """Send ``data`` and keep the connection open; (seconds until the answer, answer bytes)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    start = time.monotonic()
    try:
        sock.sendall(data)
        answer = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    except TimeoutError:
        pytest.fail(f"no answer within {timeout} s to {data[:60]!r}")
    finally:
        sock.close()
    return time.monotonic() - start, answer


@pytest.mark.parametrize("headers,code", [
    ("Content-Length: -1", 400),
    ("Content-Length: 1e3", 400),
    ("Content-Length: 99999999999", 413),
    ("Transfer-Encoding: chunked", 501),
    ("", 411),
])
def test_malformed_requests_are_refused_at_once(served, headers, code):
    """The body is never waited for: the answer comes while the client still holds the socket open."""
    server, control = served
    request = (f"POST /api/cancel HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: application/json\r\n"
               + (headers + "\r\n" if headers else "") + "\r\n").encode()
    seconds, answer = raw(server, request)
    assert answer.startswith(f"HTTP/1.0 {code} ".encode()), answer[:200]
    assert seconds < viewer_server.REQUEST_DEADLINE, seconds
    assert not control.calls


def test_a_slow_request_is_cut_off_at_its_deadline(served, monkeypatch):
    server, _ = served
    monkeypatch.setattr(viewer_server, "REQUEST_DEADLINE", 1.5)
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
    start = time.monotonic()
    closed = False
    try:
        sock.sendall(f"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n".encode())
        for _ in range(40):         # one header byte every 0.25 s: each read is quick, the request never ends
            try:
                sock.sendall(b"X")
            except OSError:
                closed = True
                break
            sock.settimeout(0.25)
            try:
                if sock.recv(1024) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
    finally:
        sock.close()
    assert closed and time.monotonic() - start < 6.0, "the server kept waiting for a trickled request"


def test_a_body_shorter_than_its_length_is_refused_and_others_still_served(served):
    server, _ = served
    request = (f"POST /api/start HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: application/json\r\n"
               "Content-Length: 100\r\n\r\n{}").encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(request)
    sock.shutdown(socket.SHUT_WR)
    answer = sock.recv(4096)
    sock.close()
    assert answer.startswith(b"HTTP/1.0 400 "), answer[:200]
    assert ask(server, "GET", "/api/state", {"Host": f"127.0.0.1:{server.port}"})[0] == 200
