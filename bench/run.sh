#!/usr/bin/env bash
# Run every benchmark; results land in bench/results/*.json.
# Numbers quoted in docs/benchmarks.md come from these runs.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 bench/lifecycle_bench.py --runs "${BENCH_RUNS:-20}"
if [[ -f bench/execd_bench.py ]]; then
  python3 bench/execd_bench.py | tee bench/results/execd.json
fi
