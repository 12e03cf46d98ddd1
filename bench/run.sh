#!/usr/bin/env bash
# Run every benchmark; results land in bench/results/*.json.
# Numbers quoted in docs/benchmarks.md come from these runs.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 bench/lifecycle_bench.py --runs "${BENCH_RUNS:-20}"
if [[ -f bench/execd_bench.py ]]; then
  python3 bench/execd_bench.py | tee bench/results/execd.json
fi
# Kubernetes mode, when the local cluster is up (make cluster): pod start to
# Ready per runtime, and pooled vs cold BatchSandbox time to Running.
if [[ -f /var/lib/sandhold-cluster/admin.kubeconfig ]]; then
  hack/cluster/pod-startup.sh "${BENCH_POD_RUNS:-9}" | tee bench/results/pod-startup.txt
  python3 -m pytest tests/k8s/test_controller.py -k pooled_batch_is_running_sooner -s -q \
    -p no:cacheprovider | grep 'time-to-Running' | tee bench/results/batchsandbox.txt
fi
