"""The plugins' behaviours, py_trees classes built as ``Class(name, **fields)``."""
import py_trees
from py_trees.common import Access, Status

from behaviors.actions import ActionClient
from behaviors.failures import CONDITION, Failure
from executive.language.expressions import compile_check

CHARGED = compile_check("success == true", subject="result")


class Charge(ActionClient):
    """Send one Charge goal (mission_example_interfaces/action/Charge) with ``target``: the
    statuses of :class:`behaviors.actions.ActionClient`; SUCCESS when the result says success."""

    def __init__(self, name, target, action, type, server_timeout, timeout=None, result=None):
        super().__init__(name, type, action, goal={"target": float(target)}, server_timeout=server_timeout,
                         goal_timeout=timeout, result_check=CHARGED, result_key=result,
                         feedback_format="{percentage:.2f} charged")


class EstimateRange(py_trees.behaviour.Behaviour):
    """Write ``battery``'s charge times ``metres_per_charge`` at ``key``.

    SUCCESS once written; FAILURE (reason ``condition``) when the battery record is missing or
    stale. Never RUNNING."""

    def __init__(self, name, battery, metres_per_charge, key):
        super().__init__(name)
        self.battery, self.metres_per_charge, self.key = battery, float(metres_per_charge), key
        self.blackboard = self.attach_blackboard_client(name=name)
        self.blackboard.register_key(key=f"/{battery.lstrip('/')}", access=Access.READ)
        self.blackboard.register_key(key=f"/{key.lstrip('/')}", access=Access.WRITE)
        self.failure = None

    def update(self):
        self.failure = None
        record = self.blackboard.get(f"/{self.battery.lstrip('/')}") if \
            self.blackboard.exists(f"/{self.battery.lstrip('/')}") else None
        if not record or not record.get("fresh"):
            self.failure = Failure(CONDITION, f"no fresh battery data at {self.battery}")
            self.feedback_message = self.failure.message
            return Status.FAILURE
        metres = float(record["data"].percentage) * self.metres_per_charge
        self.blackboard.set(f"/{self.key.lstrip('/')}", metres, overwrite=True)
        self.feedback_message = f"{metres:.0f} m left"
        return Status.SUCCESS
