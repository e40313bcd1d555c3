"""Mission time: seconds that count only while the mission runs, not while it is paused.

A host passes its clock to ``setup(clock=...)``; behaviours that measure a mission's own time
(``wait``, the ``timeout`` decorator, retry backoff) read it through :class:`UsesMissionTime`.
Leaves that wait on a server use the wall clock instead: a goal that keeps driving while the
mission is paused (``pause_cancels_goals: false``) keeps its wall-clock ``goal_timeout``.
"""
import time


class MissionClock:
    """Monotonic seconds, less every span spent paused. Call it for the current time.

    ``spans`` holds each pause as (start, end) in ``time.monotonic()`` seconds; the current pause
    has end None.
    """

    def __init__(self, wall=time.monotonic):
        self._wall = wall
        self._paused_total = 0.0
        self._paused_since = None
        self.spans = []

    def __call__(self) -> float:
        now = self._wall()
        paused = self._paused_total + (now - self._paused_since if self._paused_since is not None else 0.0)
        return now - paused

    @property
    def paused(self) -> bool:
        return self._paused_since is not None

    def pause(self) -> None:
        if self._paused_since is None:
            self._paused_since = self._wall()
            self.spans.append((self._paused_since, None))

    def resume(self) -> float:
        """End the current pause; returns its length in seconds (0 when not paused)."""
        if self._paused_since is None:
            return 0.0
        now = self._wall()
        span = now - self._paused_since
        self._paused_total += span
        self.spans[-1] = (self._paused_since, now)
        self._paused_since = None
        return span

    def paused_seconds(self) -> float:
        """Seconds spent paused so far (the current pause included)."""
        return self._wall() - self() if self.spans else 0.0


class UsesMissionTime:
    """Mixin for behaviours that count mission time: ``self.clock()`` is the host's
    :class:`MissionClock` once ``setup(clock=...)`` ran, ``time.monotonic`` before (or without).
    ``wake_in(seconds)`` asks the host (``setup(wake_at=...)``) to tick the behaviour when that much
    mission time has passed, so a wait, a timeout or a backoff ends then, not at a later tick."""

    clock = staticmethod(time.monotonic)
    _wake_at = staticmethod(lambda deadline: None)

    def setup(self, **kwargs):
        if kwargs.get("clock") is not None:
            self.clock = kwargs["clock"]
        if kwargs.get("wake_at") is not None:
            self._wake_at = kwargs["wake_at"]
        super().setup(**kwargs)

    def wake_in(self, seconds: float):
        # Mission time runs at wall speed while the mission runs (a paused mission is not ticked).
        self._wake_at(time.monotonic() + seconds)
