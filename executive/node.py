"""The executive node: runs one mission at a time on a py_trees tree.

The tree is ticked at once whenever something happens that it waits for, and runs until nothing
can progress without an outside event (see ``_tick``): leaves get ``wake`` in ``setup`` (called
when a goal is answered, sends feedback or finishes; it triggers a guard condition) and
``wake_at(deadline)`` (a wait, a retry's backoff or a timeout ending: a one-shot timer). A timer at
``tick_rate`` ticks a running mission as well, for what leaves poll (a server that vanished, a goal
timeout); it is off while no mission runs, so an idle executive costs nothing. Everything runs on
one single-threaded executor, so leaves, the tick and the action server share state without locks.

Parameters: ``missions_dir`` (searched before the package's missions), ``tick_rate`` (Hz, 10),
``goal_policy`` (``reject`` or ``preempt`` a goal that arrives while a mission runs),
``log_dir`` (run logs; default ``~/.ros/mission_logs``), ``pause_cancels_goals`` (True),
``halt_timeout`` (s to wait for cancelled goals to end, 10), ``setup_timeout`` (s, 15),
``mission`` and ``mission_parameters`` (a mission to run at start, e.g. from a launch file),
``exit_when_done`` (exit when that mission ends, with ``mission run``'s exit codes), ``viewer``,
``viewer_port``, ``viewer_host``, ``viewer_allow_control`` (the browser viewer, executive/viewer).
``groot2``, ``groot2_port``, ``groot2_host`` (Groot2's monitoring protocol, executive/groot2.py).

Interfaces: ``execute_mission`` (ExecuteMission action, see executive/server.py), ``~/pause`` and
``~/resume`` (std_srvs/Trigger), ``~/tree_snapshots`` (TreeSnapshot, latched; after a tick that
changed the tree, at most every SNAPSHOT_PERIOD).
"""
import faulthandler
import gc
import math
import pathlib
import signal
import sys
import time
import traceback

import py_trees
from py_trees.common import Status
import rclpy
from rcl_interfaces.msg import SetParametersResult
from rclpy.exceptions import NameValidationException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from std_srvs.srv import Trigger

from behaviors.leaf import ClientPool, release
from behaviors.messages import InterfaceError
from behaviors.clock import MissionClock
from executive import dds, parameters, paths, resume, run as runs, runlog, snapshots
from executive.language.cache import MissionCache
from executive.language.compiler import compile_mission, seed_blackboard
from executive.language.errors import MissionError, MissionInvalid
from executive.language.resolve import parse_overrides, resolve, resolve_text
from executive.loading import cut, is_mission_text
from executive.runlog import RunLog, default_log_dir
from mission_interfaces.msg import TreeSnapshot

EXIT_CODES = {runs.SUCCEEDED: 0, runs.FAILED: 1, runs.INVALID: 2, runs.UNREACHABLE: 3, runs.CANCELED: 130,
              runs.INTERRUPTED: 130, runs.ERROR: 4}
# Requests of one burst every service of the executive answers (ExecuteMission's goal, cancel and
# result services, pause, resume): rclpy takes one request per executor round, and a request that
# finds the server's queue full is dropped without a word (ROS_WHEELS.md, item 3).
BURST = 1000
SERVICE_QOS = QoSProfile(depth=BURST, reliability=ReliabilityPolicy.RELIABLE)
RESULT_DELIVERY_TIMEOUT = 3.0   # s an exiting executive keeps serving for its last results to go out
SNAPSHOT_PERIOD = 0.05     # s: the most often ~/tree_snapshots is published
# The guard on immediate re-ticks: after this many ticks in a row that made progress, or this much
# time, the tick yields to the executor (and wakes itself again) so that a loop of instant
# behaviours cannot starve service calls, cancels and results waiting to be served.
MAX_RETICKS = 32
RETICK_BUDGET = 0.005      # s
FAULT_REPEAT_PERIOD = 10.0  # s: the most often one internal fault that keeps happening is logged again
TEARDOWN_TIMEOUT = 5.0     # s the node's teardown may take once stop signals are ignored (main)
FEEDBACK_PERIOD = 0.5      # s: the longest a running mission goes without an update to listeners
PAUSED_FEEDBACK_PERIOD = 2.0   # s: the same for a paused one, which changes nothing but its pause's length
IDLE_STREAMS_PERIOD = 0.5  # s: the longest a py_trees_ros snapshot stream opened while idle stays silent


class ExecutiveNode(Node):
    """The executive. ``serve=False`` leaves out the ExecuteMission server (``mission run`` uses
    the node in its own process and must not answer goals meant for a running executive)."""

    def __init__(self, node_name: str = "mission_executive", serve: bool = True, **kwargs):
        self.run = None                 # before the node exists: destroy_node must work if __init__ fails
        self.server = None
        self.viewer = None
        self.groot2 = None
        self.client_pool = ClientPool()
        self._faults_logged = {}        # traceback text -> [repeats not yet said, when last said]
        self.mission_cache = MissionCache()
        super().__init__(node_name, **kwargs)
        self.tree = snapshots.make_tree(self.get_name())
        # py_trees_ros's BehaviourTree.setup() declares setup_timeout itself (read-only) and fails if
        # it exists; it takes our value, so missions' setups read the same parameter. rclpy cannot
        # undeclare a read-only parameter: ours is writable until then.
        borrowed = ("setup_timeout",) if snapshots.uses_py_trees_ros(self.tree) else ()
        parameters.declare(self, writable=borrowed)     # ValueError naming a value out of range
        self.add_on_set_parameters_callback(self._check_parameters)
        setup_timeout = self._param("setup_timeout")
        for name in borrowed:
            self.undeclare_parameter(name)
        self.tree.setup(node=self, timeout=setup_timeout)
        self._tree_visitors = snapshots.uses_py_trees_ros(self.tree)
        if self._tree_visitors:
            self._observer = snapshots.RunObserver()
            self.tree.visitors.append(self._observer)
            # py_trees_ros's tree watchers see the idle executive too (snapshots.publish_idle_streams).
            self.create_timer(IDLE_STREAMS_PERIOD, lambda: self.busy or snapshots.publish_idle_streams(self.tree))
        self.listeners = []             # callables(run) told after every tick and state change
        self._wake_guard = self.create_guard_condition(self._tick)
        self._timer = self.create_timer(1.0 / self._param("tick_rate"), self._tick, autostart=False)
        self._deadline = None           # the earliest time a leaf asked to be ticked at (monotonic s)
        self._ticking = False
        self._deadline_timer = self.create_timer(1.0, self._on_deadline, autostart=False)
        self._last_update = 0.0
        self._last_snapshot = 0.0
        self._snapshot_due = False
        self._snapshots = self.create_publisher(TreeSnapshot, "~/tree_snapshots", snapshots.SNAPSHOT_QOS)
        self._snapshots.publish(snapshots.idle(self.get_clock().now().to_msg()))
        self.create_service(Trigger, "~/pause", self._on_pause, qos_profile=SERVICE_QOS)
        self.create_service(Trigger, "~/resume", self._on_resume, qos_profile=SERVICE_QOS)
        if serve:
            from executive.server import MissionServer
            self.server = MissionServer(self)
        if self._param("viewer"):
            self.viewer = self._open_viewer()
        self.groot2 = self._open_groot2() if self._param("groot2") else None

    def _open_viewer(self):
        """The browser viewer on ``viewer_host:viewer_port``; ValueError when it cannot listen."""
        from executive.viewer import Viewer, ViewerError, is_loopback

        host = self._param("viewer_host")
        try:
            viewer = Viewer(self._param("log_dir") or None, host, self._param("viewer_port"),
                            self._param("viewer_allow_control"), allowed_hosts=self._param("viewer_allowed_hosts"))
        except ViewerError as exc:
            raise ValueError(str(exc)) from None
        viewer.attach(self).start()
        self.get_logger().info(f"viewer at {viewer.url}")
        if not is_loopback(host):
            # The control token goes to standard output only (VIEWER line): /rosout is on the network.
            self.get_logger().warn(f"the viewer listens on {host}: anyone who can reach it sees the mission"
                                   + ("; cancel and start need the token in the VIEWER line on standard output"
                                      if viewer.allow_control else ""))
        return viewer

    def _open_groot2(self):
        """Groot2's monitoring protocol on ``groot2_host:groot2_port`` (executive/groot2.py), told
        about every tick as a listener; ValueError when it cannot listen."""
        from executive.groot2 import Groot2Error, Groot2Listener, Groot2Server
        from executive.viewer import is_loopback

        host, port = self._param("groot2_host"), self._param("groot2_port")
        try:
            server = Groot2Server(port, host).start()
        except Groot2Error as exc:
            raise ValueError(str(exc)) from None
        self.listeners.append(Groot2Listener(server, on_problem=self.get_logger().warn))
        self.get_logger().info(f"Groot2 can connect to {host}:{port}")
        if not is_loopback(host):
            self.get_logger().warn(f"Groot2 is served on {host}: anyone who can reach it sees the mission and its "
                                   "blackboard")
        return server

    # -- parameters -----------------------------------------------------------------------------
    def _param(self, name):
        return self.get_parameter(name).value

    def _check_parameters(self, params):
        """rclpy's set callback (ranges and read-only are checked by rclpy from the descriptors,
        executive/parameters.py). Never raises: a fault answers the request unsuccessful."""
        checked = parameters.check(params)
        if not checked.successful:
            return checked
        try:
            for p in params:
                if p.name == "tick_rate" and hasattr(self, "_timer"):
                    self._timer.timer_period_ns = int(1e9 / p.value)
        except Exception:
            self.report_fault("applying a parameter")
            return SetParametersResult(successful=False, reason="internal error (logged by the executive)")
        return SetParametersResult(successful=True)

    # -- running missions -----------------------------------------------------------------------
    def wake(self):
        """Tick as soon as the executor is free."""
        self._wake_guard.trigger()

    def _leaf_wake(self):
        """What leaves call when something arrived that the tree may move on with (a result, a
        rejection): they call it last in their callback, on this executor's thread, so the tree is
        ticked right there, saving the executor round a guard condition would cost per goal. Called
        during a tick (which leaves do not do), it falls back to the guard condition."""
        if self._ticking:
            self.wake()
        else:
            self._tick()

    def wake_at(self, deadline: float):
        """Tick at ``deadline`` (``time.monotonic()`` seconds) at the latest: the one-shot timer is
        set to the earliest deadline asked for. Leaves still waiting ask again on every tick."""
        if self._deadline is not None and self._deadline <= deadline:
            return
        self._deadline = deadline
        delay = max(0.0, deadline - time.monotonic())
        self._deadline_timer.timer_period_ns = max(1, math.ceil(delay * 1e9))
        self._deadline_timer.reset()

    def _on_deadline(self):
        self._deadline_timer.cancel()
        self._deadline = None
        self._tick()

    @property
    def busy(self) -> bool:
        return self.run is not None and not self.run.done

    def load(self, mission: str, overrides=()):
        """(Mission, py_trees root) for a mission name, path or YAML text; raises MissionInvalid.
        For the node's own user (``mission run``, the ``mission`` parameter, the viewer's list):
        any file; a goal's mission loads through executive/loading.py instead (roots only, limits).
        The model is kept by content (executive/language/cache.py); the tree is new each time."""
        overrides = tuple(overrides)
        roots = paths.mission_roots(self._param("missions_dir"), self._param("mission_path"))
        if is_mission_text(mission):
            model = self.mission_cache.get(("text", mission, str(roots[0]), overrides),
                                       lambda: resolve_text(mission, roots[0], parse_overrides(overrides), roots=roots))
        else:
            path = self.find(mission)
            model = self.mission_cache.get(("file", str(path), overrides),
                                       lambda: resolve(path, parse_overrides(overrides), roots=roots))
        return model, compile_mission(model)

    def find(self, mission: str) -> pathlib.Path:
        path = paths.find_mission(mission, self._param("missions_dir"), path=self._param("mission_path"))
        if path.is_file():
            return path
        searched = ", ".join(str(d) for d in paths.mission_roots(self._param("missions_dir"), self._param("mission_path")))
        raise MissionInvalid([MissionError("<goal>", 0, 0, "mission", f"no mission named {mission!r}",
                                           f"looked in {searched}")])

    def prepare_resume(self, reference, auto: bool = False):
        """(model, tree set back to its checkpoint, :class:`~executive.resume.Interrupted`) for the
        run ``reference`` names (a run id, a run directory, or ``latest``: this node's newest
        interrupted run; or the Interrupted already read), to hand to :meth:`start`; or a RunResult
        (outcome invalid) saying why it cannot be resumed: not interrupted, resumed already, its
        mission changed (the difference named), a leaf to run again marked ``safe_to_repeat: false``.
        Reads the run's log (unless given) and the mission's files."""
        root = None
        try:
            plan = reference if isinstance(reference, resume.Interrupted) else resume.plan_for(
                self._param("log_dir") or default_log_dir(), reference, self.get_fully_qualified_name())
            changes = resume.changed_sources(plan)
            if changes:
                raise resume.ResumeError(f"run {plan.run_id}: its mission changed since the run started: "
                                         + "; ".join(changes))
            text = plan.mission_text
            model, root = self.load(text if text is not None else plan.mission_file, plan.overrides)
            tree_paths = runs.paths_of(root)
            unsafe = resume.not_safe_to_repeat(root, tree_paths, plan.again)
            if unsafe:
                raise resume.ResumeError(
                    f"run {plan.run_id}: {', '.join(unsafe)} would run again (it was running when the run stopped) "
                    "and is marked safe_to_repeat: false; check the robot, then start the mission anew")
            plan.clock = MissionClock()
            resume.restore(root, tree_paths, plan.states, plan.clock)
        except resume.ResumeError as exc:
            if root is not None:
                release(root)
            return runs.RunResult(runs.INVALID, message=f"cannot resume: {exc}", errors=[str(exc)])
        except MissionInvalid as exc:
            return runs.RunResult(runs.INVALID, message="cannot resume: the mission does not load now",
                                  errors=[str(e) for e in exc.errors])
        plan.auto = auto
        return model, root, plan

    def start(self, mission: str, overrides=(), goal_id: str = "", loaded=None):
        """Start running ``mission`` (``loaded``: what ``load`` already made of it, or what
        :meth:`prepare_resume` made of an interrupted run). Returns the MissionRun, or a RunResult
        (outcome invalid) when the mission cannot be loaded, compiled or set up. Raises RuntimeError
        when busy."""
        if self.busy:
            raise RuntimeError(f"mission {self.run.mission.name} is still running")
        try:
            model, root, *resumed = loaded or self.load(mission, overrides)
        except MissionInvalid as exc:
            return runs.invalid(exc.errors)
        plan = resumed[0] if resumed else None
        if plan is not None:
            origin = dict(overrides=plan.overrides, text=plan.mission_text, resumed_from=plan.run_id,
                          auto_resumed=plan.auto)
        else:
            origin = dict(overrides=list(overrides), text=mission if is_mission_text(mission) else None)
        try:
            log = RunLog(self._param("log_dir"), model.name, on_problem=self._log_problem,
                         max_payload=self._param("max_logged_payload"), on_fault=self.report_fault)
        except OSError as exc:      # a run that cannot be logged does not start (README: "Run logs")
            release(root)
            self.get_logger().error(f"mission {model.name} not started: {exc}")
            return runs.RunResult(runs.ERROR, message=f"mission not started: {exc}")
        run = runs.MissionRun(model, root, log, goal_id, node_name=self.get_fully_qualified_name(), origin=origin,
                              clock=plan.clock if plan is not None else None)
        run.halt_timeout = self._param("halt_timeout")
        try:
            py_trees.trees.setup(root, timeout=self._param("setup_timeout"), node=self, wake=self._leaf_wake,
                                 wake_at=self.wake_at, clients=self.client_pool, **run.setup_kwargs())
        except (InterfaceError, KeyError, ValueError, NameValidationException) as exc:
            result = runs.invalid([f"{model.file}: {exc}"])
            run.halt(str(exc), 0.0, runs.INVALID)
            run.poll_halt()
            return result
        self._install(run)
        seed_blackboard(model)
        if plan is not None:
            for key, value in plan.blackboard.items():     # as it was at the checkpoint (plain data)
                py_trees.blackboard.Blackboard.set(key, value)
            try:
                runlog.Appender(plan.run_dir).write("resumed_as", run_id=run.run_id, auto=plan.auto)
            except (OSError, ValueError) as exc:
                self.get_logger().error(f"run {plan.run_id}: cannot note in its log that it was resumed: {exc}")
            self.get_logger().info(f"resuming run {plan.run_id} as {run.run_id}: {len(plan.again)} leaf "
                                   f"(leaves) to run again: {', '.join(plan.again) or 'none'}")
        self.get_logger().info(f"running mission {model.name} (log {run.log.path})")
        self._publish_snapshot(run)     # the latched topic never offers the previous run as current
        self._timer.reset()             # the periodic tick runs while a mission does
        self.wake()
        return run

    def recover_interrupted(self, executor):
        """Cancel the goals of runs a previous executive of this node name left unfinished (killed),
        and mark those runs interrupted (executive/recovery.py). Spins ``executor``; bounded."""
        from executive import recovery

        try:
            recovery.sweep(self, executor, self._param("log_dir") or default_log_dir(),
                           server_timeout=5.0, halt_timeout=self._param("halt_timeout"), log=self.get_logger())
        except Exception:       # the executive starts all the same
            self.report_fault("looking for runs a previous executive left unfinished")

    def resume_at_start(self):
        """The ``resume_interrupted`` parameter: resume this node's newest run if it was interrupted,
        unless it was itself resumed at start (a crash loop under respawn stops after one resume).
        Returns the MissionRun, or None (nothing to resume, or said why not in the log)."""
        logger = self.get_logger()
        try:
            plan = resume.plan_for(self._param("log_dir") or default_log_dir(), "", self.get_fully_qualified_name())
        except resume.ResumeError as exc:
            logger.info(f"resume_interrupted: nothing to resume ({exc})")
            return None
        if plan.started.get("auto_resumed"):
            logger.warn(f"resume_interrupted: run {plan.run_id} was itself resumed at start and was interrupted "
                        "again; not resuming it again (mission resume RUN does it by hand)")
            return None
        prepared = self.prepare_resume(plan, auto=True)
        started = prepared if isinstance(prepared, runs.RunResult) else self.start("", loaded=prepared)
        if isinstance(started, runs.RunResult):
            logger.error(f"resume_interrupted: {started.message}")
            for error in started.errors:
                logger.error(f"  {error}")
            return None
        return started

    def _install(self, run):
        """Make ``run``'s tree the child of the long-lived root, replacing the last one."""
        previous, self.run = self.run, run
        for child in list(self.tree.root.children):
            self.tree.prune_subtree(child.id)
        if previous is not None:
            previous.shutdown()
        py_trees.blackboard.Blackboard.storage.clear()   # a run starts from its own blackboard only
        self.tree.insert_subtree(run.root, self.tree.root.id, 0)
        if run.root.status == Status.RUNNING:
            # A resumed tree, set back to its checkpoint: ticked through the long-lived root (the
            # py_trees_ros path), a root that is not RUNNING would stop its child first and undo that.
            self.tree.root.status, self.tree.root.current_child = Status.RUNNING, run.root

    def halt(self, reason: str, outcome: str = runs.CANCELED) -> bool:
        """Stop the running mission (cancel, preempt, shutdown); it ends once its goals have."""
        if not self.busy or self.run.state == runs.HALTING:
            return False
        run = self.run
        self.get_logger().info(f"halting mission {run.mission.name}: {reason}")
        try:
            run.halt(reason, run.halt_timeout, outcome)
        except Exception:       # a mission that cannot be halted must still stop
            self.report_fault("halting the mission")
            try:
                run.root.stop(py_trees.common.Status.INVALID)   # its leaves cancel their goals
            except Exception:
                self.report_fault("stopping the mission's tree after a fault")
            run.abandon(runs.RunResult(runs.ERROR, message=f"{reason}; internal error while halting (logged by the "
                                                           "executive)"))
        self._after(run, changed=True)
        return True

    def pause(self) -> tuple:
        """(paused, message): False when nothing runs or the run is not running (already paused)."""
        if not self.busy:
            return False, "no mission is running"
        paused, message = self.run.pause(self._param("pause_cancels_goals"))
        if paused:
            self._after(self.run, changed=True)
        return paused, message

    def resume(self) -> tuple:
        """(resumed, message): False when nothing runs or the run is not paused."""
        if not self.busy:
            return False, "no mission is running"
        resumed, message = self.run.resume()
        self.wake()
        return resumed, message

    def _on_pause(self, request, response):
        try:
            response.success, response.message = self.pause()
        except Exception:
            self.report_fault("pausing")
            response.success, response.message = False, "internal error (logged by the executive)"
        return response

    def _on_resume(self, request, response):
        try:
            response.success, response.message = self.resume()
        except Exception:
            self.report_fault("resuming")
            response.success, response.message = False, "internal error (logged by the executive)"
        return response

    def _log_problem(self, log, message: str):
        """A run log could not be written (or is written again): said loudly, once per change."""
        text = f"run log {log.path}: {message}"
        if log.healthy:     # one call site per severity (rclpy 7 refuses a line that changes it)
            self.get_logger().info(text)
        else:
            self.get_logger().error(text)

    # -- faults -------------------------------------------------------------------------------
    def report_fault(self, doing: str):
        """Log an internal fault (a bug) with its traceback, once per distinct traceback; called from
        an ``except`` block of a callback that must not let it escape."""
        text = cut(traceback.format_exc(), 20000)     # an exception's text may quote a hostile goal
        now = time.monotonic()
        seen = self._faults_logged.get(text)
        if seen is None:
            if len(self._faults_logged) >= 200:     # bounded, however many kinds of fault there are
                self._faults_logged.clear()
            self._faults_logged[text] = [0, now]
            self.get_logger().error(f"internal error while {doing}:\n{text}")
            return
        seen[0] += 1        # the same fault again (every tick, say): said at most every FAULT_REPEAT_PERIOD
        if now - seen[1] >= FAULT_REPEAT_PERIOD:
            self.get_logger().error(f"internal error while {doing}, {seen[0]} more time(s) (traceback logged before)")
            seen[:] = [0, now]

    # -- the tick -------------------------------------------------------------------------------
    def _tick(self):
        try:
            self._tick_until_idle()
        except Exception:
            self.report_fault("ticking the mission")
            run = self.run
            if run is not None and not run.done:
                try:
                    run.halt("internal error (logged by the executive)", run.halt_timeout, runs.ERROR)
                except Exception:
                    self.report_fault("halting the mission after an internal error")
                    run.abandon(runs.RunResult(runs.ERROR, message="internal error (logged by the executive)"))
                self._after(run, changed=True)

    def _tick_until_idle(self):
        """Tick the mission until nothing can progress without an outside event.

        A tick made progress when a behaviour reached a terminal status it was not shown with, or
        a loop (repeat, retry) saw its child end and runs it again (``MissionRun.observe``): the
        next tick may then do more, so it follows at once instead of a tick period later. The guard
        (MAX_RETICKS, RETICK_BUDGET) only spreads such ticks over executor rounds; each tick is the
        same tick a slower host would make, so outcomes do not change."""
        run = self.run
        if run is None or run.done:
            self._timer.cancel()        # idle: no periodic tick
            return
        if not run.paused and self._timer.is_canceled():     # resumed, or halted while paused
            self._timer.reset()
        if run.state == runs.HALTING:
            if run.poll_halt():
                self._after(run, changed=True)
            return
        if run.paused:
            # Nothing to tick: no periodic tick, only a wake-up for the listeners' feedback.
            self._timer.cancel()
            self.wake_at(time.monotonic() + PAUSED_FEEDBACK_PERIOD)
            self._after(run, changed=False)
            return
        if self._tree_visitors:
            # py_trees_ros publishes its snapshot streams from the tree's handlers; our visitor
            # shows the run each behaviour as it is ticked.
            self._observer.run_ = run

            def tick_once():
                self.tree.tick()
                return run.after_tick()
        else:
            tick_once = run.tick        # BehaviourTree.tick() also walks the whole tree for visitors
        self._ticking = True
        try:
            changed, more = run.tick_until_idle(tick_once, MAX_RETICKS, RETICK_BUDGET)
        finally:
            self._ticking = False
        if more:
            self.wake()                 # after the callbacks that waited meanwhile
        self._after(run, changed)

    def _after(self, run, changed: bool):
        now = time.monotonic()
        self._snapshot_due = self._snapshot_due or changed
        # At most one snapshot per SNAPSHOT_PERIOD, and none while nobody listens: building one
        # costs ~2 ms per 200 behaviours, which a run of short goals would otherwise pay several
        # times per goal. The last state is never lost: the next tick (at most a tick period later)
        # publishes it once someone subscribes, and the end of a run always does (latched).
        if self._snapshot_due and (run.done or (now - self._last_snapshot >= SNAPSHOT_PERIOD
                                                and self._snapshots.get_subscription_count() > 0)):
            self._publish_snapshot(run)
        if changed or run.done or now - self._last_update >= FEEDBACK_PERIOD:
            self._last_update = now
            for listener in list(self.listeners):
                try:
                    listener(run)
                except Exception:   # a view's fault is not the mission's: it runs on, the listener stays
                    self.report_fault(f"telling {_name_of(listener)} about the run")

    def _publish_snapshot(self, run):
        self._snapshot_due = False
        self._last_snapshot = time.monotonic()
        self._snapshots.publish(snapshots.message(run, self.get_clock().now().to_msg()))

    def destroy_node(self):
        if self.run is not None and self.run.done:
            self.run.shutdown()
        self.client_pool.destroy()
        if self.viewer is not None:
            self.viewer.close()
        if self.groot2 is not None:
            self.groot2.close()
        if self.server is not None:
            self.server.destroy()
        return super().destroy_node()


def _name_of(callable_) -> str:
    return getattr(callable_, "__qualname__", None) or type(callable_).__qualname__


def spin_once(executor, timeout: float):
    """``executor.spin_once``, except that an exception a callback raised (rclpy re-raises it from
    spin_once) is logged by the executive, once per distinct traceback, instead of ending the
    process. The executive's own callbacks catch their faults where they can say what failed (a
    goal's result, a leaf's failure); this is the last line, for everything else."""
    try:
        executor.spin_once(timeout_sec=timeout)
    except (KeyboardInterrupt, ExternalShutdownException):
        raise
    except Exception:
        for node in executor.get_nodes():
            if isinstance(node, ExecutiveNode):
                node.report_fault("running a callback")
                break
        else:
            raise


def spin_until(executor, predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        spin_once(executor, 0.05)
    return predicate()


def shut_down(executive, executor, reason: str):
    """Halt a running mission (outcome interrupted: its goals cancelled and waited for, its log
    closed) and let every ExecuteMission result go out before the node is destroyed."""
    if executive.halt(reason, runs.INTERRUPTED):
        spin_until(executor, lambda: executive.run.done, executive.get_parameter("halt_timeout").value + 1.0)
    if executive.server is not None:
        executive.server.stop_accepting()
        spin_until(executor, lambda: executive.server.delivered, RESULT_DELIVERY_TIMEOUT)


def parse_command_line(args) -> None:
    """``mission-executive [-h] [--ros-args ...]``: ``-h`` prints the help (the parameters with their
    defaults) and exits 0, anything else outside ``--ros-args`` exits 2; both before rclpy starts."""
    import argparse

    from rclpy.parameter import Parameter

    def row(name, spec):
        # A (default, description) pair, or an object with .default, .description, .range, .start_only.
        default, description = (spec.default, spec.description) if hasattr(spec, "default") else spec[:2]
        notes = ["a list of strings" if isinstance(default, Parameter.Type) else f"default {default!r}"]
        if getattr(spec, "range", None):
            notes.append(f"{spec.range[0]}..{spec.range[1]}")
        if getattr(spec, "choices", ()):
            notes.append(" or ".join(spec.choices))
        if getattr(spec, "start_only", False):
            notes.append("read at start only")
        return f"  {name:22} {description} [{'; '.join(notes)}]"
    rows = "\n".join(row(name, spec) for name, spec in parameters.PARAMETERS.items())
    parser = argparse.ArgumentParser(
        prog=pathlib.Path(args[0]).name, usage="%(prog)s [-h] [--ros-args -p NAME:=VALUE ...]",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The mission executive node: serves the execute_mission action "
                    "(mission_interfaces/action/ExecuteMission), ~/pause, ~/resume and ~/tree_snapshots.",
        epilog=f"ROS parameters (--ros-args -p NAME:=VALUE):\n{rows}\n\n"
               "SIGINT or SIGTERM halts a running mission (outcome interrupted) and exits once its result is sent.")
    parser.parse_args(rclpy.utilities.remove_ros_args(args)[1:])


def freeze_startup_objects():
    """Move every object alive now (modules, the node, its clients) out of the garbage collector's
    sight (``gc.freeze``), for a process that has finished starting up. A full collection then
    scans only what missions made: 1 ms instead of about 25 ms per collection, which a loop of
    instant goals met every 40-odd goals (bench/RESULTS.md). No collection first: it would delay
    the first goal by tens of ms, for the little start-up garbage it would free. Only for
    processes we own (mission-executive, mission run, the benchmarks): an application embedding
    the node may want its own objects collected."""
    gc.freeze()


def main(argv=None) -> int:
    """``mission-executive [--ros-args ...]``: the node alone. SIGINT or SIGTERM (a launch shutdown
    sends both, in turn) halts a running mission: its goals are cancelled and waited for, its log
    is closed, its ExecuteMission result (outcome interrupted) is sent, and the node exits."""
    args = sys.argv if argv is None else ["mission-executive", *argv]
    parse_command_line(args)
    dds.use_profile()       # before rclpy starts Fast DDS (executive/dds)
    stop = []

    def on_signal(signum, _frame):
        stop.append(signum)
        if len(stop) > 1:       # a second signal: stop waiting for goals to end
            raise KeyboardInterrupt
    # Before anything else: a signal during start-up must not kill the process half-initialised.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    try:
        executive = ExecutiveNode()
    except ValueError as exc:
        print(f"mission-executive: {exc}", file=sys.stderr)
        rclpy.try_shutdown()
        return EXIT_CODES[runs.INVALID]
    executor = SingleThreadedExecutor()
    executor.add_node(executive)
    freeze_startup_objects()
    status = 0
    try:
        executive.recover_interrupted(executor)
        mission = executive.get_parameter("mission").value
        started = None
        if not stop and executive.get_parameter("resume_interrupted").value:
            # Under respawn: an interrupted run goes on; the mission parameter starts only when there is none.
            started = executive.resume_at_start()
        exit_when_done = executive.get_parameter("exit_when_done").value and (bool(mission) or started is not None)
        if mission and not stop and started is None:
            # get_parameter_or: a string array given no value stays uninitialised, and get_parameter raises
            overrides = executive.get_parameter_or("mission_parameters").value or ()
            started = executive.start(mission, overrides)
            if isinstance(started, runs.RunResult):
                for error in started.errors:
                    executive.get_logger().error(error)
                return EXIT_CODES[runs.INVALID]
        print(f"READY {executive.get_fully_qualified_name()}", flush=True)
        if executive.viewer is not None:
            print(f"VIEWER {executive.viewer.page_url}", flush=True)
        while not stop and not (exit_when_done and started.done):
            spin_once(executor, 0.1)
        if exit_when_done and started.done:
            executive.get_logger().info(f"mission {started.mission.name} {started.result.outcome}: "
                                        f"{started.result.message}")
            status = EXIT_CODES[started.result.outcome]
        shut_down(executive, executor, f"executive shutting down ({signal.Signals(stop[0]).name if stop else 'done'})")
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        # From here SIGINT and SIGTERM are ignored: a teardown (rclpy, Fast DDS) that blocks prints
        # every thread's stack and exits 1 instead of waiting silently for launch's SIGKILL. Seen
        # once under ros2 launch (ignored SIGINT and SIGTERM for 45 s), not reproduced in 200 tries.
        faulthandler.dump_traceback_later(TEARDOWN_TIMEOUT, exit=True)
        executor.shutdown()
        executive.destroy_node()
        rclpy.try_shutdown()
    return status


if __name__ == "__main__":
    sys.exit(main())
