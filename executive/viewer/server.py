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
"""
import errno
import http.server
import ipaddress
import json
import pathlib
import socket
import threading
import urllib.parse

from executive.viewer import logs

STATIC = pathlib.Path(__file__).resolve().parent / "static"
FILES = {"/": ("index.html", "text/html"), "/index.html": ("index.html", "text/html"),
         "/viewer.js": ("viewer.js", "text/javascript"), "/viewer.css": ("viewer.css", "text/css")}
KEEPALIVE = 15.0        # s between SSE comments on a quiet stream (proxies and dead clients)
CONTROL_TIMEOUT = 30.0  # s an HTTP request waits for the executor to act (start sets a tree up)
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


class ViewerError(Exception):
    """The viewer cannot serve (port in use, bad host); the message says which and where."""


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True       # a browser holding a stream open must not keep the process alive


class _Server6(_Server):
    address_family = socket.AF_INET6


class ViewerServer:
    """Binds at once (so a taken port is reported before anything else starts); ``start()``
    serves on a daemon thread. ``hub`` is a viewer.hub.Hub, ``control`` a Control or None."""

    def __init__(self, hub, log_dir, host: str = "127.0.0.1", port: int = 8765, control=None, missions=None):
        self.hub, self.log_dir, self.control = hub, pathlib.Path(log_dir), control
        self.missions = missions or (lambda: [])
        self.host = host
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

    def log_message(self, *args):       # no line per request on the executive's stderr
        pass

    # -- answers ----------------------------------------------------------------------------
    def _send(self, code: int, body: bytes, content_type: str):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, value):
        body = value.encode() if isinstance(value, str) else json.dumps(value, default=str).encode()
        self._send(code, body, "application/json")

    def _allowed_host(self) -> bool:
        """Refuse a Host header naming another site while bound to loopback: a page elsewhere
        could otherwise reach this server through DNS rebinding."""
        if not is_loopback(self.viewer.host):
            return True
        name = urllib.parse.urlsplit(f"//{self.headers.get('Host', '')}").hostname or ""
        return name in LOOPBACK_NAMES

    # -- GET --------------------------------------------------------------------------------
    def do_GET(self):
        if not self._allowed_host():
            return self._json(403, {"ok": False, "message": "unexpected Host header"})
        path = urllib.parse.urlsplit(self.path).path
        viewer = self.viewer
        if path in FILES:
            name, content_type = FILES[path]
            return self._send(200, (STATIC / name).read_bytes(), f"{content_type}; charset=utf-8")
        if path == "/api/config":
            live = json.loads(viewer.hub.state_json).get("live", False)
            return self._json(200, dict(live=live, control=viewer.control is not None,
                                        missions=viewer.missions() if viewer.control is not None else []))
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
    def do_POST(self):
        if not self._allowed_host():
            return self._json(403, {"ok": False, "message": "unexpected Host header"})
        path = urllib.parse.urlsplit(self.path).path
        if path not in ("/api/cancel", "/api/start"):
            return self._json(404, {"ok": False, "message": f"nothing at {path}"})
        control = self.viewer.control
        if control is None:
            return self._json(403, {"ok": False, "message": "control is not allowed (start the viewer with "
                                                            "--allow-control / viewer_allow_control:=true)"})
        # A form on another site can post text/plain across origins without asking; JSON cannot
        # (the browser asks first, and nothing here says yes), and a browser always names its Origin.
        origin = self.headers.get("Origin")
        if origin and urllib.parse.urlsplit(origin).netloc != self.headers.get("Host"):
            return self._json(403, {"ok": False, "message": f"requests from {origin} are not allowed"})
        if self.headers.get_content_type() != "application/json":
            return self._json(415, {"ok": False, "message": "send JSON (Content-Type: application/json)"})
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(min(length, 65536)) or b"{}")
            if not isinstance(body, dict):
                raise ValueError("expected a JSON object")
        except ValueError as exc:
            return self._json(400, {"ok": False, "message": f"bad request body: {exc}"})
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
