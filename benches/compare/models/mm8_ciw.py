"""M/M/8 at rho = 0.9 in Ciw (lambda = 72/s, mu = 10/s, as scenarios/examples/mmc.toml): one node,
eight servers, Ciw's own records read after the run."""

import ciw

from common import Batches, Clock, arguments, report

SERVERS, ARRIVAL_RATE, SERVICE_RATE, WARMUP = 8, 72.0, 10.0, 600.0


def main():
    args = arguments(__doc__, customers=(int, 200_000))
    end = args.customers / ARRIVAL_RATE
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=ARRIVAL_RATE)],
        service_distributions=[ciw.dists.Exponential(rate=SERVICE_RATE)],
        number_of_servers=[SERVERS],
    )
    ciw.seed(args.seed)
    clock = Clock()
    sim = ciw.Simulation(network)
    # Ciw runs to a time, not a count: the time the customers take to arrive on average.
    sim.simulate_until_max_time(end)
    seconds = clock.seconds()
    batches = Batches(WARMUP, end)
    records = sim.get_all_records()
    for r in records:
        batches.add(r.arrival_date, r.exit_date - r.arrival_date)
    customers = len(records) + len(sim.nodes[1].all_individuals)
    report(customers, seconds, {"mean_response_s": batches.result()}, clock)


if __name__ == "__main__":
    main()
