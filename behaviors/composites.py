"""Control nodes as BehaviorTree.CPP v4 defines them, SKIPPED included, on py_trees' composites.

BT.CPP has a fifth status, SKIPPED: a node whose pre-condition (``_skipIf``, ``_while``) kept it
from running. For its parent a skipped child is neither success nor failure: a Sequence or
Fallback moves past it, and one whose children were all skipped is skipped itself. py_trees has
no such status, so a skipped behaviour here ends with status SUCCESS and ``skipped = True`` (the
run shows it as SKIPPED, executive/run.py); every control node and decorator of this module, and
:class:`Sequence`/:class:`Fallback` that the mission language compiles to, reads ``skipped`` first.

Each ``step()`` is a port of the BT.CPP node's ``tick()`` (``src/controls/*.cpp`` of BT.CPP 4.8,
checked against the real library in test/test_btcpp_import.py); children are ticked with
``yield from tick_child(child)``, so the tree's visitors see them in tick order. Children that
ended are reset when their parent starts again (as py_trees does); BT.CPP resets them when the
parent ends, which no node can tell apart: a child that is not RUNNING is idle to its parent.
"""
import py_trees
from py_trees.common import Status

SKIPPED = "SKIPPED"     # BT.CPP's NodeStatus::SKIPPED, as a step() returns it


def outcome(behaviour):
    """What ``behaviour`` returned to its parent in its last tick: SKIPPED or its status."""
    return SKIPPED if getattr(behaviour, "skipped", False) else behaviour.status


def idle(behaviour) -> bool:
    """BT.CPP's IDLE: never run since its parent last reset it (INVALID), or skipped. A behaviour
    that ended keeps its SUCCESS or FAILURE until then, and a parent may tick it again meanwhile
    (WhileDoElse ticks its condition every tick): it is not idle, so it does not start afresh."""
    return behaviour.status == Status.INVALID or getattr(behaviour, "skipped", False)


def tick_child(child):
    """Tick ``child`` (a generator of the behaviours ticked); returns its :func:`outcome`. A parent
    that follows which children it ticked (see ``Ported.tick``) is told."""
    yield from child.tick()
    ticked = getattr(child.parent, "_ticked_now", None)
    if ticked is not None:
        ticked.append(child)
    return outcome(child)


def halt(child):
    """BT.CPP's haltChild: a running child is halted (stopped with INVALID); others keep their end."""
    if child.status == Status.RUNNING:
        child.stop(Status.INVALID)


def reset(children):
    """Start children afresh, as py_trees' composites do when they start: every one not INVALID
    is stopped with INVALID."""
    for child in children:
        if child.status != Status.INVALID:
            child.stop(Status.INVALID)
        child.skipped = False


def forget(children):
    """BT.CPP's resetChild/resetChildren while a node runs on: a running child is halted; one that
    ended is idle again. A node of BT.CPP's (this module's and :mod:`behaviors.btcpp`'s) becomes
    INVALID without being stopped (BT.CPP's resetStatus halts nothing); other behaviours keep their
    end, as py_trees leaves them (a tick starts them afresh anyway, and :class:`Refresh
    <behaviors.decorators.Refresh>` keeps its record across ticks)."""
    for child in children:
        if child.status == Status.RUNNING:
            child.stop(Status.INVALID)
        elif isinstance(child, (Ported, PassesSkipped)) and child.status != Status.INVALID:
            child.status, child.skipped = Status.INVALID, False
            if getattr(child, "same_node", False):     # pre/post conditions and the node they are on
                forget([child.decorated])


def in_order(composite, decisive):
    """BT.CPP's Sequence (``decisive`` FAILURE) or Fallback (SUCCESS), with memory: resume at the
    running child; a child that returns ``decisive`` ends the run with it; one that returns the
    other outcome or is skipped hands on to the next; all skipped is skipped. With ``yields``
    (AsyncSequence, AsyncFallback, SequenceWithMemory) a child that handed on at once ends the
    tick (RUNNING). ``composite._start()`` is the child a new run starts at; ``_ended(index)``
    is told how the run ended (the decisive child's index, or None)."""
    children = composite.children
    other = Status.SUCCESS if decisive == Status.FAILURE else Status.FAILURE
    if composite.status != Status.RUNNING:
        index = composite._start()
        reset(children[index:])
        composite._skips = 0
    else:
        index = children.index(composite.current_child) if composite.current_child in children else 0
    while index < len(children):
        composite.current_child = children[index]
        idle = composite.current_child.status != Status.RUNNING
        result = yield from tick_child(composite.current_child)
        if result == Status.RUNNING:
            return Status.RUNNING
        if result == decisive:
            composite._ended(index)
            return decisive
        composite._skips += result == SKIPPED
        index += 1
        if composite.yields and result == other and idle and index < len(children):
            composite.current_child = children[index]
            return Status.RUNNING       # BT.CPP's wake-up: the next child in the next tick
    composite._ended(None)
    return SKIPPED if composite._skips == len(children) else other


def reactive(composite, decisive):
    """BT.CPP's ReactiveSequence (``decisive`` FAILURE) or ReactiveFallback (SUCCESS): every
    tick from the first child; a child that runs or returns ``decisive`` ends the tick, halting
    the children after it; all skipped is skipped; else the other of SUCCESS and FAILURE."""
    all_skipped = True
    if composite.status != Status.RUNNING:
        reset(composite.children)
    for index, child in enumerate(composite.children):
        if child.status != Status.RUNNING:
            forget([child])     # BT.CPP halts the others of a reactive node: each tick finds them idle
        composite.current_child = child
        result = yield from tick_child(child)
        all_skipped = all_skipped and result == SKIPPED
        if result in (Status.RUNNING, decisive):
            for other in composite.children[index + 1:]:
                halt(other)
            return result
    if all_skipped:
        return SKIPPED
    return Status.SUCCESS if decisive == Status.FAILURE else Status.FAILURE


class Ported:
    """Mixin of a py_trees composite or decorator whose ``step()`` generator is a BT.CPP tick():
    it returns a Status or :data:`SKIPPED`. A skipped node ends with SUCCESS and ``skipped``."""

    skipped = False
    _ticked_now = None      # while a composite ticks: the children it ticked, in order

    def update(self):
        return self.status     # never called: tick() runs step()

    def tick(self):
        if isinstance(self, py_trees.composites.Composite) and not isinstance(self, InOrder):
            self._ticked_now = ticked = []      # filled by tick_child
            result = yield from self.step()
            self._ticked_now = None
            self._point_at_a_child(ticked)
        else:
            result = yield from self.step()
        self.skipped = result == SKIPPED
        status = Status.SUCCESS if self.skipped else result
        if status == Status.RUNNING:
            self.status = status
        else:
            self.stop(status)
        yield self

    def stop(self, new_status=Status.INVALID):
        if new_status == Status.INVALID:
            self.skipped = False
        super().stop(new_status)

    def _point_at_a_child(self, ticked):
        """Point ``current_child`` (what ``tip()`` and the run's live line follow) at a child that
        runs, else one that failed, else the last ticked (``ticked``, in tick order), as py_trees'
        Parallel does."""
        self.current_child = next((c for c in reversed(ticked) if c.status == Status.RUNNING), None) or \
            next((c for c in ticked if c.status == Status.FAILURE), None) or (ticked[-1] if ticked else None)


class PassesSkipped:
    """Mixin of a py_trees decorator (whose tick calls ``update()`` after the child's): a skipped
    child makes the decorator skipped, as BT.CPP's Inverter, ForceSuccess, ForceFailure,
    RetryUntilSuccessful, Repeat and Timeout return their child's SKIPPED."""

    skipped = False

    def update(self):
        self.skipped = getattr(self.decorated, "skipped", False)
        if self.skipped:
            self.feedback_message = ""
            return Status.SUCCESS
        status = super().update()
        if self.decorated.status in (Status.SUCCESS, Status.FAILURE):
            forget([self.decorated])    # BT.CPP's resetChild: its next tick starts it afresh
        return status

    def stop(self, new_status=Status.INVALID):
        if new_status == Status.INVALID:
            self.skipped = False
        super().stop(new_status)


class InOrder(Ported):
    """Mixin of :class:`Sequence` and :class:`Fallback`: children in order, with memory
    (:func:`in_order`) or reactive (:func:`reactive`); ``DECISIVE`` is the outcome of a child
    that ends the run (FAILURE for a sequence, SUCCESS for a fallback)."""

    DECISIVE = Status.FAILURE
    _skips = 0

    def __init__(self, name, memory=True, children=None, yields=False):
        super().__init__(name, memory=memory, children=children)
        self.yields = yields

    def step(self):
        if not self.children:       # nothing to do: a sequence succeeds, a fallback fails
            return Status.SUCCESS if self.DECISIVE == Status.FAILURE else Status.FAILURE
        if not self.memory:
            return (yield from reactive(self, self.DECISIVE))
        return (yield from in_order(self, self.DECISIVE))

    def _start(self) -> int:
        """The child a new run starts at."""
        return 0

    def _ended(self, index):
        """The run ended: with the decisive outcome of child ``index``, or (None) by reaching the end."""
        self.current_child = self.children[0]


class Sequence(InOrder, py_trees.composites.Sequence):
    """BT.CPP's Sequence (``memory=True``: resume at the running child; a failure starts over) or
    ReactiveSequence (``memory=False``: every tick from the first child; a child that runs halts
    the others).

    Status:
        SUCCESS: every child succeeded or was skipped, not all skipped
        FAILURE: a child failed
        RUNNING: a child is running
        skipped: every child was skipped

    ``yields`` (BT.CPP's AsyncSequence): a child that succeeded at once ends the tick (RUNNING);
    the next runs in the next tick.
    """

    DECISIVE = Status.FAILURE


class SequenceWithMemory(Sequence):
    """BT.CPP's SequenceWithMemory: as a Sequence, but after a failure the next run resumes at
    the child that failed (the ones before it are not run again); a halt keeps that place too.
    As in BT.CPP, a child that succeeded at once ends the tick (RUNNING): the next one runs in
    the next tick, so a reactive parent re-checks its conditions in between."""

    def __init__(self, name, children=None):
        super().__init__(name, memory=True, children=children, yields=True)
        self._resume_at = 0

    def _start(self) -> int:
        return self._resume_at

    def _ended(self, index):
        self._resume_at = index or 0
        self.current_child = self.children[self._resume_at]


class Fallback(InOrder, py_trees.composites.Selector):
    """BT.CPP's Fallback (``memory=True``: resume at the running option) or ReactiveFallback
    (``memory=False``: every tick from the first option).

    Status:
        SUCCESS: a child succeeded
        FAILURE: every child failed or was skipped, not all skipped
        RUNNING: a child is running
        skipped: every child was skipped

    ``yields`` (BT.CPP's AsyncFallback): an option that failed at once ends the tick (RUNNING);
    the next is tried in the next tick.
    """

    DECISIVE = Status.SUCCESS


class Parallel(Ported, py_trees.composites.Parallel):
    """BT.CPP's Parallel: every child that has not ended is ticked each tick; SUCCESS once
    ``success_count`` children succeeded, FAILURE once ``failure_count`` failed (or too few are
    left to succeed). A negative count counts from the number of children: -1 is all of them.
    Skipped children count towards success only when ``success_count`` is negative."""

    def __init__(self, name, success_count=-1, failure_count=1, children=None):
        super().__init__(name, policy=py_trees.common.ParallelPolicy.SuccessOnAll(), children=children)
        self.success_count, self.failure_count = int(success_count), int(failure_count)

    def _threshold(self, count):
        return len(self.children) + count + 1 if count < 0 else count

    def _ended_counts(self):
        """(successes, failures) among the children, skipped ones not counted: one look at each
        child's status, and at ``skipped`` only for one that ended (a parallel of hundreds of
        running leaves pays little)."""
        successes = failures = 0
        success, failure = Status.SUCCESS, Status.FAILURE      # locals: looked up once, not per child
        for child in self.children:
            status = child.status
            if status is success:
                successes += not getattr(child, "skipped", False)
            elif status is failure:
                failures += not getattr(child, "skipped", False)
        return successes, failures

    def step(self):
        if self.status != Status.RUNNING:
            reset(self.children)
        # What ended is read from the children (not counted here), so a resumed run (executive/resume.py)
        # that sets their statuses carries on from them.
        need_success, need_failure = self._threshold(self.success_count), self._threshold(self.failure_count)
        children, ticked = self.children, self._ticked_now
        count, skips = len(children), 0
        # Counted once, then as each child is ticked, and the thresholds looked at again only when a
        # count changed (a parallel of 50 robots' branches would otherwise pay 5,000 looks per tick).
        successes, failures = self._ended_counts()
        check = True
        success, failure, running = Status.SUCCESS, Status.FAILURE, Status.RUNNING
        for child in children:
            status = child.status
            if status is not success and status is not failure or getattr(child, "skipped", False):
                yield from child.tick()     # tick_child, inlined: a parallel may have hundreds
                ticked.append(child)
                status = child.status
                if status is running:
                    pass
                elif getattr(child, "skipped", False):
                    skips, check = skips + 1, True
                elif status is success:
                    successes, check = successes + 1, True
                elif status is failure:
                    failures, check = failures + 1, True
            if not check:
                continue
            check = False
            if successes >= need_success or (self.success_count < 0 and successes + skips >= need_success):
                for other in children:
                    halt(other)
                return Status.SUCCESS
            if count - failures < need_success or failures == need_failure:
                for other in children:
                    halt(other)
                return Status.FAILURE
        return SKIPPED if skips == count else Status.RUNNING


class ParallelAll(Parallel):
    """BT.CPP's ParallelAll: runs every child to its end; FAILURE if at least ``max_failures`` of
    them failed, else SUCCESS."""

    def __init__(self, name, max_failures=1, children=None):
        super().__init__(name, children=children)
        self.max_failures = int(max_failures)

    def step(self):
        if self.status != Status.RUNNING:
            reset(self.children)
        threshold = len(self.children) + self.max_failures + 1 if self.max_failures < 0 else self.max_failures
        skips = 0
        for child in self.children:
            if child.status not in (Status.SUCCESS, Status.FAILURE) or getattr(child, "skipped", False):
                result = yield from tick_child(child)
                skips += result == SKIPPED
        if skips == len(self.children):
            return SKIPPED
        successes, failures = self._ended_counts()
        if skips + failures + successes >= len(self.children):
            for other in self.children:
                halt(other)
            return Status.FAILURE if failures >= threshold else Status.SUCCESS
        return Status.RUNNING


def _skipped_condition(node):
    """A skipped condition of IfThenElse or WhileDoElse, which BT.CPP throws for ("Something
    unexpected happened"): FAILURE, reason ``internal_error``."""
    from behaviors.failures import INTERNAL_ERROR, Failure

    node.failure = Failure(INTERNAL_ERROR, f"the condition of {node.name} ({type(node).__name__}) was skipped, "
                                           "which BT.CPP does not allow")
    node.feedback_message = node.failure.message
    return Status.FAILURE


class IfThenElse(Ported, py_trees.composites.Composite):
    """BT.CPP's IfThenElse: two or three children. The first is the condition; while it runs,
    so does this. Then the second child (condition succeeded) or the third (failed; without one
    this fails) runs to its end, and this ends as it does."""

    def step(self):
        if self.status != Status.RUNNING:
            reset(self.children)
            self._branch = 0
        if self._branch == 0:
            condition = yield from tick_child(self.children[0])
            if condition == Status.RUNNING:
                return Status.RUNNING
            if condition == Status.SUCCESS:
                self._branch = 1
            elif condition == Status.FAILURE:
                if len(self.children) != 3:
                    return Status.FAILURE
                self._branch = 2
            else:
                return _skipped_condition(self)
        result = yield from tick_child(self.children[self._branch])
        if result != Status.RUNNING:
            self._branch = 0
        return result


class WhileDoElse(Ported, py_trees.composites.Composite):
    """BT.CPP's WhileDoElse: the condition (first child) is ticked every tick; the second child
    runs while it succeeds, the third (if any) while it fails, the other one halted. Without a
    third child a failed condition fails."""

    def step(self):
        if self.status != Status.RUNNING:
            reset(self.children)
        condition = yield from tick_child(self.children[0])
        if condition == Status.RUNNING:
            return Status.RUNNING
        if condition == Status.SUCCESS:
            if len(self.children) == 3:
                halt(self.children[2])
            result = yield from tick_child(self.children[1])
        elif condition == Status.FAILURE and len(self.children) == 3:
            halt(self.children[1])
            result = yield from tick_child(self.children[2])
        elif condition == Status.FAILURE:
            result = Status.FAILURE
        else:
            return _skipped_condition(self)
        if result != Status.RUNNING:
            forget(self.children)
        return result


class Switch(Ported, py_trees.composites.Composite):
    """BT.CPP's Switch2..Switch6: the child whose case equals the blackboard entry ``variable``
    runs (the last child when none does). ``match(variable_value, case)`` compares as BT.CPP's
    CheckStringEquality does; ``read()`` gives the variable's value, None when it is not set."""

    def __init__(self, name, cases, read, match, children=None):
        super().__init__(name, children=children)
        self.cases, self.read, self.match = list(cases), read, match
        self._running = None

    def step(self):
        if self.status != Status.RUNNING:
            reset(self.children)
            self._running = None
        value = self.read()
        index = len(self.cases)
        if value is not None:
            index = next((i for i, case in enumerate(self.cases) if self.match(value, case)), index)
        if self._running is not None and self._running != index:
            halt(self.children[self._running])
        result = yield from tick_child(self.children[index])
        self._running = index if result == Status.RUNNING else None
        return result
