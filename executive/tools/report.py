"""``mission report LOG``: what a run did and where its time went, from its run log alone.

Sections: the run (mission, parameters, outcome, root cause); counts (leaf attempts and how many
failed, retries and the time spent in retry backoff, time paused); the timeline; where the time
went per leaf (runs, failed, total, share; for remote leaves: waiting for the server, for
acceptance, executing); and per retry decorator its attempts, retries and backoff. Columns are
as wide as their longest cell, so long paths never push them out of line.

Filters narrow the timeline and the tables: ``--failures`` (failures and what they set off:
rejections, unsuccessful results, retries, halts, warnings and errors logged, the end) and
``--leaf PATH`` (behaviours at or under PATH, or whose path ends with it). ``--json`` prints the
same as one JSON object.
"""
import datetime
import json
from collections import defaultdict
from dataclasses import asdict, dataclass

from executive import runlog

QUIET = {"feedback", "blackboard", "checkpoint"}   # summarised elsewhere (results count feedback), not listed
FINISHED = ("SUCCESS", "FAILURE", "HALTED", "SKIPPED")
SKIP_FIELDS = {"t", "wall", "event", "path", "kind", "leaf", "previous", "feedback", "tree", "summary", "status",
               "failure"}


@dataclass
class LeafTimes:
    runs: int = 0           # times the leaf started (attempts)
    failed: int = 0         # of them, how many ended in FAILURE
    total: float = 0.0      # s running
    server_wait: float = 0.0
    accept_wait: float = 0.0
    executing: float = 0.0


@dataclass
class RetryCounts:
    attempts: int = 0       # times its child started
    retries: int = 0        # starts after a failure (attempts - 1 per run of the retry)
    backoff: float = 0.0    # s between a failure and the next attempt


# -- reading the log ---------------------------------------------------------------------------
def tree_of(events) -> dict:
    """path -> (kind, parent path or '') from run_started's tree, else from the status events."""
    start = next((e for e in events if e["event"] == "run_started"), {})
    tree = start.get("tree")
    if isinstance(tree, list):
        return {n["path"]: (n.get("kind", ""), tree[n["parent"]]["path"] if n.get("parent", -1) >= 0 else "")
                for n in tree}
    out = {}
    for event in events:
        if event["event"] == "status" and event.get("path"):
            out.setdefault(event["path"], (event.get("kind", ""), event["path"].rpartition("/")[0]))
    return out


def where_time_went(events) -> dict:
    """path -> LeafTimes for every leaf: time running, split for remote leaves into waiting for the
    server, waiting for acceptance and executing (accepted -> result)."""
    times = defaultdict(LeafTimes)
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
            if event["status"] == "FAILURE":
                times[path].failed += 1
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
    return dict(times)


def retries(events) -> dict:
    """path -> RetryCounts for every retry decorator: its child's starts, the starts that followed
    a failure, and the time from each failure to the next start (the backoff)."""
    tree = tree_of(events)
    child_of = {parent: path for path, (_, parent) in tree.items() if parent and tree.get(parent, ("",))[0] == "retry"}
    watched = {child: parent for parent, child in child_of.items()}
    counts = {parent: RetryCounts() for parent in child_of}
    failed_at = {}
    for event in events:
        if event["event"] != "status":
            continue
        path = event.get("path")
        if path in watched:
            retry = counts[watched[path]]
            if event["status"] == "RUNNING":
                retry.attempts += 1
                if path in failed_at:
                    retry.retries += 1
                    retry.backoff += event["t"] - failed_at.pop(path)
            elif event["status"] == "FAILURE":
                failed_at[path] = event["t"]
        elif path in child_of and event["status"] in FINISHED:
            failed_at.pop(child_of[path], None)     # the retry ended: no more attempts follow
    return counts


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


# -- filters -----------------------------------------------------------------------------------
def at_or_under(path: str, leaf: str) -> bool:
    leaf = leaf.strip("/")
    return bool(path) and (path == leaf or path.startswith(leaf + "/") or path.endswith("/" + leaf)
                           or f"/{leaf}/" in f"/{path}/")


def is_failure(event) -> bool:
    """Failures and what they set off."""
    name = event["event"]
    if name == "status":
        return event["status"] in ("FAILURE", "HALTED")
    if name == "result":
        return event.get("status") not in (None, "SUCCEEDED")
    if name == "log":
        return event.get("level") in ("warning", "error")
    return name in ("goal_rejected", "call_abandoned", "cancel_sent", "halting", "settling", "halted",
                    "run_finished", "retry")


def select(events, failures: bool = False, leaf: str = "") -> list:
    return [e for e in events
            if (not failures or is_failure(e))
            and (not leaf or at_or_under(e.get("path", ""), leaf) or e["event"] in ("run_started", "run_finished"))]


# -- text --------------------------------------------------------------------------------------
def _details(event: dict) -> str:
    name = event["event"]
    if name == "status":
        text = f"{event.get('previous', '?')} -> {event['status']}"
        failure = event.get("failure") or {}
        reason = failure.get("reason")
        said = failure.get("message") or event.get("feedback")
        if event["status"] == "FAILURE" and (reason or said):
            text += "  " + ": ".join(filter(None, [reason, said]))
        elif event.get("feedback") and event["status"] == "RUNNING":
            text += f"  ({event['feedback']})"
        return text
    if name == "log":
        return f"log {event.get('level', '')}: {event.get('message', '')}"
    if name == "run_started":
        return f"run_started mission {event.get('mission', '?')}"
    if name == "run_finished":
        said = event.get("message") and event["message"] != f"mission {event.get('outcome')}"
        return f"run_finished {event.get('outcome', '?')}" + (f": {event['message']}" if said else "")
    parts = []
    for key, value in event.items():
        if key in SKIP_FIELDS or value in (None, "", [], {}):
            continue
        parts.append(f"{key}={str(value)[:8] if key == 'goal_id' else value}")
    if name == "result" and event.get("status"):
        parts.insert(0, event["status"])
    return f"{name} {' '.join(parts)}".rstrip()


def table(header, rows, align) -> list:
    """Lines of a table whose columns are as wide as their widest cell; ``align`` per column, '<' or '>'."""
    cells = [list(map(str, header))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return ["  " + "  ".join(f"{c:{a}{w}}" for c, a, w in zip(row, align, widths)).rstrip() for row in cells]


def timeline(events) -> list:
    shown = [e for e in events if e["event"] not in QUIET]
    if not shown:
        return ["  (nothing)"]
    return table(["t (s)", "behaviour", "what"],
                 [(f"+{e['t']:.3f}", e.get("path", ""), _details(e)) for e in shown], "><<")[1:]


def summary(events, failures: bool = False, leaf: str = "") -> dict:
    """Everything the report says, as data (``--json``)."""
    start = next((e for e in events if e["event"] == "run_started"), events[0] if events else {})
    finish = next((e for e in reversed(events) if e["event"] == "run_finished"), None)
    duration = events[-1]["t"] if events else 0.0
    times = {p: t for p, t in where_time_went(events).items() if not leaf or at_or_under(p, leaf)}
    if failures:
        times = {p: t for p, t in times.items() if t.failed}
    retry = {p: r for p, r in retries(events).items() if not leaf or at_or_under(p, leaf)}
    attempts = sum(t.runs for t in times.values())
    return dict(
        mission=start.get("mission", "?"), run_id=start.get("run_id", "?"), started=start.get("wall"),
        parameters=start.get("parameters") or {}, seconds=round(duration, 4),
        resumed_from=start.get("resumed_from") or "",
        resumed_as=next((e["run_id"] for e in events if e["event"] == "resumed_as"), ""),
        checkpoints=sum(e["event"] == "checkpoint" for e in events),
        outcome=None if finish is None else {k: finish.get(k) for k in ("outcome", "message", "failed_behavior",
                                                                         "failure", "failures") if k in finish},
        counts=dict(leaves=len(times), attempts=attempts, failed=sum(t.failed for t in times.values()),
                    retries=sum(r.retries for r in retry.values()),
                    backoff_seconds=round(sum(r.backoff for r in retry.values()), 4),
                    paused_seconds=round(paused_seconds(events), 4)),
        leaves={p: {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(t).items()}
                for p, t in sorted(times.items(), key=lambda item: -item[1].total)},
        retries={p: {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(r).items()}
                 for p, r in retry.items()},
        timeline=[e for e in select(events, failures, leaf) if e["event"] not in QUIET])


def report(events, failures: bool = False, leaf: str = "") -> str:
    if not events:
        return "empty log"
    data = summary(events, failures, leaf)
    when = datetime.datetime.fromtimestamp(data["started"] or 0).isoformat(sep=" ", timespec="seconds")
    lines = [f"mission {data['mission']}  run {data['run_id']}  started {when}"]
    if data["parameters"]:
        lines.append("parameters: " + ", ".join(f"{k}={v}" for k, v in data["parameters"].items()))
    if data["resumed_from"]:
        lines.append(f"resumes run {data['resumed_from']} (from its last checkpoint)")
    outcome = data["outcome"]
    if outcome is None:
        lines.append(f"outcome: unknown - the log ends after {data['seconds']:.3f} s without run_finished")
    else:
        said = outcome.get("message") and outcome["message"] != f"mission {outcome['outcome']}"
        lines.append(f"outcome: {outcome['outcome']} after {data['seconds']:.3f} s"
                     + (f" - {outcome['message']}" if said else ""))
        if data["resumed_as"]:
            lines.append(f"resumed as run {data['resumed_as']} ({data['checkpoints']} checkpoints)")
        if outcome.get("failed_behavior"):
            lines.append(f"root cause: {outcome['failed_behavior']}")
        for option in outcome.get("failures") or []:
            lines.append(f"  tried: {option.get('path', '?')}: {option.get('reason', '')}: {option.get('message', '')}")
    c = data["counts"]
    lines.append(f"counts: {c['attempts']} leaf attempts ({c['failed']} failed) in {c['leaves']} leaves; "
                 f"{c['retries']} retries, {c['backoff_seconds']:.3f} s in retry backoff"
                 + (f"; paused: {c['paused_seconds']:.3f} s" if c["paused_seconds"] else ""))
    scope = " and ".join(filter(None, ["failures only" if failures else "", f"under {leaf}" if leaf else ""]))
    lines += ["", f"timeline{f' ({scope})' if scope else ''}:"] + timeline(data["timeline"])
    duration = data["seconds"]
    lines += ["", f"where time went ({duration:.3f} s in all; leaves, longest first; seconds):"]
    rows = [(p, t["runs"], t["failed"], f"{t['total']:.3f}", f"{100 * t['total'] / duration if duration > 0 else 0:.1f}%",
             f"{t['server_wait']:.3f}", f"{t['accept_wait']:.3f}", f"{t['executing']:.3f}")
            for p, t in data["leaves"].items()]
    lines += table(["behaviour", "runs", "failed", "total", "share", "server", "accept", "execute"], rows,
                   "<>>>>>>>") if rows else ["  (no leaf)"]
    if data["retries"]:
        lines += ["", "retries (attempts of the child, retries after a failure, seconds in backoff):"]
        lines += table(["retry", "attempts", "retries", "backoff"],
                       [(p, r["attempts"], r["retries"], f"{r['backoff']:.3f}") for p, r in data["retries"].items()],
                       "<>>>")
    return "\n".join(lines)


def text(events, failures: bool = False, leaf: str = "", as_json: bool = False) -> str:
    """The report of ``events``, as text or as JSON."""
    if as_json:
        return json.dumps(summary(events, failures, leaf or ""), indent=1, default=str)
    return report(events, failures, leaf or "")


def main(path, failures: bool = False, leaf: str = "", as_json: bool = False) -> str:
    return text(runlog.read(path), failures, leaf, as_json)
