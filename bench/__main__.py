"""``python -m bench [NAME ...]``: run the named benchmarks (default: all) and print their lines."""
import sys
import time

from bench import common

BENCHES = ["tick_cost", "action_overhead", "cancel_latency", "fan_out", "startup", "soak", "viewer_latency"]


def main(argv) -> int:
    common.isolate()
    names = argv or BENCHES
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {BENCHES}", file=sys.stderr)
        return 2
    for name in names:
        module = __import__(f"bench.{name}", fromlist=["run"])
        started = time.monotonic()
        print(f"== {name}: {module.__doc__.strip().splitlines()[0]}", flush=True)
        for result in module.run():
            print(result, flush=True)
        print(f"   ({time.monotonic() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
