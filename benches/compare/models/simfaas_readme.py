"""SimFaaS's README example, run by SimFaaS itself: arrivals 0.9/s, warm service mean 1.991 s,
cold 2.244 s (both exponential), expiration 600 s. Only generate_trace is timed; the figures are
then read from SimFaaS's history arrays, in 20 batches of simulated time for standard errors."""

import random

import numpy as np
from simfaas.ServerlessSimulator import ServerlessSimulator

from common import Batches, Clock, arguments, report


def main():
    args = arguments(__doc__, max_time=(float, 1e6))
    # SimFaaS draws from numpy's global generator.
    np.random.seed(args.seed)
    random.seed(args.seed)
    sim = ServerlessSimulator(
        arrival_rate=0.9,
        warm_service_rate=1 / 1.991,
        cold_service_rate=1 / 2.244,
        expiration_threshold=600,
        max_time=args.max_time,
    )
    clock = Clock()
    sim.generate_trace(debug_print=False, progress=False)
    seconds = clock.seconds()

    times = np.asarray(sim.hist_times)
    lengths = np.diff(times)
    end = times[-1]
    cold = Batches(0.0, end)
    requests = Batches(0.0, end)
    for i in sim.hist_req_cold_idxs:
        cold.add(times[i], 1.0)
    for idxs in (sim.hist_req_cold_idxs, sim.hist_req_warm_idxs, sim.hist_req_rej_idxs):
        for i in idxs:
            requests.add(times[i], 1.0)
    running = Batches(0.0, end)
    instances = Batches(0.0, end)
    run_counts = np.asarray(sim.hist_server_running_count, dtype=float)
    inst_counts = np.asarray(sim.hist_server_count, dtype=float)
    for t, dt, r, n in zip(times[:-1], lengths, run_counts, inst_counts):
        running.add(t, r * dt)
        instances.add(t, n * dt)

    def ratio(top, bottom, scale=1.0):
        """Batch ratios top/bottom (a ratio estimator: a mean of the pooled sums, a standard
        error from the spread of the batch ratios)."""
        rs = [a / b * scale for a, b in zip(top.sums, bottom.sums) if b > 0]
        mean = sum(top.sums) / sum(bottom.sums) * scale
        se = float(np.std(rs, ddof=1) / np.sqrt(len(rs)))
        return {"mean": mean, "se": se, "n": len(rs), "df": len(rs) - 1}

    span = Batches(0.0, end)
    for t, dt in zip(times[:-1], lengths):
        span.add(t, dt)
    metrics = {
        "cold_start_fraction": ratio(cold, requests),
        # Little's law: the time-average running count over the arrival rate seen.
        "mean_response_s": ratio(running, requests),
        "instances_mean": ratio(instances, span),
    }
    report(sim.total_req_count, seconds, metrics, clock)


if __name__ == "__main__":
    main()
