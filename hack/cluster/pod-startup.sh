#!/usr/bin/env bash
# Measures pod start on the local cluster: wall time from `kubectl create` to
# the pod's Ready condition (kubectl wait), for runc (no RuntimeClass) and
# gVisor (runtimeClassName: gvisor), one pod at a time. Prints each run and
# the median per runtime.
#
# Usage: hack/cluster/pod-startup.sh [RUNS]   (default 5)
set -o errexit -o nounset -o pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=hack/cluster/lib.sh
source hack/cluster/lib.sh

runs="${1:-5}"
export KUBECONFIG="${ADMIN_KUBECONFIG}"
KUBECTL="${STATE_DIR}/bin/kubectl"
[[ -x "${KUBECTL}" ]] || die "no cluster; run hack/cluster/up.sh"
image="sandhold/busybox:${SANDHOLD_VERSION}"

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

for runtime in runc gvisor; do
	times=()
	for ((i = 1; i <= runs; i++)); do
		name="startup-${runtime}-${i}"
		rc=""
		[[ "${runtime}" == gvisor ]] && rc='"runtimeClassName": "gvisor",'
		manifest="{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"${name}\"},
			\"spec\": {${rc} \"terminationGracePeriodSeconds\": 0, \"containers\": [{\"name\": \"c\",
			\"image\": \"${image}\", \"imagePullPolicy\": \"IfNotPresent\", \"command\": [\"sleep\", \"3600\"]}]}}"
		start="$(date +%s.%N)"
		echo "${manifest}" | "${KUBECTL}" create -f - >/dev/null
		"${KUBECTL}" wait --for=condition=Ready "pod/${name}" --timeout=120s >/dev/null
		end="$(date +%s.%N)"
		t="$(awk -v a="${start}" -v b="${end}" 'BEGIN {print b - a}')"
		times+=("${t}")
		printf '%s run %d: %.2f s\n' "${runtime}" "${i}" "${t}"
		"${KUBECTL}" delete pod "${name}" --wait=true >/dev/null
	done
	printf '%s median: %.2f s\n' "${runtime}" "$(printf '%s\n' "${times[@]}" | median)"
done
