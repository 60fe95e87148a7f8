#!/bin/sh
# Builds the fuzz targets' seed corpora in fuzz/corpus/<target>/ from the shipped scenarios:
# every scenario file for `scenario`, and the start of every shipped trace (a header and a few
# rows, so that inputs stay small) for the reader of its format, behind control bytes that
# choose the replay options (see fuzz_targets/common.rs). Run from anywhere: sh fuzz/seed.sh
set -eu
cd "$(dirname "$0")"
root=..
mkdir -p corpus/scenario corpus/trace_csv corpus/trace_azure_2019 corpus/trace_azure_2021

for f in $(find "$root/scenarios" -name '*.toml' | sort); do
  cp "$f" "corpus/scenario/$(echo "$f" | sed 's|^\.\./scenarios/||; s|/|_|g')"
done

# seed TARGET NAME LINES FILE: the first LINES lines of FILE behind each set of control bytes
# (default; skip bad rows; loop; window and skip; Unix times or even spread; top 1; rank 2).
seed() {
  for options in '\000\000' '\001\000' '\002\000' '\011\000' '\004\000' '\000\100' '\000\201'; do
    tag=$(printf '%s' "$options" | tr -d '\\')
    { printf "$options"; head -n "$3" "$4"; } > "corpus/$1/$2-$tag"
  done
}

for f in $(find "$root/scenarios" -path '*traces*' -name '*.csv' | sort); do
  name=$(basename "$f" .csv)
  case "$(head -c 20 "$f")" in
    HashOwner*) seed trace_azure_2019 "$name" 4 "$f" ;;
    app,func*) seed trace_azure_2021 "$name" 40 "$f" ;;
    *) seed trace_csv "$name" 40 "$f" ;;
  esac
done

# What the shipped traces do not show: absolute times, Unix times, every column, quotes.
printf '\000\000timestamp,workload,key,item_kb,operation,duration\n2026-11-29T09:00:00.25Z,w,user-1,2,read,0.1\n2026-11-29T10:00:01+01:00,w,"a, b",1,write,\n' \
  > corpus/trace_csv/rfc3339
printf '\004\000timestamp,key\n1764406800,1\n1764406801.5,2\n' > corpus/trace_csv/unix
echo "seeded: $(ls corpus/scenario | wc -l) scenarios, $(ls corpus/trace_csv | wc -l) csv," \
  "$(ls corpus/trace_azure_2019 | wc -l) azure 2019, $(ls corpus/trace_azure_2021 | wc -l) azure 2021"
