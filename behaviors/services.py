"""Service leaves: one generic behaviour for any ROS 2 service type, and health check / calibrate.

Status of :class:`ServiceClient`:

============================================  ==========  ===================
situation                                     status      failure.reason
============================================  ==========  ===================
waiting for the service (up to server_timeout)  RUNNING
no service within ``server_timeout``          FAILURE     server_unavailable
a request blackboard key is missing           FAILURE     invalid_goal
called, no response yet                       RUNNING
the service left the graph while called       FAILURE     server_lost
no response within ``call_timeout``           FAILURE     timeout
response passes ``success_check``             SUCCESS
response fails ``success_check``              FAILURE     response
============================================  ==========  ===================

``success_check`` defaults to ``success == True`` (std_srvs Trigger and SetBool); None accepts any
response. A leaf stopped while its call is pending forgets the call (a service call cannot be
cancelled on the server). Ticking it again after it finished makes a new call. While a call is
pending, the leaf checks every ``server_check_period`` that the service is still in the graph, as
action leaves do: a server killed mid-call is ``server_lost`` within its DDS lease (3 s with the
package's Fast DDS profile), not a ``timeout`` after the whole call timeout.

Events for a host's log (see :mod:`behaviors.leaf`): ``call_sent``, ``response`` and ``call_abandoned``.
"""
import time

from py_trees.common import Status

from behaviors import failures
from behaviors.leaf import RemoteLeaf
from executive.language.expressions import compile_check

SUCCESS_FIELD = compile_check("success == true", subject="response")


class ServiceClient(RemoteLeaf):
    """Call a service of any type once and report the outcome (see the module's table).

    Args:
        name: behaviour name
        service_type: generated service class, or a type string ``pkg/srv/Name``
        service_name: the service's name (relative names resolve against the node's namespace)
        request: constant request fields, dict of (dotted) field paths to values
        request_from_blackboard: request field path -> blackboard key
        server_timeout: seconds to wait for the service to appear
        call_timeout: seconds to wait for the response
        success_check: a :class:`~executive.language.expressions.Check` of the response (``subject``
            ``response``) deciding success
        response_key, failure_key: blackboard keys for the response (message) and the failure (dict)
        server_check_period: seconds between checks, while a call is pending, that the service exists
    """

    KIND = "srv"

    def __init__(self, name, service_type, service_name, request=None, request_from_blackboard=None,
                 server_timeout=5.0, call_timeout=10.0, success_check=SUCCESS_FIELD,
                 response_key=None, failure_key=None, server_check_period=0.5):
        super().__init__(name, service_type, service_name, request, request_from_blackboard, server_timeout,
                         {"response": response_key, "failure": failure_key})
        self.call_timeout = float(call_timeout)
        self.success_check = success_check
        self.server_check_period = server_check_period
        self._next_server_check = 0.0
        self._future = None
        self._called_at = 0.0
        self.response = None

    @staticmethod
    def request_of(service_type, request=None, request_from_blackboard=None, **_):
        """(interface type, constant request fields, field -> blackboard key) that a leaf made
        with these arguments sends: validation checks them without making the leaf."""
        return service_type, dict(request or {}), dict(request_from_blackboard or {})

    def _new_request(self):
        return self.interface_type.Request()

    def _create_client(self):
        return self.node.create_client(self.interface_type, self.remote_name)

    def _server_ready(self):
        return self.client.service_is_ready()

    def initialise(self):
        super().initialise()
        self._future = None
        self.response = None

    def update(self):
        if self._future is None:
            waiting = self._await_server()
            if waiting is not None:
                return waiting
            request = self._build_request()
            if request is None:
                return Status.FAILURE
            self._future = self.client.call_async(request)
            self._future.add_done_callback(lambda _: self._wake())
            self._called_at = time.monotonic()
            self._next_server_check = self._called_at + self.server_check_period
            self._event("call_sent", service=self.resolved_name())
            self.feedback_message = "called"
            return Status.RUNNING
        if not self._future.done():
            now = time.monotonic()
            if now >= self._next_server_check:
                self._next_server_check = now + self.server_check_period
                if not self.client.service_is_ready():
                    return self._fail(failures.SERVER_LOST, f"service {self.resolved_name()} left the graph "
                                                            "while the call was pending")
            if now - self._called_at <= self.call_timeout:
                return Status.RUNNING
            return self._fail(failures.TIMEOUT, f"{self.resolved_name()} did not answer within {self.call_timeout:g} s")
        self.response = self._future.result()
        self._write("response", self.response)
        message = getattr(self.response, "message", "")
        self._event("response", seconds=round(time.monotonic() - self._called_at, 4),
                    success=getattr(self.response, "success", None), message=message)
        if self.success_check is None or self.success_check.holds(self.response):
            self.feedback_message = message or "succeeded"
            return Status.SUCCESS
        return self._fail(failures.RESPONSE, message or self.success_check.describe(self.response))

    def terminate(self, new_status):
        if self._future is not None and not self._future.done():
            self.client.remove_pending_request(self._future)
            self._event("call_abandoned")
        self._future = None


class HealthCheck(ServiceClient):
    """Call the robot's ``health_check`` (std_srvs/Trigger): SUCCESS when it reports healthy."""

    def __init__(self, name, service_name="health_check", **kwargs):
        super().__init__(name, "std_srvs/srv/Trigger", service_name, **kwargs)

    @staticmethod
    def request_of(**_):
        return "std_srvs/srv/Trigger", {}, {}


class Calibrate(ServiceClient):
    """Call ``calibrate`` (std_srvs/SetBool) with data=true, or data=false with ``reset=True``."""

    def __init__(self, name, reset=False, service_name="calibrate", **kwargs):
        kwargs.setdefault("call_timeout", 30.0)
        super().__init__(name, "std_srvs/srv/SetBool", service_name, request=self.request_of(reset)[1], **kwargs)

    @staticmethod
    def request_of(reset=False, **_):
        return "std_srvs/srv/SetBool", {"data": not reset}, {}
