#!/usr/bin/env bash
# Runs one libFuzzer target for a fixed number of runs over its seed corpus
# (new inputs it finds go to a scratch dir, so the seeds stay as generated).
set -euo pipefail
exe=$1 seeds=$2 runs=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$seeds"
exec "$exe" -runs="$runs" -max_len=4096 -timeout=10 -print_final_stats=1 "$scratch" "$seeds"
