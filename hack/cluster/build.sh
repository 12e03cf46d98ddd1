#!/usr/bin/env bash
# Builds the Kubernetes components of the local cluster (one binary,
# sandhold-kube, see hack/cluster/kube/main.go), the pause binary and gVisor's
# containerd shim (containerd-shim-runsc-v1), unless
# the cache already holds them for the pinned version and wrapper sources.
# Prints the cache directory on stdout.
#
# Usage: hack/cluster/build.sh [--force]
#
# Environment: GO (default: go on PATH, else /usr/local/go/bin/go),
# BUILD_NICE (default 10), GOFLAGS_P (go build -p, default: go's default).
set -o errexit -o nounset -o pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=hack/cluster/lib.sh
source hack/cluster/lib.sh
lock_cluster

force=false
[[ "${1:-}" == "--force" ]] && force=true

out="$(kube_cache_dir)"
if ! ${force} && [[ -x "${out}/sandhold-kube" && -x "${out}/pause" && -x "${out}/containerd-shim-runsc-v1" ]]; then
	log "using cached binaries in ${out}"
	printf '%s\n' "${out}"
	exit 0
fi

GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
[[ -x "${GO}" ]] || die "no Go toolchain found (set GO=/path/to/go); Go >= 1.${MIN_GO_MINOR} is required"
go_minor="$("${GO}" env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')"
[[ -n "${go_minor}" && "${go_minor}" -ge "${MIN_GO_MINOR}" ]] ||
	die "$("${GO}" env GOVERSION) is too old: k8s.io/kubernetes ${KUBE_VERSION} needs Go >= 1.${MIN_GO_MINOR}"

# Version stamps: without them every component reports v0.0.0-master, which
# kubectl flags as version skew and the apiserver cannot parse as a release.
minor="$(echo "${KUBE_VERSION}" | cut -d. -f2)"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X ${pkg}.gitVersion=${KUBE_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
	ldflags+=" -X ${pkg}.gitTreeState=clean"
done

tmp="${out}.tmp.$$"
mkdir -p "${tmp}"
trap 'rm -rf "${tmp}"' EXIT

build_flags=(-trimpath "-ldflags=${ldflags}")
[[ -n "${GOFLAGS_P:-}" ]] && build_flags+=(-p "${GOFLAGS_P}")

log "building Kubernetes ${KUBE_VERSION} (one binary; a cold build takes a while on 2 cores)"
start=${SECONDS}
# Static binaries; no VCS stamping (the wrapper module sits inside this repo).
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
(
	cd hack/cluster/kube
	nice -n "${BUILD_NICE:-10}" "${GO}" build "${build_flags[@]}" -o "${tmp}/sandhold-kube" .
	nice -n "${BUILD_NICE:-10}" "${GO}" build "${build_flags[@]}" -o "${tmp}/pause" ./pause
)
# Outside any module, like `go install pkg@version`, so gVisor's dependency
# versions and Kubernetes' never meet in one build list.
(
	cd /
	export GOBIN="${tmp}/gobin"
	nice -n "${BUILD_NICE:-10}" "${GO}" install -trimpath -ldflags="-s -w" "gvisor.dev/gvisor/shim@${GVISOR_VERSION}"
	mv "${tmp}/gobin/shim" "${tmp}/containerd-shim-runsc-v1"
	rmdir "${tmp}/gobin"
)
log "built in $((SECONDS - start))s"

rm -rf "${out}"
mv "${tmp}" "${out}"
trap - EXIT
# Builds for other pins are ~150 MB each and no longer used.
find "${CACHE_DIR}" -mindepth 1 -maxdepth 1 ! -path "${out}" -exec rm -rf {} +
printf '%s\n' "${out}"
