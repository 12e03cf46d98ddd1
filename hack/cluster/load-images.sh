#!/usr/bin/env bash
# Copies the local sandhold images from dockerd into the cluster's
# containerd (namespace k8s.io), so pods with imagePullPolicy IfNotPresent
# (or Never) use them: no registry is reachable. An image is copied again
# only when its Docker image ID changed. Images dockerd does not have are
# skipped with a note.
#
# Usage: hack/cluster/load-images.sh [IMAGE...]
#   default: sandhold/busybox, sandhold/base, sandhold/execd at ./VERSION
set -o errexit -o nounset -o pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=hack/cluster/lib.sh
source hack/cluster/lib.sh
lock_cluster

[[ -S "${CONTAINERD_SOCK}" ]] || die "the cluster's containerd is not running; run hack/cluster/up.sh"
if ! command -v docker >/dev/null || ! docker version >/dev/null 2>&1; then
	log "no reachable dockerd: no local images loaded"
	exit 0
fi

images=("$@")
if ((${#images[@]} == 0)); then
	images=(sandhold/busybox sandhold/base sandhold/execd)
	images=("${images[@]/%/:${SANDHOLD_VERSION}}")
fi

CTR=(ctr --address "${CONTAINERD_SOCK}" --namespace k8s.io)

import_image() {
	docker save "$1" | "${CTR[@]}" images import - >/dev/null
}
stamps="${STATE_DIR}/images"
mkdir -p "${stamps}"
for image in "${images[@]}"; do
	id="$(docker image inspect --format '{{.Id}}' "${image}" 2>/dev/null)" || {
		log "skipping ${image}: not in dockerd"
		continue
	}
	stamp="${stamps}/$(printf '%s' "${image}" | tr '/:' '__')"
	if [[ "$(cat "${stamp}" 2>/dev/null)" == "${id}" ]] &&
		"${CTR[@]}" images ls -q "name==docker.io/${image}" | grep -q .; then
		continue
	fi
	log "loading ${image} into the cluster"
	if ! import_image "${image}"; then
		# containerd 1.6 can fail an unpack with "parent snapshot ... does not
		# exist" when its snapshot metadata went stale (seen after the
		# cluster's processes were killed hard). Dropping the image record
		# and importing again recreates the snapshots.
		log "import of ${image} failed; removing its record and retrying once"
		"${CTR[@]}" images rm "docker.io/${image}" >/dev/null 2>&1 || true
		import_image "${image}" || die "could not load ${image} into the cluster (containerd log: ${LOG_DIR}/containerd.log)"
	fi
	echo "${id}" >"${stamp}"
done
