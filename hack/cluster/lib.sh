# shellcheck shell=bash disable=SC2034 # the settings are used by the scripts that source this
# Shared settings and helpers of the local single-node cluster scripts
# (build.sh, up.sh, down.sh, load-images.sh). Sourced, never run.
#
# Everything lives under a few fixed roots so the cluster can sit next to a
# running dockerd without sharing anything with it: its own containerd
# (socket, root, state), its own CNI bridge, its own kubelet root dir.

# Pinned versions. Kubernetes 1.34 is the newest line whose kubelet still
# runs on cgroup v1 by default (1.35+ refuse it unless failCgroupV1=false is
# set, and 1.36 drops containerd 1.x, which is what Debian 12 ships).
KUBE_VERSION="v1.34.4"
# gVisor's containerd shim is pinned in hack/cluster/gvisor-shim/go.mod, to
# the same gvisor.dev/gvisor version as RUNSC_MODULE_VERSION in hack/runsc.sh.
MIN_GO_MINOR=26 # gvisor.dev/gvisor's go branch says `go 1.26.3`; Kubernetes 1.24.0

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
SANDHOLD_VERSION="$(cat "${REPO_ROOT}/VERSION")"

STATE_DIR=/var/lib/sandhold-cluster  # certs, etcd, containerd root, kubelet
RUN_DIR=/run/sandhold-cluster        # sockets, containerd state, pid files
ETC_DIR=/etc/sandhold-cluster        # generated configs
LOG_DIR=/var/log/sandhold/cluster    # one log per component
CACHE_DIR="${SANDHOLD_CLUSTER_CACHE:-/var/cache/sandhold-cluster}" # built binaries, keyed by version
PKI_DIR="${STATE_DIR}/pki"
PID_DIR="${RUN_DIR}/pids"
KUBELET_DIR="${STATE_DIR}/kubelet"
CONTAINERD_SOCK="${RUN_DIR}/containerd.sock"
CRI_ENDPOINT="unix://${CONTAINERD_SOCK}"
ADMIN_KUBECONFIG="${STATE_DIR}/admin.kubeconfig"
LOCK_FILE=/run/sandhold-cluster-scripts.lock # flock; components never inherit it

# Network. The pod and service ranges are private ranges that neither
# Docker's default bridge (172.17.0.0/16) nor its address pools use.
NODE_NAME="sandhold-node"
POD_CIDR="10.244.0.0/24"
POD_GATEWAY="10.244.0.1"
SERVICE_CIDR="10.96.0.0/16"
SERVICE_IP="10.96.0.1" # first address: the `kubernetes` Service
CNI_BRIDGE="sandhold0"
CNI_BIN_DIR=/usr/lib/cni # Debian's containernetworking-plugins
APISERVER_PORT=6443
ETCD_CLIENT_URL="http://127.0.0.1:2379"
ETCD_PEER_URL="http://127.0.0.1:2380"

PAUSE_IMAGE="docker.io/sandhold/pause:${SANDHOLD_VERSION}"

# Components in start order; down.sh stops them in reverse.
COMPONENTS=(containerd etcd kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet)

# lock_cluster: one up/down/build at a time on this machine; a second caller
# waits (up to 20 minutes: a cold build) instead of starting a duplicate
# containerd or apiserver. Scripts run by a lock holder inherit the lock.
lock_cluster() {
	[[ -n "${SANDHOLD_CLUSTER_LOCKED:-}" ]] && return 0
	exec 9>"${LOCK_FILE}"
	if ! flock -n 9; then
		log "another cluster script is running; waiting for it"
		flock -w 1200 9 || die "gave up waiting for ${LOCK_FILE}"
	fi
	export SANDHOLD_CLUSTER_LOCKED=$$
}

log() { printf '[cluster] %s\n' "$*" >&2; }
die() {
	printf '[cluster] ERROR: %s\n' "$*" >&2
	exit 1
}

# write_file PATH MODE < CONTENT: replace PATH only when CONTENT differs, so
# watchers (kube-proxy exits when its config file is written) and mtimes see
# no change on a re-run.
write_file() {
	local tmp
	tmp="$(mktemp "$1.XXXX")"
	cat >"${tmp}"
	chmod "$2" "${tmp}"
	if cmp -s "${tmp}" "$1"; then
		rm -f "${tmp}"
	else
		mv "${tmp}" "$1"
	fi
}

# kube_cache_dir prints the directory holding the built binaries for the
# pinned version and the exact wrapper sources (go.mod, go.sum, *.go), so a
# change to either triggers exactly one rebuild.
kube_cache_dir() {
	local key
	key="$(cd "${REPO_ROOT}/hack/cluster" && {
		sed -n '/^build_shim()/,/^}/p' build.sh
		find kube gvisor-shim -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print0 |
			LC_ALL=C sort -z | xargs -0 cat
	} | sha256sum | cut -c1-12)"
	printf '%s/%s-%s\n' "${CACHE_DIR}" "${KUBE_VERSION}" "${key}"
}

# pid_of NAME prints the pid of a running component we started, or nothing.
# A pid file whose process is gone, or now belongs to another program, does
# not count.
pid_of() {
	local f="${PID_DIR}/$1.pid" pid
	[[ -f "${f}" ]] || return 0
	pid="$(sed -n 1p "${f}")"
	[[ "${pid}" =~ ^[0-9]+$ ]] || return 0
	alive "${pid}" || return 0
	# The pid file records the executable path after the pid; a recycled
	# pid that runs something else is not ours.
	local exe
	exe="$(readlink "/proc/${pid}/exe" 2>/dev/null || true)"
	exe="${exe% (deleted)}" # a rebuilt binary replaced it; still ours
	[[ "${exe}" == "$(sed -n 2p "${f}")" ]] || return 0
	printf '%s\n' "${pid}"
}

# alive PID: the process exists and is not a zombie (our components are
# reparented to PID 1, which may reap them only a while later).
alive() {
	local stat
	stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
	stat="${stat##*) }"
	[[ "${stat:0:1}" != Z ]]
}

# stop_component NAME [GRACE_SECONDS]: SIGTERM, wait, then SIGKILL.
stop_component() {
	local name="$1" grace="${2:-20}" pid i
	pid="$(pid_of "${name}")"
	if [[ -z "${pid}" ]]; then
		rm -f "${PID_DIR}/${name}.pid"
		return 0
	fi
	log "stopping ${name} (pid ${pid})"
	kill -TERM "${pid}" 2>/dev/null || true
	for ((i = 0; i < grace * 10; i++)); do
		alive "${pid}" || break
		sleep 0.1
	done
	if alive "${pid}"; then
		log "${name} ignored SIGTERM for ${grace}s, sending SIGKILL"
		kill -KILL "${pid}" 2>/dev/null || true
	fi
	rm -f "${PID_DIR}/${name}.pid"
}
