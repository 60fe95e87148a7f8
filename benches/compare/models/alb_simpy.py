"""An ALB over four targets, one of them three times slower, in SimPy, as
scenarios/examples/rr_vs_lor_slow_instance.toml (benches/compare/scenarios/alb_rr_lor.toml):
two independent copies, each fed Poisson arrivals at 24/s, one routed round robin and one by
least outstanding requests; each target serves one request at a time from its own FIFO queue,
exponential service of mean 50 ms divided by its speed.

Routing follows awsim's ALB exactly: round robin takes the targets in turn; least outstanding
requests scans the targets starting after the last one chosen and takes the first with the
fewest requests sent and not yet answered."""

import random

import simpy

from common import Batches, Clock, arguments, report

RATE, MEAN_SERVICE, WARMUP = 24.0, 0.050, 60.0
SPEEDS = [1.0, 1.0, 1.0, 0.3333]


def main():
    args = arguments(__doc__, seconds=(float, 36_000.0))
    rng = random.Random(args.seed)
    env = simpy.Environment()
    customers = [0]

    def balancer(algorithm, batches):
        targets = [simpy.Resource(env, capacity=1) for _ in SPEEDS]
        outstanding = [0] * len(SPEEDS)
        nxt = [0]

        def choose():
            n = len(targets)
            start = nxt[0]
            if algorithm == "round_robin":
                at = start
            else:
                at, best = None, None
                for k in range(n):
                    i = (start + k) % n
                    if best is None or outstanding[i] < best:
                        at, best = i, outstanding[i]
            nxt[0] = (at + 1) % n
            return at

        def request():
            arrived = env.now
            k = choose()
            outstanding[k] += 1
            with targets[k].request() as turn:
                yield turn
                yield env.timeout(rng.expovariate(1.0 / MEAN_SERVICE) / SPEEDS[k])
            outstanding[k] -= 1
            batches.add(arrived, env.now - arrived)

        def source():
            while True:
                yield env.timeout(rng.expovariate(RATE))
                if env.now >= args.seconds:
                    return
                customers[0] += 1
                env.process(request())

        env.process(source())

    rr = Batches(WARMUP, args.seconds)
    lor = Batches(WARMUP, args.seconds)
    clock = Clock()
    balancer("round_robin", rr)
    balancer("least_outstanding_requests", lor)
    env.run()
    seconds = clock.seconds()
    report(
        customers[0],
        seconds,
        {"rr_mean_response_s": rr.result(), "lor_mean_response_s": lor.result()},
        clock,
    )


if __name__ == "__main__":
    main()
