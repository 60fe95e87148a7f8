"""M/M/8 at rho = 0.9 in SimPy (lambda = 72/s, mu = 10/s, as scenarios/examples/mmc.toml), written
the way SimPy's documentation writes queues: a Resource of capacity 8 and one process per
customer."""

import random

import simpy

from common import Batches, Clock, arguments, report

SERVERS, ARRIVAL_RATE, SERVICE_RATE, WARMUP = 8, 72.0, 10.0, 600.0


def main():
    args = arguments(__doc__, customers=(int, 200_000))
    rng = random.Random(args.seed)
    end = args.customers / ARRIVAL_RATE
    batches = Batches(WARMUP, end)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=SERVERS)

    def customer():
        arrived = env.now
        with servers.request() as turn:
            yield turn
            yield env.timeout(rng.expovariate(SERVICE_RATE))
        batches.add(arrived, env.now - arrived)

    def source():
        for _ in range(args.customers):
            yield env.timeout(rng.expovariate(ARRIVAL_RATE))
            env.process(customer())

    clock = Clock()
    env.process(source())
    env.run()
    seconds = clock.seconds()
    report(args.customers, seconds, {"mean_response_s": batches.result()}, clock)


if __name__ == "__main__":
    main()
