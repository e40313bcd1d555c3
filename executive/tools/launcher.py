"""Child processes: simulated robots (``mission-sim``) and executives (``mission-executive``).

A child is ready once it prints ``READY``; every wait has a deadline, and stopping sends SIGINT
first (clean DDS shutdown) and SIGKILL only if the child does not exit in time. ``wrapper`` is a
command to run the child under (``ip netns exec NAME``); it must exec the child, so that signals
reach it.

A child dies with its parent, even one that is SIGKILLed: it is started with the parent-death
signal SIGTERM (Linux ``prctl(PR_SET_PDEATHSIG)``), on which our programs exit cleanly. The kernel
sends it when the *thread* that started the child ends, so start children from a thread that lives
as long as they should (``mission run`` starts them from its main thread). Children run in a
session of their own, so that a terminal's Ctrl-C reaches only the parent, which stops them in order.

A child runs with the package's Fast DDS profile (``executive/dds``), under the variable name its
Fast DDS reads (2.x on Jazzy, 3.x on Kilted), unless the environment names another one: besides the 3 s lease, it lets the
sim's servers wait long enough for a just-discovered client to be matched before answering it.
Without it, the first goal sent to a new sim can get no answer at all (the response is dropped after
100 ms; see the profile).
"""
import ctypes
import json
import os
import pathlib
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time

from executive import dds

BIN = pathlib.Path(sys.executable).parent

PR_SET_PDEATHSIG = 1                        # <linux/prctl.h>
_libc = ctypes.CDLL(None, use_errno=True)   # resolved here: the child between fork and exec only calls it
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _child_setup(parent: int, block_stop_signals: bool):
    """What the child runs between fork and exec (``preexec_fn``): nothing that imports, locks or
    allocates much, since other threads of the parent may hold locks at the fork."""
    def setup():
        if block_stop_signals:
            # Pending until the child takes them itself (mission-sim: sim/process.py), so a signal
            # during the interpreter's start-up is not a KeyboardInterrupt traceback.
            signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:          # the parent died before prctl took effect
            os._exit(1)
    return setup


class Lines:
    """A stream's lines, read on a thread of their own so that waiting for one has a deadline."""

    def __init__(self, stream, label: str = "the child"):
        self.label = label
        self.seen = []              # every line read so far
        self._queue = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def until(self, text: str, timeout: float, anywhere: bool = False) -> str:
        """The next line that starts with (or, ``anywhere``, contains) ``text``, without its newline;
        lines before it are skipped. TimeoutError after ``timeout`` s; EOFError if the stream ends."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"{self.label} printed no line with {text!r} within {timeout} s: "
                                   f"{''.join(self.seen[-20:])}") from None
            if line is None:
                self._queue.put(None)       # still ended for the next caller
                raise EOFError(f"{self.label} ended before printing {text!r}: {''.join(self.seen[-20:])}")
            self.seen.append(line)
            if (text in line) if anywhere else line.startswith(text):
                return line.rstrip("\n")

    def available(self) -> str:
        """The lines read so far and not yet waited for."""
        lines = []
        while not self._queue.empty():
            line = self._queue.get()
            if line is None:
                self._queue.put(None)
                break
            self.seen.append(line)
            lines.append(line)
        return "".join(lines)


class ChildProcess:
    """A program that prints ``READY`` once it serves; started in its own session so that a
    terminal's Ctrl-C reaches only us, and we stop it in order."""

    program = ""
    _config_path = None
    # The child takes SIGINT/SIGTERM itself with them blocked from its first instruction on.
    blocks_stop_signals = False

    def _start(self, args, timeout, env, wait_ready: bool = True):
        self._stderr = tempfile.TemporaryFile(mode="w+")
        env = dict(os.environ if env is None else env)
        dds.use_profile(env)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                                     env=env, start_new_session=True,
                                     preexec_fn=_child_setup(os.getpid(), self.blocks_stop_signals))
        self.lines = Lines(self.proc.stdout, self.label)
        self._ready_timeout = timeout
        if wait_ready:
            self.wait_ready(timeout)

    def wait_ready(self, timeout: float = None) -> None:
        """Wait until the child prints READY (default: the timeout it was started with); TimeoutError
        (child stopped) or RuntimeError (it exited)."""
        timeout = self._ready_timeout if timeout is None else timeout
        try:
            self.lines.until("READY", timeout)
        except TimeoutError:
            self.stop()
            raise TimeoutError(f"{self.label} not ready within {timeout} s: {self.stderr()}") from None
        except EOFError:
            raise RuntimeError(f"{self.label} exited with {self.proc.wait()}: {self.stderr()}") from None

    @property
    def label(self) -> str:
        return self.program

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()

    def output(self) -> str:
        """What the child printed after READY (read so far)."""
        return self.lines.available()

    def wait_line(self, prefix: str, timeout: float) -> str:
        """The next line the child prints that starts with ``prefix`` (see :meth:`Lines.until`);
        RuntimeError, with its stderr, if the child ends first."""
        try:
            return self.lines.until(prefix, timeout)
        except EOFError as exc:
            raise RuntimeError(f"{exc} {self.stderr()}") from None

    def wait_exit(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def kill(self, timeout: float = 10.0) -> int:
        """SIGKILL, as a crash would end it (no DDS goodbye; its shared memory is left behind), and
        wait for it to be gone."""
        if self.proc.poll() is None:
            self.proc.kill()
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._config_path:
            os.unlink(self._config_path)
            self._config_path = None
        return self.proc.returncode


class SimProcess(ChildProcess):
    """``mission-sim`` in its own process: the robot ``namespace``, or with ``robots=N`` a fleet of
    robot1..robotN in this one process (``namespaces`` lists them)."""

    program = "mission-sim"
    blocks_stop_signals = True

    def __init__(self, namespace: str = "", *extra, config: dict = None, time_scale: float = 1.0,
                 timeout: float = 20.0, env: dict = None, wrapper=(), robots: int = 0, wait_ready: bool = True):
        """``wait_ready=False``: return once started; :meth:`wait_ready` waits for READY."""
        self.namespace = namespace.strip("/")
        self.options = dict(extra=extra, config=config, time_scale=time_scale, env=env, wrapper=wrapper, robots=robots)
        fleet = [f"robot{i}" for i in range(1, robots + 1)]
        self.namespaces = ([self.namespace] if self.namespace or not robots else []) + fleet
        args = [*wrapper, str(BIN / "mission-sim")]
        if self.namespace or not robots:
            args += ["--namespace", self.namespace]
        if robots:
            args += ["--robots", str(robots)]
            timeout = max(timeout, 20.0 + 0.5 * robots)     # each robot's servers take a while to create
        args += ["--time-scale", str(time_scale), *extra]   # extra last: it may hold --ros-args
        if config is not None:
            fd, self._config_path = tempfile.mkstemp(suffix=".yaml", prefix="sim_config_")
            with os.fdopen(fd, "w") as f:
                json.dump(config, f)  # JSON is YAML
            args += ["--config", self._config_path]
        self._start(args, timeout, env, wait_ready)

    def again(self, timeout: float = 20.0, wait_ready: bool = True) -> "SimProcess":
        """A new sim of the same robot(s), started as this one was (e.g. after :meth:`kill`)."""
        options = dict(self.options)
        return SimProcess(self.namespace, *options.pop("extra"), timeout=timeout, wait_ready=wait_ready, **options)

    @property
    def label(self) -> str:
        if len(self.namespaces) > 1:
            return f"mission-sim {self.namespaces[0]}..{self.namespaces[-1]}"
        return f"mission-sim {self.namespace}"

    @property
    def node_name(self) -> str:
        return f"/{self.namespace}/robot_sim" if self.namespace else "/robot_sim"

    def name(self, relative: str, robot: str = None) -> str:
        """The absolute name of ``relative`` for ``robot`` (default: this process's first robot)."""
        robot = self.namespaces[0] if robot is None else robot.strip("/")
        return f"/{robot}/{relative}" if robot else f"/{relative}"


class ExecutiveProcess(ChildProcess):
    """``mission-executive`` in its own process, with ROS parameters ``params``; in ``namespace``
    its action is ``/<namespace>/execute_mission``."""

    program = "mission-executive"

    def __init__(self, params: dict = None, namespace: str = "", node_name: str = "mission_executive",
                 timeout: float = 20.0, env: dict = None, wrapper=()):
        self.namespace = namespace.strip("/")
        prefix = f"/{self.namespace}" if self.namespace else ""
        self.node_name = f"{prefix}/{node_name}"
        self.action_name = f"{prefix}/execute_mission"
        args = [*wrapper, str(BIN / "mission-executive"), "--ros-args", "-r", f"__node:={node_name}"]
        if self.namespace:
            args += ["-r", f"__ns:={prefix}"]
        for key, value in (params or {}).items():
            args += ["-p", f"{key}:={json.dumps(value) if not isinstance(value, str) else value}"]
        self._start(args, timeout, env)
