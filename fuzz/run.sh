#!/bin/sh
# Runs one fuzz target for SECONDS (default 600) on one core, continuing past findings, which
# are saved under fuzz/artifacts/TARGET/. Usage: sh fuzz/run.sh TARGET [SECONDS]
set -eu
cd "$(dirname "$0")/.."
target=$1
seconds=${2:-600}
[ -d "fuzz/corpus/$target" ] || sh fuzz/seed.sh
dict=
if [ "$target" = scenario ]; then
  [ -f fuzz/scenario.dict ] || sh fuzz/make_dict.sh
  dict=-dict=$(pwd)/fuzz/scenario.dict
fi
exec nice -n 10 cargo +nightly fuzz run "$target" -- $dict \
  -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
  -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -max_len=65536 \
  -max_total_time="$seconds" -print_final_stats=1
