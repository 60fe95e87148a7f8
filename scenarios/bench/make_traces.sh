#!/bin/sh
# Regenerates the benchmark traces from their recipes: each recipe is a scenario whose
# synthetic workload `awsim record` freezes into a CSV trace (fixed seed: the same bytes every
# time). Run from the repository root:  sh scenarios/bench/make_traces.sh
set -eu
cargo build --release --quiet
for recipe in daily_bursts flash_crowd long_tail_keys; do
  ./target/release/awsim record "scenarios/bench/recipes/$recipe.toml" \
    --out "scenarios/bench/traces/$recipe.csv" --quiet
  echo "scenarios/bench/traces/$recipe.csv: $(($(wc -l < "scenarios/bench/traces/$recipe.csv") - 1)) rows"
done
