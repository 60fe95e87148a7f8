"""The Lambda pool in SimPy: each function keeps its idle execution environments; an invocation
takes the most recently used one, else starts a new one and waits its init (a cold start); an
environment idle for longer than the keep-alive is reclaimed. Replays the trace files written by
make_pool_trace.py, in integer nanoseconds (as awsim's clock), so its figures must equal awsim's
exactly: the model has no randomness left once the trace is written."""

import collections
import heapq
import json

import simpy

from common import Clock, arguments, report


def read_trace(path):
    """(arrival_ns, duration_ns) rows of an Azure 2021 file: the arrival is end - duration."""

    def ns(text):
        whole, _, frac = text.partition(".")
        return int(whole) * 1_000_000_000 + int((frac + "000000000")[:9])

    rows = []
    with open(path) as f:
        next(f)
        for line in f:
            _, _, end, duration = line.rstrip("\n").split(",")
            d = ns(duration)
            rows.append((ns(end) - d, d))
    return rows


def main():
    args = arguments(__doc__, work=(str, None))
    spec = json.load(open(f"{args.work}/pool.json"))
    init_ns = spec["cold_start_ms"] * 1_000_000
    keep_ns = spec["keep_alive_s"] * 1_000_000_000
    clock = Clock()
    streams = [
        [(a, d, i) for a, d in read_trace(f["file"])] for i, f in enumerate(spec["functions"])
    ]
    arrivals = list(heapq.merge(*streams))
    env = simpy.Environment()
    idle = [collections.deque() for _ in spec["functions"]]
    colds = [0] * len(spec["functions"])
    latency = [0, 0]  # sum (ns), count

    def invoke(fn, duration):
        arrived = env.now
        envs = idle[fn]
        # Reclaim environments idle for longer than the keep-alive (oldest first).
        while envs and envs[0] + keep_ns < arrived:
            envs.popleft()
        if envs:
            envs.pop()
        else:
            colds[fn] += 1
            yield env.timeout(init_ns)
        yield env.timeout(duration)
        envs.append(env.now)
        latency[0] += env.now - arrived
        latency[1] += 1

    def source():
        for at, duration, fn in arrivals:
            if at > env.now:
                yield env.timeout(at - env.now)
            env.process(invoke(fn, duration))

    env.process(source())
    env.run()
    seconds = clock.seconds()
    n = latency[1]
    report(
        len(arrivals),
        seconds,
        {
            "cold_starts": {"mean": sum(colds), "se": 0.0, "n": n},
            "mean_response_s": {"mean": latency[0] / n / 1e9, "se": 0.0, "n": n},
        },
        clock,
        cold_starts_per_function=colds,
    )


if __name__ == "__main__":
    main()
