"""Hostile goals (#16): the ExecuteMission action is served over unauthenticated DDS, so anyone on the
robot's network can send a goal. Every case the issue lists, and its kind (hypothesis-generated
overrides and mission texts mixing huge numbers, NaN, aliases, tags, long names, control
characters, deep nesting), is sent to an idle executive and to one running a mission, under both
goal policies. Asserted each time: the executive stays up (same process, it answers), the running
mission succeeds undisturbed, every hostile goal is answered within a generous deadline (INVALID
when idle; rejected or INVALID when busy), nothing of a file outside the mission roots is quoted,
and the executive's memory stays within a bound.

Real processes over DDS: ``mission-executive`` and ``mission-sim``; goals from this process.
"""
import os
import pathlib
import time

import pytest
from action_msgs.msg import GoalStatus
from hypothesis import HealthCheck, given, settings, strategies as st

import scenarios
from executive.tools.launcher import ExecutiveProcess
from harness import unique_name

RESULT = scenarios.RESULT
ANSWER_DEADLINE = 60.0      # s for any hostile goal to be answered (a load is bounded by load_timeout, 10 s)
RSS_GROWTH_BOUND = 300      # MB an executive may grow by over the whole module
SECRET_FILE = "/etc/passwd"
SECRET_WORDS = ("root:", "/bin/", "nologin")
PWNED = pathlib.Path("/tmp") / f"hostile_pwned_{os.getpid()}"
COUNTS = {}                 # kind of goal -> goals sent, for bench/RESULTS.md


def bomb(levels: int = 9) -> str:
    """A billion-laughs alias bomb: a few hundred bytes, 9**levels strings once expanded."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines)


HUGE = "1" + "0" * 400          # 1e400: an int too big for a C double, and inf as a float


def text(tree: str, name: str = "hostile", extra: str = "") -> str:
    return f"name: {name}\n{extra}tree:\n{tree}\n"


# (kind, mission, overrides). Each must be answered INVALID by an idle executive.
CASES = [
    ("override_unclosed_list", "patrol", ["laps=["]),
    ("override_python_tag", "patrol", [f'laps=!!python/object/apply:os.system ["touch {PWNED}"]']),
    ("override_python_name_tag", "patrol", ["robot=!!python/name:os.system"]),
    ("override_huge_int", "patrol", [f"laps={HUGE}"]),
    ("override_huge_float", "patrol", ["laps=1e400"]),
    ("override_nan", "patrol", ["laps=.nan"]),
    ("override_alias_bomb", "patrol", ["robot=" + bomb().replace("\n", " ")]),
    ("override_flow_bomb", "patrol", ["robot=&a [*a]"]),
    ("override_deep_nesting", "patrol", ["robot=" + "[" * 5000 + "]" * 5000]),
    ("override_control_characters", "patrol", ["robot=\x01\x02\x1b[31m\x7f"]),
    ("override_no_equals", "patrol", ["laps"]),
    ("override_unknown", "patrol", ["no_such_parameter=1"]),
    ("override_huge", "patrol", ["robot=" + "x" * 100_000]),
    ("overrides_too_many", "patrol", [f"p{i}=1" for i in range(5000)]),
    ("pose_huge_number", text(f"  navigate: {{pose: {{x: {HUGE}, y: 0.0}}}}"), []),
    ("pose_nan", text("  navigate: {pose: {x: .nan, y: 0.0}}"), []),
    ("pose_yaw_inf", text("  navigate: {pose: {x: 1.0, y: 0.0, yaw: .inf}}"), []),
    ("timeout_huge_number", text(f"  timeout:\n    seconds: {HUGE}\n    child: {{wait: {{seconds: 1}}}}"), []),
    ("timeout_nan", text("  timeout:\n    seconds: .nan\n    child: {wait: {seconds: 1}}"), []),
    ("leaf_timeout_nan", text("  navigate: {pose: {x: 1.0, y: 0.0}, timeout: .nan}"), []),
    ("trajectory_time_inf", text("  follow_trajectory:\n    joints: [elbow_joint]\n"
                                 "    points: [{time: .inf, positions: [0.1]}]"), []),
    ("backoff_jitter_5", text("  retry:\n    attempts: 2\n    backoff: {jitter: 5}\n"
                              "    child: {wait: {seconds: 0.1}}"), []),
    ("wait_nan", text("  wait: {seconds: .nan}"), []),
    ("wait_inf", text("  wait: {seconds: .inf}"), []),
    ("wait_negative", text("  wait: {seconds: -1}"), []),
    ("repeat_huge", text(f"  repeat:\n    times: {HUGE}\n    child: {{wait: {{seconds: 0.1}}}}"), []),
    ("set_key_dotdot", text("  set: {key: '../x', value: 1}"), []),
    ("robot_not_a_ros_name", text("  navigate: {pose: {x: 1.0, y: 0.0}}", extra="robot: 'a b'\n"), []),
    ("name_300_characters", "m" * 300, []),
    ("name_control_characters", "patrol\x1b[2J\x07", []),
    ("absolute_path_outside", SECRET_FILE, []),
    ("absolute_path_outside_yaml", "/etc/hostname.yaml", []),
    ("dotdot_path", "../../../../../../etc/passwd", []),
    ("dotdot_inside_roots", "sub/../quick", []),
    ("symlink_out", "escape", []),
    ("directory_symlink_out", "linked/passwd", []),
    ("proc_file", "/proc/self/environ", []),
    ("include_outside", text(f"  include: {{file: {SECRET_FILE}}}"), []),
    ("include_dotdot", text("  include: {file: ../../../../etc/passwd}"), []),
    ("alias_bomb_text", bomb() + "\nname: bomb\ntree: {wait: {seconds: *a8}}\n", []),
    ("python_tag_text", f'name: tag\ntree: !!python/object/apply:os.system ["touch {PWNED}"]\n', []),
    ("custom_tag_text", "name: tag\ntree: !custom {wait: {seconds: 1}}\n", []),
    ("deep_nesting_text", "name: deep\ntree: " + "[" * 20000 + "]" * 20000 + "\n", []),
    ("deep_subtree_expansion", "name: expand\nsubtrees:\n" + "".join(
        f"  s{i}:\n    tree: {{sequence: {{children: [{{subtree: {{use: s{i + 1}}}}}, {{subtree: {{use: s{i + 1}}}}}]}}}}\n"
        for i in range(24)) + "  s24:\n    tree: {wait: {seconds: 0}}\ntree: {subtree: {use: s0}}\n", []),
    ("big_mission_invalid_at_its_end", text("  sequence:\n    children:\n" + "".join(
        f"      - navigate: {{pose: {{x: 1.0, y: {i % 10}.0}}}}\n" for i in range(2000)) +
        "      - action: {type: mission_interfaces/action/NoSuchAction, action: nowhere}", extra="robot: r\n"), []),
    ("ten_megabytes", "name: big\ntree: {wait: {seconds: 1}}\n# " + "x" * 10_000_000 + "\n", []),
    ("control_characters_text", "name: \x1b[2J\x07\ntree: {wait: {seconds: 1}}\nbogus: \x01\n", []),
    ("not_yaml", "{{{{ ]]]] :::: \n", []),
    ("empty", "", []),
]


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    """A missions directory with a mission, one in a subdirectory, and symlinks out of it."""
    root = tmp_path_factory.mktemp("hostile_roots")
    (root / "quick.yaml").write_text("name: quick\ntree:\n  wait: {seconds: 0.1}\n")
    (root / "sub").mkdir()
    (root / "sub" / "inner.yaml").write_text("name: inner\ntree:\n  wait: {seconds: 0.1}\n")
    (root / "escape.yaml").symlink_to(SECRET_FILE)
    (root / "linked").symlink_to("/etc")
    return root


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile_runs")


@pytest.fixture(scope="module", params=["reject", "preempt"])
def executive(request, ros_session, roots, log_dir):
    process = ExecutiveProcess({"log_dir": str(log_dir), "missions_dir": str(roots), "goal_policy": request.param},
                               namespace=unique_name(f"hostile_{request.param}"))
    process.policy = request.param
    process.first_rss = rss_mb(process.proc.pid)
    process.pid = process.proc.pid
    yield process
    assert process.stop() == 0, process.stderr()[-5000:]


def rss_mb(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


class Background:
    """Keeps a mission running on the sim (``patrol``): each one must end SUCCEEDED, and another
    starts when one ends. Its feedback's arrival times show whether the executive ever stalled."""

    def __init__(self, ros, executive, sim):
        self.ros, self.executive, self.sim = ros, executive, sim
        self.handle = self.result = None
        self.succeeded = 0
        self.arrivals = []      # monotonic times feedback arrived, per mission

    def ensure(self):
        """A mission is running (started now if the last one ended, which must have succeeded)."""
        self.ros.executor.spin_once(timeout_sec=0)
        if self.result is not None and not self.result.done():
            return
        self.finish()
        client = self.ros.action_client(scenarios.ExecuteMission, self.executive.action_name)
        goal = scenarios.ExecuteMission.Goal(mission="patrol", parameters=[f"robot={self.sim.namespace}", "laps=2"])
        times = []
        self.arrivals.append(times)
        accept = client.send_goal_async(goal, feedback_callback=lambda _: times.append(time.monotonic()))
        self.handle = self.ros.wait(accept, 30)
        assert self.handle.accepted, "the background mission was rejected"
        self.result = self.handle.get_result_async()
        self.ros.spin_until(lambda: len(times) >= 2, 30, "the background mission's feedback")

    def finish(self):
        if self.result is None:
            return
        response = self.ros.wait(self.result, 180)
        assert response.result.outcome_code == RESULT.OUTCOME_SUCCEEDED, \
            f"the running mission was disturbed: {scenarios.explain(response.result)}"
        assert response.status == GoalStatus.STATUS_SUCCEEDED
        self.succeeded += 1
        self.result = None
        scenarios.no_goal_left(self.ros, [self.sim])

    def longest_silence(self) -> float:
        """The longest gap between two feedback messages of one mission (s)."""
        return max((b - a for times in self.arrivals for a, b in zip(times, times[1:])), default=0.0)


def answer(ros, executive, mission, overrides, busy: bool, kind: str):
    """Send one hostile goal; assert it is answered as it must be; return the result (or None if
    it was rejected)."""
    COUNTS[kind] = COUNTS.get(kind, 0) + 1
    call = scenarios.send(ros, mission, overrides, action=executive.action_name)
    accepted = call.accepted(ANSWER_DEADLINE)
    if busy and not accepted:
        return None
    assert accepted, f"{kind}: an idle executive rejected the goal"
    try:
        status, result = call.result(ANSWER_DEADLINE)
    except TimeoutError:
        call.cancel()       # it runs: stop it, so that the next case finds the executive as it was
        call.result(30)
        raise AssertionError(f"{kind}: accepted and still running after {ANSWER_DEADLINE} s") from None
    assert result.outcome_code == RESULT.OUTCOME_INVALID, f"{kind}: {scenarios.explain(result)[:2000]}"
    assert status == GoalStatus.STATUS_ABORTED
    assert result.errors, kind
    said = "\n".join([result.message, *result.errors])
    assert not any(word in said for word in SECRET_WORDS), f"{kind} quoted a file outside the roots: {said[:2000]}"
    assert len(said) < 250_000, f"{kind}: {len(said)} characters of errors"
    return result


def still_up(ros, executive):
    assert executive.proc.poll() is None, "the executive died"
    assert executive.proc.pid == getattr(executive, "pid", executive.proc.pid), "the executive was restarted"
    status, result = scenarios.send(ros, "no_such_mission", action=executive.action_name).result(30)
    assert result.outcome_code == RESULT.OUTCOME_INVALID and "no mission named" in result.errors[0]


def hostile_goal_strategy():
    """Goals mixing huge numbers, NaN, aliases, tags, long names, control characters and deep
    nesting: mission names, mission texts built on every kind's numeric and name fields, and
    overrides. Each carries an override no mission declares, so none can be valid."""
    scalar = st.one_of(
        st.sampled_from([HUGE, "-" + HUGE, "1e400", "-1e400", ".nan", ".NaN", ".inf", "-.inf", "1e308", "0x" + "f" * 80,
                         "!!python/name:os.system", "!!python/object/apply:os.system [true]", "!!binary AAAA",
                         "!custom x", "&a [*a, *a]", "*nope", "[", "{", "]", "'", '"', "|", ">", "---", "...", "~",
                         "null", "!!float nan", "0o777", "1_000", "<<: *a", "${laps}", "${", "@", "`", "%x"]),
        st.text(st.characters(min_codepoint=1, max_codepoint=0x1f) | st.sampled_from("\x7f\u202e\ufeff\u2028"),
                min_size=1, max_size=20),
        st.integers(min_value=100, max_value=5000).map(lambda n: "n" * n),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.integers(min_value=-10 ** 400, max_value=10 ** 400).map(str),
        st.integers(min_value=1, max_value=300).map(lambda n: "[" * n + "]" * n),
    )
    templates = st.sampled_from([
        "wait: {{seconds: {}}}", "navigate: {{pose: {{x: {}, y: {}, yaw: {}}}}}",
        "navigate: {{pose: {{x: 1.0, y: 1.0}}, timeout: {}}}",
        "timeout: {{seconds: {}, child: {{wait: {{seconds: 0.1}}}}}}",
        "retry: {{attempts: {}, backoff: {{initial: {}, factor: {}, max: {}, jitter: {}}}, "
        "child: {{wait: {{seconds: 0.1}}}}}}",
        "repeat: {{times: {}, child: {{wait: {{seconds: 0.1}}}}}}",
        "follow_trajectory: {{joints: [{}], points: [{{time: {}, positions: [{}]}}]}}",
        "move_arm: {{joints: {{elbow_joint: {}}}, velocity_scaling: {}}}", "set: {{key: {}, value: {}}}",
        "condition: {{check: {}}}", "log: {{message: {}}}", "action: {{type: {}, action: {}}}",
        "service: {{type: std_srvs/srv/Trigger, service: {}}}", "{}: {{}}",
    ])

    @st.composite
    def leaf(draw):
        template = draw(templates)
        return template.format(*[draw(scalar) for _ in range(template.count("{}"))])

    @st.composite
    def mission_text(draw):
        leaves = draw(st.lists(leaf(), min_size=1, max_size=4))
        head = draw(st.sampled_from(["", bomb(draw(st.integers(2, 9))) + "\n", "%YAML 1.1\n---\n"]))
        name, robot = draw(scalar), draw(scalar)
        body = "".join(f"      - {item}\n" for item in leaves)
        return f"{head}name: {name}\nrobot: {robot}\ntree:\n  sequence:\n    children:\n{body}"

    names = st.one_of(scalar, st.sampled_from(["/etc/passwd", "../../etc/passwd", "~/.bashrc", "/proc/self/environ",
                                               "escape", "linked/passwd", "sub/../../x"]))
    overrides = st.lists(st.tuples(st.sampled_from(["laps", "robot", "x"]) | scalar, scalar)
                         .map(lambda p: f"{p[0]}={p[1]}"), max_size=6)
    return st.tuples(st.one_of(names, mission_text()), overrides).map(
        lambda goal: (goal[0], goal[1] + ["zz_hostile_unknown_parameter=1"]))


GENERATED = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                            HealthCheck.data_too_large, HealthCheck.large_base_example])


@pytest.mark.parametrize("kind, mission, overrides", CASES, ids=[case[0] for case in CASES])
def test_a_hostile_goal_to_an_idle_executive_is_invalid(ros_session, executive, kind, mission, overrides):
    answer(ros_session, executive, mission, overrides, busy=False, kind=kind)
    assert not PWNED.exists(), "a tag ran code"


def test_a_goal_inside_the_roots_runs(ros_session, executive, roots):
    """The roots are not a wall against their own files: names, subdirectories and absolute paths in them run."""
    for mission in ("quick", "quick.yaml", "sub/inner", str(roots / "quick.yaml")):
        status, result = scenarios.send(ros_session, mission, action=executive.action_name).result(30)
        assert result.outcome_code == RESULT.OUTCOME_SUCCEEDED, f"{mission}: {scenarios.explain(result)}"


@GENERATED
@given(goal=hostile_goal_strategy())
def test_generated_hostile_goals_to_an_idle_executive_are_invalid(ros_session, executive, goal):
    answer(ros_session, executive, *goal, busy=False, kind="generated, idle")


def test_hostile_goals_while_a_mission_runs(ros_session, executive, sim):
    """Every listed case, then generated ones, while a mission drives the sim: each is rejected
    (goal_policy reject) or answered INVALID (preempt: it is loaded, off the executor's thread),
    and the running mission succeeds; its feedback never stops for long (nothing stalls the executor)."""
    background = Background(ros_session, executive, sim)
    for kind, mission, overrides in CASES:
        background.ensure()
        answer(ros_session, executive, mission, overrides, busy=True, kind=kind)

    @GENERATED
    @given(goal=hostile_goal_strategy())
    def generated(goal):
        background.ensure()
        answer(ros_session, executive, *goal, busy=True, kind="generated, busy")
    generated()
    background.finish()
    assert background.succeeded >= 1
    assert background.longest_silence() < 5.0, f"feedback stopped for {background.longest_silence():.1f} s"
    assert not PWNED.exists(), "a tag ran code"


def test_the_executive_stayed_up_and_small(ros_session, executive):
    still_up(ros_session, executive)
    grown = rss_mb(executive.pid) - executive.first_rss
    print(f"\n{executive.policy}: RSS {executive.first_rss:.0f} MB at start, grew {grown:.0f} MB; goals sent: "
          f"{sum(COUNTS.values())} ({len(COUNTS)} kinds)")
    assert grown < RSS_GROWTH_BOUND, f"RSS grew by {grown:.0f} MB"


# -- bursts: every goal, cancel and service request answered ---------------------------------------

@pytest.fixture(scope="module")
def burst_executive(ros_session, roots, tmp_path_factory):
    process = ExecutiveProcess({"log_dir": str(tmp_path_factory.mktemp("burst_runs")), "missions_dir": str(roots)},
                               namespace=unique_name("burst"))
    process.pid = process.proc.pid
    yield process
    assert process.stop() == 0, process.stderr()[-5000:]


def deep_action_client(ros, action: str):
    """A client whose own response queues hold a whole burst (the server's alone are not enough
    when this process is slower to take the answers than the executive is to send them)."""
    from rclpy.action import ActionClient

    from executive.node import SERVICE_QOS

    client = ActionClient(ros.node, scenarios.ExecuteMission, action, goal_service_qos_profile=SERVICE_QOS,
                          result_service_qos_profile=SERVICE_QOS, cancel_service_qos_profile=SERVICE_QOS)
    ros.spin_until(client.server_is_ready, 15.0, f"action server {action}")
    return client


def all_done(ros, futures, timeout: float, what: str):
    ros.spin_until(lambda: all(f.done() for f in futures), timeout,
                   f"{what}: {sum(f.done() for f in futures)} of {len(futures)} answered")
    return [f.result() for f in futures]


@pytest.mark.parametrize("policy", ["reject", "preempt"])
def test_a_burst_of_goals_is_answered_every_one(ros_session, burst_executive, policy):
    """1,000 goals at once: each is accepted or rejected, and each accepted one gets its result."""
    from executive.node import BURST

    ros_session.set_parameters(burst_executive.node_name, {"goal_policy": policy})
    try:
        client = deep_action_client(ros_session, burst_executive.action_name)
        goal = scenarios.ExecuteMission.Goal(mission="quick")
        handles = all_done(ros_session, [client.send_goal_async(goal) for _ in range(BURST)], 300, "goal requests")
        accepted = [h for h in handles if h.accepted]
        responses = all_done(ros_session, [h.get_result_async() for h in accepted], 300, "results")
    finally:
        ros_session.set_parameters(burst_executive.node_name, {"goal_policy": "reject"})
    COUNTS[f"burst of goals ({policy})"] = BURST
    assert accepted, "none of the burst was accepted"
    outcomes = {scenarios.OUTCOMES.get(r.result.outcome_code, r.result.outcome_code) for r in responses}
    assert outcomes <= {"succeeded", "canceled"}, outcomes     # canceled: preempted by a newer one
    assert "succeeded" in outcomes
    print(f"\n{policy}: {len(accepted)} of {BURST} goals accepted, {len(handles) - len(accepted)} rejected")


def test_a_storm_of_cancels_is_answered_every_one(ros_session, burst_executive):
    """200 cancel requests (goal ids the executive never heard of, and the running mission's):
    every one is answered."""
    import uuid

    from action_msgs.srv import CancelGoal
    from rclpy.action.client import ClientGoalHandle
    from unique_identifier_msgs.msg import UUID

    client = deep_action_client(ros_session, burst_executive.action_name)
    running = ros_session.wait(client.send_goal_async(scenarios.ExecuteMission.Goal(
        mission="name: slow\ntree:\n  wait: {seconds: 60}\n")), 30)
    assert running.accepted
    response = scenarios.ExecuteMission.Impl.SendGoalService.Response(accepted=True)
    strangers = [ClientGoalHandle(client, UUID(uuid=list(uuid.uuid4().bytes)), response) for _ in range(199)]
    answers = all_done(ros_session, [h.cancel_goal_async() for h in strangers + [running]], 120, "cancel requests")
    COUNTS["storm of cancels"] = len(answers)
    assert [a.return_code for a in answers[:-1]] == [CancelGoal.Response.ERROR_UNKNOWN_GOAL_ID] * 199
    assert answers[-1].return_code == CancelGoal.Response.ERROR_NONE
    result = ros_session.wait(running.get_result_async(), 30).result
    assert result.outcome_code == RESULT.OUTCOME_CANCELED


def test_a_storm_of_pause_and_resume_calls_is_answered_every_one(ros_session, burst_executive):
    from std_srvs.srv import Trigger

    from executive.node import SERVICE_QOS

    clients = [ros_session.node.create_client(Trigger, f"{burst_executive.node_name}/{what}", qos_profile=SERVICE_QOS)
               for what in ("pause", "resume")]
    try:
        for c in clients:
            ros_session.spin_until(c.service_is_ready, 15.0, c.srv_name)
        call = scenarios.send(ros_session, "name: slow\ntree:\n  wait: {seconds: 60}\n",
                              action=burst_executive.action_name)
        assert call.accepted(30)
        answers = all_done(ros_session, [clients[i % 2].call_async(Trigger.Request()) for i in range(200)], 120,
                           "pause and resume calls")
        COUNTS["storm of pause/resume calls"] = len(answers)
        assert len(answers) == 200 and any(a.success for a in answers)
        assert all(a.message for a in answers)
        call.cancel()
        assert call.result(30)[1].outcome_code == RESULT.OUTCOME_CANCELED
    finally:
        for c in clients:
            ros_session.node.destroy_client(c)


def test_a_duplicate_goal_id_leaves_nothing_behind(ros_session, burst_executive):
    """Two goals with one id, sent at once while the first is being loaded: rclpy refuses the
    second after its goal callback accepted it; the executive must not count it (under reject it
    would then refuse every goal after)."""
    import uuid

    from unique_identifier_msgs.msg import UUID

    client = deep_action_client(ros_session, burst_executive.action_name)
    goal = scenarios.ExecuteMission.Goal(mission="quick")
    same = UUID(uuid=list(uuid.uuid4().bytes))
    handles = all_done(ros_session, [client.send_goal_async(goal, goal_uuid=same) for _ in range(2)], 60, "goals")
    accepted = [h for h in handles if h.accepted]
    assert len(accepted) == 1
    assert ros_session.wait(accepted[0].get_result_async(), 30).result.outcome_code == RESULT.OUTCOME_SUCCEEDED
    status, result = scenarios.send(ros_session, "quick", action=burst_executive.action_name).result(30)
    assert result.outcome_code == RESULT.OUTCOME_SUCCEEDED, scenarios.explain(result)


def test_the_burst_executive_stayed_up(ros_session, burst_executive):
    still_up(ros_session, burst_executive)


# -- log failures are loud ----------------------------------------------------------------------------

@pytest.fixture
def tmpfs(tmp_path):
    """Mount a small tmpfs of our own (a real file system that fills up, or is read-only);
    skipped where mount is not permitted."""
    import subprocess

    mounted = []

    def mount(options: str):
        point = tmp_path / f"tmpfs{len(mounted)}"
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True,
                              text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(point)
        return point
    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def fill(directory: pathlib.Path) -> pathlib.Path:
    """Write into ``directory`` until the file system is full; return the file."""
    filler = directory / "filler"
    try:
        with open(filler, "wb") as f:
            while True:
                f.write(b"x" * 4096)
                f.flush()
    except OSError:
        pass
    return filler


def test_a_full_disk_mid_run_is_said_and_the_mission_goes_on(ros_session, sim, tmpfs):
    """Documented choice: a run log that cannot be written does not stop a running mission; the
    executive says so (error log), the result's message says the log is incomplete, and writing
    resumes with a log_gap event once there is room again."""
    from executive import runlog

    disk = tmpfs("size=1m")
    process = ExecutiveProcess({"log_dir": str(disk)}, namespace=unique_name("fulldisk"))
    try:
        call = scenarios.send(ros_session, "patrol", [f"robot={sim.namespace}", "laps=1"], action=process.action_name)
        assert call.accepted(30)
        scenarios.wait_for_active(ros_session, call, "drive to north")
        filler = fill(disk)
        scenarios.wait_for_active(ros_session, call, "drive to south")
        filler.unlink()     # room again
        status, result = call.result(120)
        assert result.outcome_code == RESULT.OUTCOME_SUCCEEDED, scenarios.explain(result)
        assert "run log incomplete" in result.message and "No space left" in result.message, result.message
        events = runlog.read(next(disk.glob(f"*/{runlog.FILE_NAME}")))
        assert events[0]["event"] == "run_started" and events[-1]["event"] == "run_finished"
        gaps = [e for e in events if e["event"] == "log_gap"]
        assert gaps and gaps[0]["lost"] > 0, [e["event"] for e in events]
        assert "cannot write" in process.stderr() and "writing again" in process.stderr()
        still_up(ros_session, process)
    finally:
        process.stop()


def test_a_log_directory_deleted_mid_run_is_made_again(ros_session, sim, tmp_path):
    import shutil

    from executive import runlog

    process = ExecutiveProcess({"log_dir": str(tmp_path / "logs")}, namespace=unique_name("deleted"))
    try:
        call = scenarios.send(ros_session, "patrol", [f"robot={sim.namespace}", "laps=1"], action=process.action_name)
        assert call.accepted(30)
        scenarios.wait_for_active(ros_session, call, "drive to north")
        # Moved aside, then removed: rmtree alone races with the run, which makes the directory
        # again at its next write while rmtree is still emptying it ("Directory not empty").
        (tmp_path / "logs").rename(tmp_path / "gone")
        shutil.rmtree(tmp_path / "gone")
        status, result = call.result(120)
        assert result.outcome_code == RESULT.OUTCOME_SUCCEEDED, scenarios.explain(result)
        assert "run log incomplete" in result.message and "deleted" in result.message, result.message
        events = runlog.read(next((tmp_path / "logs").glob(f"*/{runlog.FILE_NAME}")))
        assert [e["event"] for e in events[:2]] == ["run_started", "log_recreated"]
        assert events[-1]["event"] == "run_finished" and events[-1]["outcome"] == "succeeded"
        assert "deleted while the run went on" in process.stderr()
    finally:
        process.stop()


@pytest.mark.parametrize("where", ["read-only file system", "a file, not a directory"])
def test_an_unwritable_log_directory_fails_the_goal_with_the_reason(ros_session, tmpfs, tmp_path, where):
    """Documented choice: a run that cannot be logged does not start (outcome error, and why)."""
    import subprocess

    from executive.tools.launcher import BIN

    if where == "read-only file system":
        log_dir, words = tmpfs("size=64k,ro"), "Read-only file system"
    else:
        (tmp_path / "plain").write_text("not a directory")
        log_dir, words = tmp_path / "plain" / "logs", "Not a directory"
    process = ExecutiveProcess({"log_dir": str(log_dir)}, namespace=unique_name("unwritable"))
    try:
        status, result = scenarios.send(ros_session, "name: q\ntree: {wait: {seconds: 0}}\n",
                                        action=process.action_name).result(30)
        assert result.outcome_code == RESULT.OUTCOME_ERROR, scenarios.explain(result)
        assert "cannot write the run log" in result.message and words in result.message, result.message
        done = subprocess.run([str(BIN / "mission"), "send", "inspection", "--action", process.action_name],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 4 and "cannot write the run log" in done.stdout + done.stderr, done
        assert "Traceback" not in done.stdout + done.stderr
        done = subprocess.run([str(BIN / "mission"), "run", "inspection", "--log-dir", str(log_dir)],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode != 0 and "Traceback" not in done.stdout + done.stderr, done
        still_up(ros_session, process)
    finally:
        process.stop()


# -- payloads in the run log -----------------------------------------------------------------------

def test_huge_feedback_and_results_are_cut_in_the_run_log(ros_session, tmp_path):
    """A server sending 1 MB feedback messages and a 5 MB result: the run log stays small, and
    what was cut says so."""
    from rclpy.action import ActionServer
    from rclpy.callback_groups import ReentrantCallbackGroup

    from executive import runlog
    from mission_interfaces.action import FollowJointTrajectory

    name = f"/{unique_name('big')}/follow"

    async def execute(handle):
        from rclpy.task import Future

        for _ in range(40):
            feedback = FollowJointTrajectory.Feedback(joint_names=["j" * 1000] * 1000)
            handle.publish_feedback(feedback)
            future = Future()
            timer = ros_session.node.create_timer(0.05, lambda: future.done() or future.set_result(True))
            await future
            ros_session.node.destroy_timer(timer)
        handle.succeed()
        return FollowJointTrajectory.Result(error_code=0, error_string="e" * 5_000_000)

    server = ActionServer(ros_session.node, FollowJointTrajectory, name, execute_callback=execute,
                          callback_group=ReentrantCallbackGroup())
    process = ExecutiveProcess({"log_dir": str(tmp_path)}, namespace=unique_name("payload"))
    try:
        mission = (f"name: big\ntree:\n  action: {{type: mission_interfaces/action/FollowJointTrajectory, "
                   f"action: {name}, success: 'error_code == 0'}}\n")
        call = scenarios.send(ros_session, mission, action=process.action_name)
        status, result = call.result(120)
        assert result.outcome_code == RESULT.OUTCOME_SUCCEEDED, scenarios.explain(result)
        log = next(tmp_path.glob(f"*/{runlog.FILE_NAME}"))
        assert log.stat().st_size < 200_000, f"{log.stat().st_size} bytes of log"
        events = runlog.read(log)
        feedback = [e for e in events if e["event"] == "feedback"]
        assert feedback and all("[cut: " in e["feedback"] for e in feedback)
        assert any(e["event"] == "result" and "[cut: " in e["message"] for e in events)
    finally:
        process.stop()
        server.destroy()
