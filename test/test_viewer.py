"""The browser viewer (executive/viewer): snapshots built from a real run, the HTTP/SSE API of a
real ``mission-executive`` and of ``mission run --viewer`` against the sim, replay of run logs
(``mission view``), and the page itself in headless Chromium (skipped without chromium)."""
import http.client
import json
import pathlib
import queue
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import py_trees
import pytest

import scenarios
from executive import runlog
from executive.tools.launcher import BIN, ExecutiveProcess, Lines
from executive.language.compiler import compile_mission, seed_blackboard
from executive.language.resolve import resolve_text
from executive.run import MissionRun
from executive.runlog import RunLog
from executive.viewer import state
from executive.viewer.hub import Feed, Hub
from harness import unique_name

ARTIFACTS = pathlib.Path(__file__).resolve().parent / "artifacts"
LOCAL_MISSION = """name: local
blackboard: {battery: 80}
tree:
  sequence:
    name: local
    children:
      - wait: {name: pause, seconds: 0.3}
      - set: {name: mark, key: visited, value: true}
      - condition: {name: charged, check: 'battery >= 20'}
"""


# -- helpers --------------------------------------------------------------------------------
def get(url: str, headers=None):
    """(status, decoded JSON or text) of a GET."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            code, body, kind = response.status, response.read(), response.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        code, body, kind = exc.code, exc.read(), exc.headers.get_content_type()
    return code, json.loads(body) if kind == "application/json" else body.decode()


def post(url: str, body: dict, content_type: str = "application/json"):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=40) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


class Stream:
    """A Server-Sent Events client on its own thread: every message lands in a queue."""

    def __init__(self, url: str):
        parts = urllib.parse.urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.connection.request("GET", "/api/stream")
        self.response = self.connection.getresponse()
        assert self.response.status == 200 and self.response.headers.get_content_type() == "text/event-stream"
        self.messages = queue.Queue()
        self.log = []           # every log event received
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        kind, data = None, []
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif not line and kind:
                    self.messages.put((kind, json.loads("\n".join(data))))
                    kind, data = None, []
        except (OSError, ValueError):
            pass
        self.messages.put(None)

    def state_where(self, predicate, timeout: float, what: str) -> dict:
        """The first state message (from now on) that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        seen = None
        while True:
            try:
                message = self.messages.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"no state with {what} within {timeout} s; last: {seen}") from None
            assert message is not None, f"the stream ended before {what}"
            kind, data = message
            if kind == "log":
                self.log.extend(data["events"])
            elif kind == "state":
                seen = {k: data.get(k) for k in ("state", "run_id", "active_path", "result")}
                if predicate(data):
                    return data

    def close(self):
        self.connection.close()


def statuses(snapshot) -> dict:
    return {n["path"]: n["status"] for n in snapshot["nodes"]}


def running_leaf(snapshot) -> bool:
    return any(n["leaf"] and n["status"] == "RUNNING" for n in snapshot["nodes"])


def start(args, **kwargs):
    return subprocess.Popen([str(BIN / args[0]), *args[1:]], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)


def url_of(line: str) -> str:
    return line.split()[1].split("#")[0]


def local_run(log_dir) -> pathlib.Path:
    """A finished run of LOCAL_MISSION (no robot needed) in ``log_dir``: its run directory."""
    mission_file = pathlib.Path(log_dir).parent / "local.yaml"
    mission_file.write_text(LOCAL_MISSION)
    done = subprocess.run([str(BIN / "mission"), "run", str(mission_file), "--log-dir", str(log_dir)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    (run_dir,) = pathlib.Path(log_dir).iterdir()
    return run_dir


def free_port_in_use():
    """A socket listening on a port of 127.0.0.1: that port is taken."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock, sock.getsockname()[1]


# -- state, without ROS ---------------------------------------------------------------------
def test_snapshot_follows_a_run_and_the_log_holds_the_tree(tmp_path):
    model = resolve_text(LOCAL_MISSION, tmp_path, {})
    root = compile_mission(model)
    py_trees.blackboard.Blackboard.storage.clear()
    run = MissionRun(model, root, RunLog(tmp_path, model.name))
    seed_blackboard(model)
    hub = Hub(state.idle())
    feed = Feed(hub)        # the listener the viewer gives the executive
    root.tick_once()
    run.after_tick()
    feed(run)
    live = state.snapshot(run, py_trees.blackboard.Blackboard.storage)
    assert [n["path"] for n in live["nodes"]] == ["local", "local/pause", "local/mark", "local/charged"]
    assert [n["parent"] for n in live["nodes"]] == [-1, 0, 0, 0]
    assert statuses(live)["local/pause"] == "RUNNING" and live["state"] == "running"
    assert [n["path"] for n in live["nodes"] if n["active"]] == ["local", "local/pause"]
    assert live["active_path"] == "local/pause" and live["running"] == ["local/pause"]
    assert live["blackboard"] == {"/battery": "80"} and live["result"] is None
    first = [json.loads(e) for e in hub.events]
    assert first[0]["event"] == "run_started"
    assert first[0]["tree"] == [{k: n[k] for k in ("path", "name", "kind", "leaf", "parent")} for n in live["nodes"]]
    deadline = time.monotonic() + 10
    while not run.done:
        assert time.monotonic() < deadline, "the local mission did not finish"
        root.tick_once()
        run.after_tick()
    done = state.snapshot(run, py_trees.blackboard.Blackboard.storage)
    json.dumps(done)        # JSON-able as it is
    assert set(statuses(done).values()) == {"SUCCESS"} and done["result"]["outcome"] == "succeeded"
    assert done["blackboard"]["/visited"] == "true" and done["progress"] == 1.0    # JSON, as people read data
    feed(run)
    every = [json.loads(e) for e in hub.events]
    assert every[:len(first)] == first and every[-1]["event"] == "run_finished"
    assert every == runlog.read(run.log.path), "the timeline is the log, each event once"


def test_safe_repr_truncates_and_survives_broken_values():
    class Broken:
        def __repr__(self):
            raise RuntimeError("no")
    assert state.safe_repr("x" * 1000, 50).endswith("…") and len(state.safe_repr("x" * 1000, 50)) == 50
    assert state.safe_repr(Broken()) == "<unrepresentable Broken: RuntimeError>"


# -- a live executive with the viewer -------------------------------------------------------
@pytest.fixture(scope="module")
def log_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("viewer_runs")


@pytest.fixture(scope="module")
def executive(ros_session, log_dir):
    """``mission-executive`` with the viewer on a free port and control allowed; ``.url`` its page."""
    process = ExecutiveProcess({"log_dir": str(log_dir), "viewer": True, "viewer_port": 0,
                                "viewer_allow_control": True}, namespace=unique_name("viewer"))
    process.url = url_of(process.wait_line("VIEWER", 10))
    yield process
    assert process.stop() == 0, process.stderr()


def idle_or_done(snapshot) -> bool:
    return snapshot["state"] in ("idle", "done")


def test_api_follows_a_mission_started_and_cancelled_from_it(executive, sim, log_dir):
    code, config = get(executive.url + "api/config")
    assert code == 200 and config["live"] and config["control"] and "inspection" in config["missions"]
    assert "common" not in config["missions"]      # a library of subtrees cannot be run
    stream = Stream(executive.url)
    try:
        stream.state_where(idle_or_done, 10, "an idle executive")
        code, answer = post(executive.url + "api/start", {"mission": "inspection",
                                                           "parameters": [f"robot={sim.namespace}"]})
        assert code == 200 and answer["ok"], answer
        run_id = answer["run_id"]
        running = stream.state_where(lambda s: s["run_id"] == run_id and running_leaf(s), 20, "a running leaf")
        assert running["mission"] == "inspection" and running["active_path"].startswith("inspection/")
        assert any(n["active"] for n in running["nodes"])
        code, answer = post(executive.url + "api/start", {"mission": "inspection"})
        assert code == 409, answer      # one mission at a time
        done = stream.state_where(lambda s: s["run_id"] == run_id and s["state"] == "done", 60, "the end")
        assert done["result"]["outcome"] == "succeeded" and statuses(done)["inspection"] == "SUCCESS"
        assert stream.log[0]["event"] == "run_started" and stream.log[-1]["event"] == "run_finished"
        assert any(e["event"] == "goal_sent" for e in stream.log)

        code, answer = post(executive.url + "api/start", {"mission": "patrol", "parameters": [f"robot={sim.namespace}"]})
        assert code == 200, answer
        patrol = answer["run_id"]
        stream.state_where(lambda s: s["run_id"] == patrol and any(
            n["kind"] == "navigate" and n["status"] == "RUNNING" for n in s["nodes"]), 30, "a drive")
        code, answer = post(executive.url + "api/cancel", {})
        assert code == 200 and answer["ok"], answer
        cancelled = stream.state_where(lambda s: s["run_id"] == patrol and s["state"] == "done", 30, "the cancel")
        assert cancelled["result"]["outcome"] == "canceled"
        code, answer = post(executive.url + "api/cancel", {})
        assert code == 409 and "no mission" in answer["message"]
    finally:
        stream.close()
    code, runs = get(executive.url + "api/runs")
    assert {r["run_id"]: r["outcome"] for r in runs}[run_id] == "succeeded"
    code, replay = get(executive.url + f"api/runs/{run_id}")
    assert code == 200 and replay["events"] == runlog.read(log_dir / run_id)
    assert [n["path"] for n in replay["events"][0]["tree"]] == [n["path"] for n in done["nodes"]]


def test_api_refuses_bad_requests(executive):
    assert post(executive.url + "api/start", {"mission": "no_such_mission"})[0] == 400
    assert post(executive.url + "api/start", {"mission": "inspection"}, content_type="text/plain")[0] == 415
    assert get(executive.url + "api/runs/..%2F..%2Fetc")[0] == 404
    assert get(executive.url + "api/runs/nope")[0] == 404
    assert get(executive.url + "api/state", headers={"Host": "evil.example:80"})[0] == 403
    request = urllib.request.Request(executive.url + "api/cancel", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json", "Origin": "http://evil.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403


# -- mission run --viewer, mission view -----------------------------------------------------
def test_mission_run_viewer_keeps_the_final_state_and_is_read_only(tmp_path):
    proc = start(["mission", "run", "inspection", "--sim", "--time-scale", "8", "--viewer", "--port", "0",
                  "--linger", "120", "--log-dir", str(tmp_path)])
    try:
        lines = Lines(proc.stdout)
        url = url_of(lines.until("viewer: http", 60))
        assert url.startswith("http://127.0.0.1:")
        lines.until("viewer: showing the final state", 60)
        code, final = get(url + "api/state")
        assert code == 200 and final["state"] == "done" and final["result"]["outcome"] == "succeeded"
        assert set(statuses(final).values()) == {"SUCCESS"} or statuses(final)["inspection"] == "SUCCESS"
        assert get(url + "api/config")[1]["control"] is False
        code, answer = post(url + "api/cancel", {})
        assert code == 403 and "allow-control" in answer["message"]
        assert post(url + "api/start", {"mission": "inspection"})[0] == 403
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0, proc.stderr.read()     # the mission's exit code, not 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_mission_view_replays_logs_without_an_executive(tmp_path):
    run_dir = local_run(tmp_path / "logs")
    report = subprocess.run([str(BIN / "mission"), "report", str(run_dir)], capture_output=True, text=True, timeout=60)
    assert report.returncode == 0 and "tree=" not in report.stdout, report.stdout + report.stderr
    proc = start(["mission", "view", run_dir.name, "--log-dir", str(tmp_path / "logs"), "--port", "0"])
    try:
        line = Lines(proc.stdout).until("viewer: http", 30)
        assert line.split()[1].endswith(f"#run={run_dir.name}")
        url = url_of(line)
        assert get(url + "api/config")[1] == {"live": False, "control": False, "token_required": False, "missions": []}
        code, runs = get(url + "api/runs")
        assert code == 200 and [(r["run_id"], r["mission"], r["outcome"]) for r in runs] == \
            [(run_dir.name, "local", "succeeded")]
        code, replay = get(url + f"api/runs/{run_dir.name}")
        assert code == 200 and replay["events"][-1]["event"] == "run_finished"
        assert [n["path"] for n in replay["events"][0]["tree"]] == ["local", "local/pause", "local/mark", "local/charged"]
        assert post(url + "api/start", {"mission": "local"})[0] == 403
        assert "<script src=\"viewer.js\">" in get(url)[1]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_port_in_use_is_a_clear_error(tmp_path):
    sock, port = free_port_in_use()
    with sock:
        done = subprocess.run([str(BIN / "mission"), "run", "inspection", "--sim", "--viewer", "--port", str(port),
                               "--log-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, done.stdout + done.stderr
        assert f"port {port} on 127.0.0.1 is already in use" in done.stderr and "Traceback" not in done.stderr
        assert "robot1 ready" not in done.stderr and not list(tmp_path.iterdir())     # nothing was started
        done = subprocess.run([str(BIN / "mission"), "view", "--port", str(port)], capture_output=True, text=True,
                              timeout=30)
        assert done.returncode == 2 and f"port {port}" in done.stderr and "Traceback" not in done.stderr
        done = subprocess.run([str(BIN / "mission-executive"), "--ros-args", "-p", "viewer:=true",
                               "-p", f"viewer_port:={port}", "-r", f"__node:={unique_name('busy_port')}"],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and f"port {port}" in done.stderr and "Traceback" not in done.stderr


# -- the page in headless Chromium ----------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("chromium and chromium-driver are not installed (scripts/setup.sh installs them)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (requirements/dev.txt)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium      # the system's browser; nothing is downloaded
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,900", "--disable-extensions", "--no-first-run"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    ARTIFACTS.mkdir(exist_ok=True)
    yield driver
    driver.quit()


def wait_for(driver, condition, timeout: float, what: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: condition(d), message=what)


def page_state(driver) -> str:
    return driver.execute_script("return document.getElementById('state').dataset.state")


def outcome(driver):
    return driver.execute_script("const o = document.getElementById('outcome'); return o.hidden ? null : o.dataset.outcome")


def row_statuses(driver) -> dict:
    return driver.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('#tree li.node')].map(r => [r.dataset.path, r.dataset.status]))")


RECORDER = """
window.__seen = [];
new MutationObserver((records) => {
  for (const r of records) window.__seen.push([r.target.dataset.path, r.target.dataset.status]);
}).observe(document.getElementById('tree'), {subtree: true, attributes: true, attributeFilter: ['data-status']});
"""


def ran_then_succeeded(seen) -> set:
    """Paths the page showed RUNNING and, later, SUCCESS."""
    paths = set()
    for i, (path, status) in enumerate(seen):
        if status == "RUNNING" and [path, "SUCCESS"] in seen[i + 1:]:
            paths.add(path)
    return paths


def open_live(driver, url):
    driver.get(url)
    wait_for(driver, lambda d: page_state(d) in ("idle", "done"), 20, "the page connected to an idle executive")


def test_browser_shows_a_live_mission_and_replays_it(browser, executive, sim, ros):
    open_live(browser, executive.url)
    browser.execute_script(RECORDER)        # every status the page shows, in order
    call = scenarios.send(ros, "inspection", [f"robot={sim.namespace}"], action=executive.action_name)
    assert call.accepted()
    wait_for(browser, lambda d: outcome(d) == "succeeded" and page_state(d) == "done", 90, "the outcome on the page")
    status, result = call.result(timeout=30)
    assert result.outcome_code == scenarios.RESULT.OUTCOME_SUCCEEDED, scenarios.explain(result)
    rows = row_statuses(browser)
    assert rows["inspection"] == "SUCCESS" and "inspection/return to dock" in rows
    assert "SUCCEEDED" in browser.find_element("id", "outcome").text
    seen = browser.execute_script("return window.__seen")
    assert "inspection/return to dock" in ran_then_succeeded(seen), f"statuses shown: {seen}"
    browser.find_element("id", "timeline").find_element("css selector", "li[data-event='run_finished']")
    browser.save_screenshot(str(ARTIFACTS / "viewer_live.png"))

    run_id = get(executive.url + "api/state")[1]["run_id"]
    browser.get(executive.url + f"#run={run_id}")
    wait_for(browser, lambda d: d.find_element("tag name", "body").get_attribute("data-mode") == "replay"
             and outcome(d) == "succeeded", 20, "the replay at its end")
    assert row_statuses(browser) == rows        # the log redraws the final tree
    browser.find_element("id", "step-back").click()
    wait_for(browser, lambda d: outcome(d) is None, 5, "the outcome gone one event before the end")
    browser.find_element("id", "to-end").click()
    wait_for(browser, lambda d: outcome(d) == "succeeded", 5, "the outcome back at the end")
    browser.save_screenshot(str(ARTIFACTS / "viewer_replay.png"))


def test_browser_starts_and_cancels_with_allow_control(browser, executive, sim):
    from selenium.webdriver.support.ui import Select

    open_live(browser, executive.url)
    wait_for(browser, lambda d: d.find_element("id", "control").is_displayed(), 5, "the control buttons")
    Select(browser.find_element("id", "start-mission")).select_by_value("patrol")
    browser.find_element("id", "start-params").send_keys(f"robot={sim.namespace}")
    browser.find_element("id", "start").click()
    wait_for(browser, lambda d: d.execute_script(
        "return !!document.querySelector('#tree li[data-kind=navigate][data-status=RUNNING]')"), 30, "a drive running")
    assert browser.find_element("id", "cancel").is_enabled()
    browser.find_element("id", "cancel").click()
    wait_for(browser, lambda d: outcome(d) == "canceled", 30, "the outcome canceled")
    assert not browser.find_element("id", "cancel").is_enabled()
    browser.save_screenshot(str(ARTIFACTS / "viewer_cancelled.png"))


def test_browser_page_fits_a_narrow_screen(browser, executive, sim):
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    try:
        open_live(browser, executive.url)
        code, answer = post(executive.url + "api/start", {"mission": "patrol", "parameters": [f"robot={sim.namespace}"]})
        assert code == 200, answer
        wait_for(browser, lambda d: d.execute_script(
            "return !!document.querySelector('#tree li[data-status=RUNNING]')"), 30, "the tree running")
        width = browser.execute_script("return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1] == 390, f"the page overflows sideways: {width}"
        for control in ("source", "cancel", "start-mission", "start"):
            element = browser.find_element("id", control)
            box = browser.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.left, r.right]",
                                         element)
            assert element.is_displayed() and 0 <= box[0] and box[1] <= 390, f"{control} is outside the screen: {box}"
        browser.save_screenshot(str(ARTIFACTS / "viewer_narrow.png"))
        assert post(executive.url + "api/cancel", {})[0] == 200
        wait_for(browser, lambda d: outcome(d) == "canceled", 30, "the outcome canceled")
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_browser_shows_errors_whole_and_a_failures_root_cause(browser, executive):
    """Start with a bad parameter shows every error; a failed run marks its root-cause node. At
    1400x900 and at 390x844 (a phone: nothing scrolls sideways); screenshots in test/artifacts."""
    from selenium.webdriver.support.ui import Select

    open_live(browser, executive.url)
    wait_for(browser, lambda d: d.find_element("id", "control").is_displayed(), 5, "the control buttons")
    Select(browser.find_element("id", "start-mission")).select_by_value("inspection")
    params = browser.find_element("id", "start-params")
    params.clear()
    params.send_keys("robot=nobody_here, bogus=1, target=nowhere")
    browser.find_element("id", "start").click()
    errors = wait_for(browser, lambda d: d.find_elements("css selector", "#message ul.errors li"), 20,
                      "the errors under the message")
    texts = [e.text for e in errors]
    assert any("unknown parameter 'bogus'" in t for t in texts), texts
    assert "invalid mission" in browser.find_element("id", "message").text
    browser.save_screenshot(str(ARTIFACTS / "viewer_errors_1400x900.png"))

    params.clear()
    params.send_keys("robot=nobody_here")      # no server answers: the health check is the root cause
    browser.find_element("id", "start").click()
    wait_for(browser, lambda d: outcome(d) == "unreachable", 60, "the run to fail")
    cause = browser.execute_script(
        "return [...document.querySelectorAll('#tree li.root-cause')].map(r => r.dataset.path)")
    assert cause == ["inspection/check health"], cause
    assert "root cause: inspection/check health" in browser.find_element("id", "failure").text
    browser.save_screenshot(str(ARTIFACTS / "viewer_failed_1400x900.png"))
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    try:
        width = browser.execute_script("return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        wide = browser.execute_script(
            "return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 390)"
            ".map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))")
        assert width[0] <= width[1] == 390, f"the page overflows sideways: {width}: {wide}"
        browser.save_screenshot(str(ARTIFACTS / "viewer_failed_390x844.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
