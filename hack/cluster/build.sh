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
	die "$("${GO}" env GOVERSION) is too old: Go >= 1.${MIN_GO_MINOR} is required"

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

log "building Kubernetes ${KUBE_VERSION} (one binary; a cold build takes 5-8 minutes on 2 cores)"
start=${SECONDS}
# Static binaries; no VCS stamping (the wrapper module sits inside this repo).
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
(
	cd hack/cluster/kube
	nice -n "${BUILD_NICE:-10}" "${GO}" build "${build_flags[@]}" -o "${tmp}/sandhold-kube" .
	nice -n "${BUILD_NICE:-10}" "${GO}" build "${build_flags[@]}" -o "${tmp}/pause" ./pause
)
# gVisor's shim sets its own oom_score_adj to -999 and gives up when the
# kernel refuses, which it does without CAP_SYS_RESOURCE (Firecracker guests
# drop it from every bounding set). containerd's SetOOMScore, which it calls,
# already tolerates that refusal for unprivileged callers; this build extends
# the tolerance to callers lacking CAP_SYS_RESOURCE, and the shim keeps the
# default score. Nothing upstream is committed: the wrapper module is vendored
# into a scratch copy and that one file patched there.
build_shim() {
	local w="${tmp}/gvisor-shim" f
	mkdir -p "${w}"
	cp hack/cluster/gvisor-shim/go.mod hack/cluster/gvisor-shim/go.sum hack/cluster/gvisor-shim/main.go "${w}/"
	(cd "${w}" && "${GO}" mod vendor)
	f="${w}/vendor/github.com/containerd/containerd/v2/pkg/sys/oom_linux.go"
	[[ -f "${f}" ]] || die "gVisor's shim no longer uses containerd's pkg/sys; revisit build_shim in $0"
	sed -i 's/if os.IsPermission(err) \&\& (!runningPrivileged() || userns.RunningInUserNS()) {/if os.IsPermission(err) \&\& (!runningPrivileged() || userns.RunningInUserNS() || !hasCapSysResource()) {/' "${f}"
	grep -q hasCapSysResource "${f}" || die "patching ${f} failed: the upstream code changed; revisit build_shim in $0"
	cat >>"${f}" <<'EOF'

// hasCapSysResource reports whether this process may lower an
// oom_score_adj. Added at build time by hack/cluster/build.sh.
func hasCapSysResource() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return true
	}
	return data[0].Effective&(1<<unix.CAP_SYS_RESOURCE) != 0
}
EOF
	(cd "${w}" && nice -n "${BUILD_NICE:-10}" "${GO}" build -mod=vendor -trimpath -ldflags="-s -w" \
		-o "${tmp}/containerd-shim-runsc-v1" .)
	rm -rf "${w}"
}
build_shim
log "built in $((SECONDS - start))s"

rm -rf "${out}"
mv "${tmp}" "${out}"
trap - EXIT
# Builds for other pins are ~150 MB each and no longer used.
find "${CACHE_DIR}" -mindepth 1 -maxdepth 1 ! -path "${out}" -exec rm -rf {} +
printf '%s\n' "${out}"
