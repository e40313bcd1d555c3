"""The viewer's HTTP server: the page, a JSON API and a Server-Sent Events stream.

    GET  /                      the page (static/index.html; viewer.js, viewer.css beside it)
    GET  /api/config            {live, control, missions, host}
    GET  /api/state             the newest snapshot (executive/viewer/state.py)
    GET  /api/stream            SSE: ``state`` (a snapshot) and ``log`` ({run_id, events}) messages
    GET  /api/runs              runs in the log directory, newest first
    GET  /api/runs/<run id>     {run_id, events} of one run, for replay
    POST /api/cancel            halt the running mission      (403 unless control is allowed)
    POST /api/start             {mission, parameters} start one (403 unless control is allowed)

Stdlib only; one thread per connection (ThreadingHTTPServer). The handlers read only the hub's
JSON text and files on disk, never rclpy or py_trees objects.

Who may ask (on every bind address, loopback or not):

- **Host**: a request must name this server by an IP address or by one of the names it serves
  (``localhost``, this machine's host name and fully qualified name, and the ``allowed_hosts``
  given), else 403. A page elsewhere that rebinds its own DNS name to this address (DNS
  rebinding) still sends its own name, and is refused; an address cannot be rebound.
- **Origin**: a request that names an Origin (browsers do, for cross-site requests and every
  POST) must come from this server's own origin, else 403.
- **Token**: the Host check does not stop a neighbour on the network, who can name the address.
  So with control allowed on an address other than loopback, cancel and start need the token
  made at start (``token``; printed, never logged to ROS): ``Authorization: Bearer <token>``
  (the page reads it from its URL's ``#token=`` and sends it), else 401.
- **Malformed requests are refused at once**: a request line and headers must arrive within
  ``REQUEST_DEADLINE`` s in all (however slowly the bytes trickle in: slowloris) and every socket
  read within ``SOCKET_TIMEOUT``; a POST needs a Content-Length of 0..``BODY_LIMIT`` bytes (411,
  400 for a negative or malformed one, 413 for a larger one, never read), and no
  Transfer-Encoding (501); at most ``CONNECTION_LIMIT`` connections are served at once (503).
"""
import errno
import hmac
import http.server
import ipaddress
import json
import pathlib
import secrets
import socket
import threading
import urllib.parse

from executive.viewer import logs

STATIC = pathlib.Path(__file__).resolve().parent / "static"
FILES = {"/": ("index.html", "text/html"), "/index.html": ("index.html", "text/html"),
         "/viewer.js": ("viewer.js", "text/javascript"), "/viewer.css": ("viewer.css", "text/css")}
KEEPALIVE = 15.0        # s between SSE comments on a quiet stream (proxies and dead clients)
CONTROL_TIMEOUT = 30.0  # s an HTTP request waits for the executor to act (start sets a tree up)
REQUEST_DEADLINE = 10.0     # s for a request's line, headers and body to arrive, in all
SOCKET_TIMEOUT = 10.0       # s any one read or write may block
BODY_LIMIT = 65536          # bytes of a POST body
CONNECTION_LIMIT = 300      # connections served at once (SSE streams included)


class ViewerError(Exception):
    """The viewer cannot serve (port in use, bad host); the message says which and where."""


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


def served_names(extra=()) -> set:
    """The host names this server answers to: localhost, this machine's names, and ``extra``."""
    names = {"localhost", socket.gethostname(), socket.getfqdn(), *extra}
    return {n.lower().rstrip(".") for n in names if n}


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True       # a browser holding a stream open must not keep the process alive
    request_queue_size = 64

    def __init__(self, *args, **kwargs):
        self.connections = threading.BoundedSemaphore(CONNECTION_LIMIT)
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address):
        if not self.connections.acquire(blocking=False):
            try:        # too many at once: say so and close, without a thread
                request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.connections.release()


class _Server6(_Server):
    address_family = socket.AF_INET6


class ViewerServer:
    """Binds at once (so a taken port is reported before anything else starts); ``start()``
    serves on a daemon thread. ``hub`` is a viewer.hub.Hub, ``control`` a Control or None."""

    def __init__(self, hub, log_dir, host: str = "127.0.0.1", port: int = 8765, control=None, missions=None,
                 allowed_hosts=(), token=None):
        self.hub, self.log_dir, self.control = hub, pathlib.Path(log_dir), control
        self.missions = missions or (lambda: [])
        self.host = host
        self.names = served_names(allowed_hosts)
        # Control from other machines needs a secret; on loopback only this machine's users reach it.
        self.token = token or (None if is_loopback(host) else secrets.token_urlsafe(18))
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise ViewerError(f"viewer: port must be 0..65535 (0: any free port), got {port!r}")
        try:
            cls = _Server6 if ":" in host else _Server
            self._http = cls((host, port), _handler_for(self))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ViewerError(f"viewer: port {port} on {host} is already in use "
                                  "(choose another with --port, or 0 for any free port)") from None
            raise ViewerError(f"viewer: cannot listen on {host} port {port}: {exc.strerror or exc}") from None
        self.port = self._http.server_address[1]
        self._thread = None

    @property
    def url(self) -> str:
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        return f"http://[{host}]:{self.port}/" if ":" in host else f"http://{host}:{self.port}/"

    @property
    def page_url(self) -> str:
        """The page's address with the control token (when control needs one) in its fragment,
        which browsers never send: print it, never log it to ROS (/rosout is on the network)."""
        return self.url + (f"#token={self.token}" if self.token and self.control is not None else "")

    def start(self):
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="viewer-http", daemon=True)
        self._thread.start()
        return self

    def close(self):
        self.hub.close()                # ends every SSE loop
        if self._thread is not None:
            self._http.shutdown()
        self._http.server_close()


def _handler_for(viewer: ViewerServer):
    class Handler(_Handler):
        pass
    Handler.viewer = viewer
    return Handler


class _Handler(http.server.BaseHTTPRequestHandler):
    viewer = None
    server_version = "mission-viewer"
    timeout = SOCKET_TIMEOUT        # StreamRequestHandler sets it on the socket: no read blocks longer

    def log_message(self, *args):       # no line per request on the executive's stderr
        pass

    # -- a deadline for the whole request ----------------------------------------------------
    def handle(self):
        # However slowly its bytes come, a request not complete by the deadline is cut off.
        self._watchdog = threading.Timer(REQUEST_DEADLINE, self._expire)
        self._watchdog.daemon = True
        self._watchdog.start()
        try:
            super().handle()
        finally:
            self._watchdog.cancel()

    def _expire(self):
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _received(self):
        """The request is in: from now on only SOCKET_TIMEOUT applies (SSE streams stay open)."""
        self._watchdog.cancel()

    # -- answers ----------------------------------------------------------------------------
    def _send(self, code: int, body: bytes, content_type: str):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, value):
        body = value.encode() if isinstance(value, str) else json.dumps(value, default=str).encode()
        self._send(code, body, "application/json")

    def _refusal(self):
        """(code, message) when the request's Host or Origin is not this server's, else None."""
        host = self.headers.get("Host", "")
        name = (urllib.parse.urlsplit(f"//{host}").hostname or "").rstrip(".")
        if not name or not (is_address(name) or name.lower() in self.viewer.names):
            return 403, f"unexpected Host header {host!r} (this viewer answers to its addresses and " \
                        f"{', '.join(sorted(self.viewer.names))}; add names with --allow-host)"
        origin = self.headers.get("Origin")
        if origin is not None and urllib.parse.urlsplit(origin).netloc.lower() != host.lower():
            return 403, f"requests from {origin} are not allowed"
        return None

    # -- GET --------------------------------------------------------------------------------
    def do_GET(self):
        self._received()
        refused = self._refusal()
        if refused:
            return self._json(refused[0], {"ok": False, "message": refused[1]})
        path = urllib.parse.urlsplit(self.path).path
        viewer = self.viewer
        if path in FILES:
            name, content_type = FILES[path]
            return self._send(200, (STATIC / name).read_bytes(), f"{content_type}; charset=utf-8")
        if path == "/api/config":
            live = json.loads(viewer.hub.state_json).get("live", False)
            control = viewer.control is not None
            return self._json(200, dict(live=live, control=control, token_required=control and bool(viewer.token),
                                        missions=viewer.missions() if control else []))
        if path == "/api/state":
            return self._json(200, viewer.hub.state_json)
        if path == "/api/stream":
            return self._stream()
        if path == "/api/runs":
            return self._json(200, logs.list_runs(viewer.log_dir))
        if path.startswith("/api/runs/"):
            run_id = urllib.parse.unquote(path[len("/api/runs/"):])
            try:
                events = logs.run_events(viewer.log_dir, run_id)
            except (OSError, ValueError) as exc:
                return self._json(422, {"ok": False, "message": str(exc)})
            if events is None:
                return self._json(404, {"ok": False, "message": f"no run {run_id!r} in {viewer.log_dir}"})
            return self._json(200, {"run_id": run_id, "events": events})
        return self._json(404, {"ok": False, "message": f"nothing at {path}"})

    def _not_allowed(self):
        self._received()
        self._json(405, {"ok": False, "message": f"{self.command} is not supported"})

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _not_allowed

    def _stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        hub = self.viewer.hub
        version, run_id, sent = -1, None, 0
        hub.watch(+1)
        try:
            while not hub.closed:
                now, state_json, now_run, events = hub.wait(version, KEEPALIVE)
                if now == version:
                    self.wfile.write(b": keepalive\n\n")
                    self.wfile.flush()
                    continue
                version = now
                if now_run != run_id:
                    run_id, sent = now_run, 0
                new, sent = events[sent:len(events)], len(events)
                # The log first: the state that follows already reflects every event sent before it.
                out = f'event: log\ndata: {{"run_id": {json.dumps(run_id)}, "events": [{",".join(new)}]}}\n\n' \
                    if new else ""
                out += f"event: state\ndata: {state_json}\n\n"
                self.wfile.write(out.encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            return                          # the page went away
        finally:
            hub.watch(-1)

    # -- POST -------------------------------------------------------------------------------
    def _body(self):
        """The POST body as a dict, or (code, message) refusing it; read only when its length is sound."""
        if self.headers.get("Transfer-Encoding"):
            return 501, "Transfer-Encoding is not supported; send a Content-Length"
        length = self.headers.get("Content-Length")
        if length is None:
            return 411, "a Content-Length is needed"
        if not length.strip().isdigit():
            return 400, f"bad Content-Length {length!r}"
        length = int(length)
        if length > BODY_LIMIT:
            return 413, f"the body is larger than {BODY_LIMIT} bytes"
        if self.headers.get_content_type() != "application/json":
            return 415, "send JSON (Content-Type: application/json)"
        data = self.rfile.read(length)
        if len(data) < length:
            return 400, "the body ended before its Content-Length"
        try:
            body = json.loads(data or b"{}")
        except ValueError as exc:
            return 400, f"bad request body: {exc}"
        return body if isinstance(body, dict) else (400, "bad request body: expected a JSON object")

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        refused = self._refusal()
        if refused:
            self._received()
            return self._json(refused[0], {"ok": False, "message": refused[1]})
        body = self._body()         # still under the request's deadline
        self._received()
        if isinstance(body, tuple):
            return self._json(body[0], {"ok": False, "message": body[1]})
        if path not in ("/api/cancel", "/api/start"):
            return self._json(404, {"ok": False, "message": f"nothing at {path}"})
        control = self.viewer.control
        if control is None:
            return self._json(403, {"ok": False, "message": "control is not allowed (start the viewer with "
                                                            "--allow-control / viewer_allow_control:=true)"})
        token = self.viewer.token
        given = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if token and not hmac.compare_digest(given.encode(), token.encode()):
            return self._json(401, {"ok": False, "message": "control from the network needs the token the viewer "
                                                            "printed when it started (open the page with #token=...)"})
        if path == "/api/cancel":
            code, answer = control.submit("cancel", {}, CONTROL_TIMEOUT)
        else:
            parameters = body.get("parameters") or []
            if isinstance(parameters, str):
                parameters = [p.strip() for p in parameters.replace("\n", ",").split(",") if p.strip()]
            if not isinstance(body.get("mission"), str) or not all(isinstance(p, str) for p in parameters):
                return self._json(400, {"ok": False, "message": "expected {mission: name, parameters: [name=value]}"})
            code, answer = control.submit("start", {"mission": body["mission"], "parameters": parameters},
                                          CONTROL_TIMEOUT)
        return self._json(code, answer)
