#!/usr/bin/env bash
# Stops the local single-node cluster started by hack/cluster/up.sh: every
# pod sandbox and container is stopped and removed (network torn down through
# CNI), then every component is stopped. State (certificates, etcd data,
# imported images) is kept so the next up.sh takes seconds; --purge removes
# it too. Built binaries (/var/cache/sandhold-cluster) and logs are kept.
#
# Usage: hack/cluster/down.sh [--purge]
set -o errexit -o nounset -o pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=hack/cluster/lib.sh
source hack/cluster/lib.sh

[[ ${EUID} -eq 0 ]] || die "must run as root"
lock_cluster
purge=false
case "${1:-}" in
--purge) purge=true ;;
"") ;;
*) die "unknown argument ${1} (usage: hack/cluster/down.sh [--purge])" ;;
esac

# The kube binary of the running cluster, else the cached one, if any.
KUBE=""
for c in kubelet kube-apiserver; do
	pid="$(pid_of "${c}")"
	[[ -n "${pid}" ]] && KUBE="$(sed -n 2p "${PID_DIR}/${c}.pid")" && break
done
if [[ -z "${KUBE}" ]]; then
	KUBE="$(kube_cache_dir)/sandhold-kube"
fi

# The kubelet first, so it does not restart the pods removed below.
for c in kubelet kube-proxy kube-scheduler kube-controller-manager; do
	stop_component "${c}"
done

CTR=(ctr --address "${CONTAINERD_SOCK}" --namespace k8s.io)
if [[ -n "$(pid_of containerd)" ]]; then
	if [[ -x "${KUBE}" ]]; then
		log "removing pod sandboxes"
		"${KUBE}" cri-reset --runtime-endpoint "${CRI_ENDPOINT}" >&2 ||
			log "cri-reset failed; falling back to killing tasks"
	fi
	# Whatever CRI did not own (or did not manage to remove). Remember the
	# network namespaces of those containers: nobody runs CNI DEL for them.
	for id in $("${CTR[@]}" containers ls -q 2>/dev/null); do
		"${CTR[@]}" containers info "${id}" 2>/dev/null |
			grep -o '"/var/run/netns/cni-[0-9a-f-]*"' | tr -d '"' >>"${RUN_DIR}/leftover-netns" || true
	done
	for id in $("${CTR[@]}" tasks ls -q 2>/dev/null); do
		"${CTR[@]}" tasks kill -s SIGKILL "${id}" >/dev/null 2>&1 || true
		"${CTR[@]}" tasks delete -f "${id}" >/dev/null 2>&1 || true
	done
	for id in $("${CTR[@]}" containers ls -q 2>/dev/null); do
		"${CTR[@]}" containers delete "${id}" >/dev/null 2>&1 || true
	done
fi
stop_component containerd

# Shims outlive containerd by design. Ours are the ones started with our
# socket as their containerd address (dockerd's shims name another socket).
for d in /proc/[0-9]*; do
	[[ "$(readlink "${d}/exe" 2>/dev/null)" == */containerd-shim-runc-v2 ]] || continue
	if tr '\0' ' ' <"${d}/cmdline" 2>/dev/null | grep -qF -- "-address ${CONTAINERD_SOCK} "; then
		log "killing leftover shim ${d#/proc/}"
		kill -KILL "${d#/proc/}" 2>/dev/null || true
	fi
done

stop_component kube-apiserver
stop_component etcd

# kube-proxy's Service rules and the pod bridge.
if [[ -x "${KUBE}" ]] && iptables -t nat -S KUBE-SERVICES >/dev/null 2>&1; then
	"${KUBE}" kube-proxy --cleanup >/dev/null 2>&1 || true
fi
ip link delete "${CNI_BRIDGE}" 2>/dev/null || true
# Masquerade rules of pods whose CNI DEL never ran (a runtime failure
# mid-create), found by the network name CNI writes into their comment.
while read -r rule; do
	chain="${rule##* -j }"
	eval "iptables -t nat ${rule/#-A /-D }" 2>/dev/null || true
	iptables -t nat -F "${chain}" 2>/dev/null || true
	iptables -t nat -X "${chain}" 2>/dev/null || true
done < <(iptables -t nat -S POSTROUTING 2>/dev/null | grep -F 'name: \"sandhold\"' || true)
for t in nat mangle filter; do
	iptables -t "${t}" -X KUBE-KUBELET-CANARY 2>/dev/null || true
	ip6tables -t "${t}" -X KUBE-KUBELET-CANARY 2>/dev/null || true
done
if [[ -f "${RUN_DIR}/leftover-netns" ]]; then
	while read -r ns; do
		log "removing leftover network namespace ${ns}"
		umount "${ns}" 2>/dev/null || true
		rm -f "${ns}"
	done < <(sort -u "${RUN_DIR}/leftover-netns")
	rm -f "${RUN_DIR}/leftover-netns"
fi
# No pod holds an address while the cluster is down.
find "${STATE_DIR}/cni/networks" -type f ! -name lock -delete 2>/dev/null || true

# Mounts left by pods (volumes, rootfs, sandbox shm) under our roots, deepest
# first.
unmount_under() {
	local root="$1" m
	while read -r m; do
		umount "${m}" 2>/dev/null || umount -l "${m}" 2>/dev/null || true
	done < <(awk -v r="${root}/" 'index($5, r) == 1 {print $5}' /proc/self/mountinfo | sort -r)
}
unmount_under "${KUBELET_DIR}"
unmount_under "${RUN_DIR}"
unmount_under "${STATE_DIR}"

if ${purge}; then
	if awk -v s="${STATE_DIR}/" -v r="${RUN_DIR}/" 'index($5, s) == 1 || index($5, r) == 1' /proc/self/mountinfo | grep -q .; then
		die "mounts remain under ${STATE_DIR} or ${RUN_DIR}; not purging"
	fi
	log "purging ${STATE_DIR} ${RUN_DIR} ${ETC_DIR}"
	rm -rf "${STATE_DIR}" "${RUN_DIR}" "${ETC_DIR}"
fi
log "cluster is down"
