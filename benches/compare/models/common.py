"""What every peer model shares: its command line, batch means, and the JSON line it prints."""

import argparse
import json
import math
import sys
import time


def arguments(description, **extra):
    """Parses the common flags (--seed, --out-json) and the model's own (name=(type, default))."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seed", type=int, default=1)
    for name, (kind, default) in extra.items():
        parser.add_argument("--" + name.replace("_", "-"), type=kind, default=default)
    return parser.parse_args()


class Batches:
    """Batch means by time: `count` equal batches of [start, end); a value is filed by the time
    it belongs to (a customer's arrival), so the batches are independent enough to give a
    standard error of the mean."""

    def __init__(self, start, end, count=20):
        self.start = start
        self.span = max((end - start) / count, 1e-12)
        self.sums = [0.0] * count
        self.counts = [0] * count

    def add(self, at, value):
        if at < self.start:
            return
        b = min(int((at - self.start) / self.span), len(self.sums) - 1)
        self.sums[b] += value
        self.counts[b] += 1

    def result(self):
        """{"mean", "se", "n"}: the mean over all values, and the standard error from the
        spread of the batch means."""
        n = sum(self.counts)
        means = [s / c for s, c in zip(self.sums, self.counts) if c > 0]
        mean = sum(self.sums) / n if n else float("nan")
        if len(means) < 2:
            return {"mean": mean, "se": float("nan"), "n": n, "df": 0}
        grand = sum(means) / len(means)
        var = sum((m - grand) ** 2 for m in means) / (len(means) - 1)
        return {"mean": mean, "se": math.sqrt(var / len(means)), "n": n, "df": len(means) - 1}


class Clock:
    """Wall time of the simulation itself (imports and model building excluded), and of what
    this comparison computes afterwards (run.py leaves the latter out of the peer's time)."""

    def __init__(self):
        self.t0 = time.perf_counter()
        self.t1 = None

    def seconds(self):
        """The simulation's time; what follows is post-processing."""
        self.t1 = time.perf_counter()
        return self.t1 - self.t0

    def post_seconds(self):
        return time.perf_counter() - self.t1


def report(customers, seconds, metrics, clock, **more):
    """Prints the model's result as one JSON line (the last line of its output)."""
    out = {
        "customers": customers,
        "sim_seconds": seconds,
        "post_seconds": clock.post_seconds(),
        "metrics": metrics,
    }
    out.update(more)
    sys.stdout.write(json.dumps(out) + "\n")
