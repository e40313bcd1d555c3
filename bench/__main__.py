"""``python -m bench [--busy] [NAME ...]``: run the named benchmarks (default: all) and print their
lines, after a header with the date, the commit and the machine's load.

``--busy`` runs the benchmarks beside a process that keeps one core busy (``while 1: pass``), to
show that the ratios hold under load; it is stopped when they end."""
import os
import subprocess
import sys
import time

from bench import common

BENCHES = ["tick_cost", "action_overhead", "shapes", "fleet", "idle", "cancel_latency", "fan_out", "startup", "soak",
           "viewer_latency", "server_loss", "checkpoint"]


def header(busy: bool) -> str:
    def git(*args):
        done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=os.path.dirname(__file__))
        return done.stdout.strip()
    dirty = "-dirty" if git("status", "--porcelain", "--untracked-files=no") else ""
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"# {time.strftime('%Y-%m-%d %H:%M')} commit {git('rev-parse', '--short', 'HEAD')}{dirty}; "
            f"{os.cpu_count()} cores, load average {load}" + ("; beside a busy core (--busy)" if busy else ""))


def main(argv) -> int:
    common.isolate()
    busy = "--busy" in argv
    names = [a for a in argv if a != "--busy"] or BENCHES
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {BENCHES}", file=sys.stderr)
        return 2
    print(header(busy), flush=True)
    spinner = subprocess.Popen([sys.executable, "-c", "while 1: pass"]) if busy else None
    try:
        for name in names:
            module = __import__(f"bench.{name}", fromlist=["run"])
            started = time.monotonic()
            print(f"== {name}: {module.__doc__.strip().splitlines()[0]}", flush=True)
            for result in module.run():
                print(result, flush=True)
            print(f"   ({time.monotonic() - started:.1f} s)", flush=True)
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()
    print(f"# ended {time.strftime('%H:%M')}, load average {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
