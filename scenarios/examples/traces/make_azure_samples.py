#!/usr/bin/env python3
"""Writes two small synthetic traces in the public Azure Functions layouts, for
scenarios/examples/azure_functions.toml and the README. They are not the real datasets (which are
hundreds of megabytes): same columns, made-up hashes and a plausible shape.

    python3 scenarios/examples/traces/make_azure_samples.py   # from the repository root

- azure_2019_sample.csv (`azure_functions_2019`): HashOwner,HashApp,HashFunction,Trigger and
  1440 per-minute invocation counts for five functions: an HTTP API with a daily shape (quiet
  night, peak about 600/min early afternoon) and Poisson noise; a timer that fires 30 times every
  fifth minute; a queue consumer with bursts; two rarely used functions.
- azure_2021_sample.csv (`azure_functions_2021`): app,func,end_timestamp,duration for 10 minutes of
  three functions (Poisson arrivals at 4/s, 1/s and 0.2/s; lognormal durations with medians
  80 ms, 400 ms and 2 s), one row per invocation, sorted by end time as the dataset is.
Seeded: the same files every time.
"""
import hashlib
import math
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(2026)


def poisson(mean):
    # Knuth for small means, normal approximation above.
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def h(text):
    # Hex like the dataset's anonymised hashes (SHA-256 of a made-up name).
    return hashlib.sha256(text.encode()).hexdigest()


def daily(minute):
    hour = minute / 60.0
    return 40 + 560 * max(0.0, math.sin(math.pi * (hour - 6) / 16)) ** 2 if 6 <= hour <= 22 else 40


rows = []
api = [poisson(daily(m)) for m in range(1440)]
timer = [30 if m % 5 == 0 else 0 for m in range(1440)]
queue = []
for m in range(1440):
    burst = 400 if (m // 60) in (9, 15) and m % 60 < 8 else 0
    queue.append(poisson(20 + burst))
rare1 = [poisson(0.05) for _ in range(1440)]
rare2 = [poisson(0.01) for _ in range(1440)]
owner, app = h("owner-1"), h("app-1")
for name, trigger, counts in [
    ("api", "http", api),
    ("cron", "timer", timer),
    ("consumer", "queue", queue),
    ("rare-1", "http", rare1),
    ("rare-2", "event", rare2),
]:
    rows.append([owner, app, h(name), trigger] + [str(c) for c in counts])
with open(os.path.join(HERE, "azure_2019_sample.csv"), "w") as f:
    f.write(",".join(["HashOwner", "HashApp", "HashFunction", "Trigger"] + [str(m) for m in range(1, 1441)]) + "\n")
    for r in rows:
        f.write(",".join(r) + "\n")

invocations = []
for name, rate, median in [("thumbnail", 4.0, 0.08), ("resize", 1.0, 0.4), ("report", 0.2, 2.0)]:
    t = 0.0
    while True:
        t += rng.expovariate(rate)
        if t >= 600:
            break
        duration = round(median * math.exp(rng.gauss(0, 0.6)), 3)
        invocations.append((round(t + duration, 3), h("app-2")[:16], h(name)[:16], duration))
invocations.sort()
with open(os.path.join(HERE, "azure_2021_sample.csv"), "w") as f:
    f.write("app,func,end_timestamp,duration\n")
    for end, app_hash, func, duration in invocations:
        f.write(f"{app_hash},{func},{end:.3f},{duration:.3f}\n")
