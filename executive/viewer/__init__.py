"""The browser viewer: a live page for a running executive, and replay of finished runs' logs.

``Viewer(...)`` binds its port at once (a taken port raises ViewerError before anything else
starts); ``attach(executive)`` makes it follow an ExecutiveNode (call it on the executor's thread,
before spinning). ``mission view`` uses a Viewer without an executive: logs only.
"""
from executive import paths
from executive.runlog import default_log_dir
from executive.viewer.hub import Control, Feed, Hub
from executive.viewer.logs import mission_names
from executive.viewer.server import ViewerError, ViewerServer, is_loopback
from executive.viewer.state import idle

__all__ = ["Viewer", "ViewerError", "is_loopback"]

DEFAULT_PORT = 8765


class Viewer:
    """An HTTP server for the page; ``live`` False serves logs only (no executive)."""

    def __init__(self, log_dir=None, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 allow_control: bool = False, live: bool = True, allowed_hosts=(), token=None):
        self.allow_control = allow_control
        self.hub = Hub(idle() if live else dict(live=False, state="offline", nodes=[], run_id=""))
        self.server = ViewerServer(self.hub, log_dir or default_log_dir(), host, port, allowed_hosts=allowed_hosts,
                                   token=token)

    @property
    def url(self) -> str:
        """The page's address (safe to log)."""
        return self.server.url

    @property
    def page_url(self) -> str:
        """The address to open: with ``#token=`` when control from the network needs it (print it
        to the operator's terminal; never log it to ROS)."""
        return self.server.page_url

    def attach(self, executive):
        """Follow ``executive`` (an ExecutiveNode); with control allowed, let the page cancel and
        start missions on it. Reads the node's parameters here, never from the HTTP threads."""
        executive.listeners.append(Feed(self.hub))
        if self.allow_control:
            directories = paths.mission_roots(executive.get_parameter("missions_dir").value,
                                               executive.get_parameter("mission_path").value)
            self.server.missions = lambda: mission_names(*directories)
            self.server.control = Control(executive, self.server.missions)
        return self

    def start(self):
        self.server.start()
        return self

    def close(self):
        self.server.close()
