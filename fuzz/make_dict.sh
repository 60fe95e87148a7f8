#!/bin/sh
# Writes fuzz/scenario.dict (not committed), a libFuzzer dictionary for the `scenario` target:
# the keys, words and tables the shipped scenarios use, and values at the edges (zero, huge,
# negative, odd units), so that mutations reach past the TOML syntax.
# Usage: sh fuzz/make_dict.sh   (fuzz/run.sh runs it when the dictionary is missing)
set -eu
cd "$(dirname "$0")"
{
  {
    grep -rhoE '^[a-z_]+ =|[{,] *[a-z_]+ =' ../scenarios --include=*.toml | grep -oE '[a-z_]+'
    grep -rhoE '"[a-z_0-9]+"' ../scenarios --include=*.toml | tr -d '"'
    grep -rhoE '^\[\[?[a-z_.]+\]\]?' ../scenarios --include=*.toml
    # Fields no shipped scenario uses yet (billing), with their values.
    printf '%s\n' instance_type purchase discount architecture c7g.large t3.micro m5.4xlarge \
      on_demand spot savings_plan x86_64 arm64 size_gb '[pricing]' file
  } | sort -u | sed 's/.*/"&"/'
  cat <<'VALUES'
" = 0"
" = -1"
" = 4294967295"
" = 18446744073709551615"
" = 1e18"
" = 1e308"
" = nan"
" = inf"
" = true"
" = []"
" = {}"
" = \"\""
" = \"0s\""
" = \"1ns\""
" = \"36500d\""
" = \"1e18/s\""
" = \"0/s\""
" = \"../../x\""
" = \"/dev/zero\""
VALUES
} > scenario.dict
echo "fuzz/scenario.dict: $(wc -l < scenario.dict) entries"
