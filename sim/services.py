"""Simulated services: ``health_check`` (std_srvs/Trigger) and ``calibrate`` (std_srvs/SetBool).

health_check answers success when every component is healthy; the message lists each component
("lidar: ok; camera: FAULT"). Components are made unhealthy at runtime with the parameter
``health.unhealthy`` (a list of component names).

calibrate(true) takes ``calibration.duration`` simulated seconds and fails with probability
``calibration.failure_probability`` (seeded); calibrate(false) resets the calibration at once.
Both servers honour the service fault knobs of :class:`sim.faults.ServiceFaults`: ``response_delay``,
``fail_all`` and ``exit_after_calls`` (the process dies, code 17, when the Nth call's answer is due).
``status()`` counts calls per service and ``in_flight``, the calls not yet answered.
"""
from collections import Counter

from rcl_interfaces.msg import ParameterDescriptor
from std_srvs.srv import SetBool, Trigger

from sim.actions import injected_exit


async def service_faults(faults, clock, name: str, ordinal: int) -> str:
    """Apply a service's fault knobs (:class:`sim.faults.ServiceFaults`) to its call number
    ``ordinal``, which just arrived: wait ``response_delay``, exit at ``exit_after_calls``; return
    a failure message when ``fail_all`` is set, else ""."""
    if faults.response_delay > 0:
        await clock.sleep(faults.response_delay)
    if 0 < faults.exit_after_calls <= ordinal:
        injected_exit(f"{name}: exiting with call {ordinal} unanswered")
    return "injected fault: fail_all" if faults.fail_all else ""


class SimServices:
    def __init__(self, node, config, clock, faults_for):
        self.node = node
        self.clock = clock
        self.components = list(config["health"]["components"])
        self.calibration = config["calibration"]
        self.calibrated = False
        self.in_flight = 0
        self.counts = Counter()
        node.declare_parameter("health.unhealthy", list(config["health"].get("unhealthy") or [""]),
                               ParameterDescriptor(description="components reported unhealthy", dynamic_typing=True))
        node.declare_parameter("calibration.failure_probability", float(self.calibration["failure_probability"]),
                               ParameterDescriptor(dynamic_typing=True))
        self.faults = {"health_check": faults_for("health_check", "service"),
                       "calibrate": faults_for("calibrate", "service")}
        node.create_service(Trigger, "health_check", self._health_check, callback_group=clock.group)
        node.create_service(SetBool, "calibrate", self._calibrate, callback_group=clock.group)

    def status(self) -> dict:
        return {"in_flight": self.in_flight, "calibrated": self.calibrated, **self.counts}

    async def _faulted(self, name):
        """Apply ``name``'s fault knobs to the call that just arrived; return a failure message
        when ``fail_all`` is set."""
        return await service_faults(self.faults[name], self.clock, name, self.counts[name])

    async def _health_check(self, request, response):
        self.counts["health_check"] += 1
        self.in_flight += 1
        try:
            failure = await self._faulted("health_check")
            unhealthy = {c for c in self.node.get_parameter("health.unhealthy").value if c}
            response.success = not failure and not (unhealthy & set(self.components))
            response.message = failure or "; ".join(
                f"{c}: {'FAULT' if c in unhealthy else 'ok'}" for c in self.components)
            return response
        finally:
            self.in_flight -= 1

    async def _calibrate(self, request, response):
        self.counts["calibrate"] += 1
        self.in_flight += 1
        try:
            failure = await self._faulted("calibrate")
            if failure:
                response.success, response.message = False, failure
            elif not request.data:
                self.calibrated = False
                response.success, response.message = True, "calibration reset"
            else:
                await self.clock.sleep(float(self.calibration["duration"]))
                p = self.node.get_parameter("calibration.failure_probability").value
                ok = not (p > 0 and self.faults["calibrate"].rng.random() < p)
                self.calibrated = ok
                response.success = ok
                response.message = "calibrated" if ok else f"calibration failed (failure probability {p:g})"
            return response
        finally:
            self.in_flight -= 1
