"""Why a behaviour failed: one record type shared by every leaf, decorator and the executive.

Leaves set ``self.failure`` when they return FAILURE; :func:`failure_of` finds the failure that
explains a failed subtree, so a retry decorator can decide whether to retry and the executive can
report 'navigate: aborted (error 9000: goal blocked)'.
"""
from dataclasses import asdict, dataclass
from typing import Optional

import py_trees

# Reasons, as recorded in Failure.reason.
SERVER_UNAVAILABLE = "server_unavailable"  # no server within the wait timeout
REJECTED = "rejected"                      # the server refused the goal
ABORTED = "aborted"                        # the server aborted the goal
CANCELED = "canceled"                      # the goal was cancelled by someone else
TIMEOUT = "timeout"                        # the goal or call took longer than allowed
SERVER_LOST = "server_lost"                # the server vanished while the goal ran
RESULT_CHECK = "result_check"              # succeeded, but the result failed its check
RESPONSE = "response"                      # a service answered with failure
INVALID_GOAL = "invalid_goal"              # the goal could not be built (missing blackboard key)
CONDITION = "condition"                    # a condition evaluated false

REASONS = (SERVER_UNAVAILABLE, REJECTED, ABORTED, CANCELED, TIMEOUT, SERVER_LOST, RESULT_CHECK, RESPONSE,
           INVALID_GOAL, CONDITION)


@dataclass
class Failure:
    reason: str
    message: str
    status: Optional[str] = None       # the goal's final status name, for actions
    error_code: Optional[int] = None   # the result's error code, when it has one

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self):
        code = f" (error {self.error_code})" if self.error_code not in (None, 0) else ""
        return f"{self.reason}{code}: {self.message}"


def failure_of(behaviour: py_trees.behaviour.Behaviour):
    """The (behaviour, Failure) that explains why ``behaviour`` failed.

    Follows failed children down to the deepest one that recorded a failure; among several failed
    children (a fallback whose every option failed) the last one tried explains it. Where no
    failure was recorded below (an ``invert`` whose child succeeded), it is the deepest failed
    behaviour, with None: its feedback message says why.
    """
    unexplained = None
    for child in reversed(behaviour.children):
        if child.status == py_trees.common.Status.FAILURE:
            deeper = failure_of(child)
            if deeper[1] is not None:
                return deeper
            unexplained = unexplained or deeper
    own = getattr(behaviour, "failure", None)
    if own is not None or unexplained is None:
        return behaviour, own
    return unexplained
