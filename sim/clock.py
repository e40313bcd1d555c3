"""Simulated time for the sim servers: scaled durations and non-blocking sleeps.

All durations in the sim's config are *simulated* seconds; with ``--time-scale K`` one wall
second is K simulated seconds, so tests can run long motions fast.
"""
import time

from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.task import Future


class SimClock:
    def __init__(self, node, time_scale: float = 1.0):
        if time_scale <= 0:
            raise ValueError(f"time scale must be positive, got {time_scale}")
        self._node = node
        self.time_scale = time_scale
        # A callback awaiting sleep() holds its own callback group until it returns; the wake-up
        # timer must be free to run meanwhile, and so must other callbacks of servers that sleep.
        self.group = ReentrantCallbackGroup()

    def to_wall(self, sim_seconds: float) -> float:
        return sim_seconds / self.time_scale

    async def sleep_wall(self, seconds: float) -> None:
        """Yield to the executor for ``seconds`` of wall time without blocking it."""
        if seconds <= 0:
            return
        done = Future()
        timer = None

        def fire():
            timer.cancel()
            done.set_result(None)

        timer = self._node.create_timer(seconds, fire, callback_group=self.group)
        try:
            await done
        finally:
            self._node.destroy_timer(timer)

    async def sleep(self, sim_seconds: float) -> None:
        await self.sleep_wall(self.to_wall(sim_seconds))

    @staticmethod
    def monotonic() -> float:
        return time.monotonic()
