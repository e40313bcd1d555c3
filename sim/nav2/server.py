"""What every Nav2 action server of the sim shares: lifecycle gating and Nav2's way of failing.

Nav2's servers accept any goal while their node is active and reject every goal otherwise; a goal
they cannot serve (a pose in an unknown frame, outside the map, an unknown plugin id, a timeout)
is accepted and then ABORTED with the result's ``error_code`` (a constant of the action's
Result, e.g. ``ComputePathToPose.Result.GOAL_OUTSIDE_MAP``) and ``error_msg``. The stand-ins do
the same; the sim's fault knobs (``reject_all``, ``abort_after``, ...) come on top, named by the
server (``spin.abort_after``), and a goal they abort, or one preempted by a newer goal, ends with
``UNKNOWN``. A canceled goal ends CANCELED with ``NONE``.
"""
from sim.actions import Motion, Resource, SimActionServer
from sim.navigation import to_duration


class GoalFailed(Exception):
    """Raised while starting a goal Nav2 would fail: ``error`` names the Result constant (or is
    another interface's code, an int)."""

    def __init__(self, error, message: str):
        super().__init__(message)
        self.error, self.message = error, message


class Nav2Motion(Motion):
    """One goal of a Nav2 stand-in: a motion model (sim/nav2/motion.py) plus how this server's
    feedback and result carry it. ``time_allowance`` (simulated seconds; 0: none) ends the goal
    ABORTED with TIMEOUT once exceeded, as Nav2's behaviours do.

    Subclasses set ``self.model`` and override :meth:`fill_feedback` / :meth:`fill_result`."""

    timeout_error = "TIMEOUT"

    def __init__(self, server, goal, time_allowance: float = 0.0):
        self.server = server
        self.goal = goal
        self.time_allowance = time_allowance
        self.elapsed = 0.0
        self.error = ""
        self.model = None

    def fail(self, error: str, message: str):
        self.error, self.failure = error, message

    def step(self, dt):
        if self.failure:
            return False
        self.elapsed += dt
        if self.time_allowance > 0 and self.elapsed > self.time_allowance:
            self.fail(self.timeout_error, f"exceeded the time allowance of {self.time_allowance:g} s")
            return False
        done = self.model.step(dt)
        if self.model.failure:
            self.fail(self.model.error, self.model.failure)
            return False
        return done

    def feedback(self):
        return self.fill_feedback(self.server.action_type.Feedback())

    def fill_feedback(self, feedback):
        return feedback

    def result(self, outcome, message):
        result_type = self.server.action_type.Result
        res = result_type()
        fields = res.get_fields_and_field_types()
        if outcome != "succeeded" and "error_code" in fields:
            error = self.error or ("NONE" if outcome == "canceled" else "UNKNOWN")
            # a name of this Result's constants, or a code of another server's (a navigator
            # reports its planner's GOAL_OUTSIDE_MAP, as Nav2's BT navigator does)
            res.error_code = error if isinstance(error, int) else getattr(result_type, error)
            res.error_msg = message
        if "success" in fields:
            res.success = outcome == "succeeded"
        for name in ("total_elapsed_time", "navigation_time"):
            if name in fields:
                setattr(res, name, to_duration(self.elapsed))
        return self.fill_result(res, outcome)

    def fill_result(self, result, outcome):
        return result


class Failed(Nav2Motion):
    """A goal that fails at its first step (see :class:`GoalFailed`)."""

    def __init__(self, server, goal, error: GoalFailed):
        super().__init__(server, goal)
        self.fail(error.error, error.message)


class Nav2ActionServer(SimActionServer):
    """One Nav2 action server on its stand-in node ``node_name``. ``motion``: a Nav2Motion class,
    built as ``motion(server, goal)`` for each accepted goal (it may raise GoalFailed).
    ``resource``: the base for servers that move it; by default a resource of the server's own,
    so that a new goal preempts only this server's previous goal (a planner's, the route
    tracker's)."""

    def __init__(self, stack, node_name: str, action_type, name: str, motion, resource=None):
        self.stack = stack
        self.action_type = action_type
        self.motion = motion
        self.stand_in = stack.nodes[node_name]
        super().__init__(self.stand_in, action_type, name, resource or Resource(name, None), stack.clock,
                         stack.faults_for(name), stack.base.rate)

    @property
    def base(self):
        return self.stack.base

    def validate(self, goal):
        if not self.stand_in.active:
            return f"{self.stand_in.get_name()} is {self.stand_in.state}, not active"
        return ""

    def start(self, goal):
        try:
            return self.motion(self, goal)
        except GoalFailed as error:
            return Failed(self, goal, error)
