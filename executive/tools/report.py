"""``mission report LOG``: a run's timeline and where its time went, from its run log."""
import datetime
from collections import defaultdict

from executive import runlog

QUIET = {"feedback"}       # summarised per goal in the timeline instead of listed


def _fmt_data(event: dict) -> str:
    skip = {"t", "wall", "event", "path", "kind", "leaf", "previous", "feedback", "tree"}   # tree: the viewer's
    parts = []
    for key, value in event.items():
        if key in skip or value in (None, "", [], {}):
            continue
        if key == "goal_id":
            value = str(value)[:8]
        parts.append(f"{key}={value}")
    return " ".join(parts)


def timeline(events) -> list:
    lines = []
    width = min(60, max([len(e.get("path", "")) for e in events] + [10]))
    for event in events:
        name = event["event"]
        if name in QUIET:       # results carry the count of feedback messages
            continue
        if name == "status":
            text = f"{event.get('previous', '?')} -> {event['status']}"
            if event.get("feedback"):
                text += f"  ({event['feedback']})"
        else:
            text = f"{name} {_fmt_data(event)}".rstrip()
        lines.append(f"  +{event['t']:8.3f}  {event.get('path', ''):{width}} {text}")
    return lines


class _Times:
    def __init__(self):
        self.runs = 0
        self.total = 0.0
        self.server_wait = 0.0
        self.accept_wait = 0.0
        self.executing = 0.0


def where_time_went(events) -> dict:
    """path -> _Times for every leaf: time running, split for remote leaves into waiting for the
    server, waiting for acceptance and executing (accepted -> result)."""
    times = defaultdict(_Times)
    started, activation, sent, accepted = {}, {}, {}, {}
    for event in events:
        name, path, t = event["event"], event.get("path"), event["t"]
        if name == "status" and event.get("leaf"):
            if event["status"] == "RUNNING":
                started[path] = activation[path] = t
                times[path].runs += 1
            elif path in started:
                times[path].total += t - started.pop(path)
                activation.pop(path, None)
        elif name in ("goal_sent", "call_sent"):
            if path in activation:
                times[path].server_wait += t - activation.pop(path)
            sent[event.get("goal_id", path)] = t
        elif name == "goal_accepted" and event.get("goal_id") in sent:
            accepted[event["goal_id"]] = t
            times[path].accept_wait += t - sent[event["goal_id"]]
        elif name == "result" and event.get("goal_id") in accepted:
            times[path].executing += t - accepted.pop(event["goal_id"])
        elif name == "response" and path in sent:
            times[path].executing += t - sent.pop(path)
    end = events[-1]["t"] if events else 0.0
    for path, since in started.items():     # still running when the log ends
        times[path].total += end - since
    return times


def paused_seconds(events) -> float:
    total, since = 0.0, None
    for event in events:
        if event["event"] == "paused":
            since = event["t"]
        elif event["event"] == "resumed" and since is not None:
            total += event["t"] - since
            since = None
    if since is not None and events:
        total += events[-1]["t"] - since
    return total


def report(events) -> str:
    if not events:
        return "empty log"
    start = next((e for e in events if e["event"] == "run_started"), events[0])
    finish = next((e for e in reversed(events) if e["event"] == "run_finished"), None)
    when = datetime.datetime.fromtimestamp(start["wall"]).isoformat(sep=" ", timespec="seconds")
    lines = [f"mission {start.get('mission', '?')}  run {start.get('run_id', '?')}  started {when}"]
    if start.get("parameters"):
        lines.append("parameters: " + ", ".join(f"{k}={v}" for k, v in start["parameters"].items()))
    duration = events[-1]["t"]
    if finish is None:
        lines.append(f"outcome: unknown - the log ends after {duration:.3f} s without run_finished")
    else:
        lines.append(f"outcome: {finish['outcome']} after {finish['t']:.3f} s"
                     + (f" - {finish['message']}" if finish.get("message") else ""))
    lines += ["", "timeline:"] + timeline(events)
    times = where_time_went(events)
    width = min(60, max([len(p) for p in times] + [10]))
    lines += ["", f"where time went ({duration:.3f} s in all; leaves, longest first; seconds):",
              f"  {'behaviour':{width}} {'runs':>4} {'total':>8} {'share':>6} {'server':>7} {'accept':>7} {'execute':>8}"]
    for path, t in sorted(times.items(), key=lambda item: -item[1].total):
        share = 100.0 * t.total / duration if duration > 0 else 0.0
        lines.append(f"  {path:{width}} {t.runs:4d} {t.total:8.3f} {share:5.1f}% {t.server_wait:7.3f} "
                     f"{t.accept_wait:7.3f} {t.executing:8.3f}")
    paused = paused_seconds(events)
    if paused:
        lines.append(f"  paused: {paused:.3f} s")
    return "\n".join(lines)


def main(path) -> str:
    return report(runlog.read(path))
