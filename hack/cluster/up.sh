#!/usr/bin/env bash
# Brings up (or repairs) the local single-node Kubernetes cluster: its own
# containerd (runc + runsc handlers), etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kube-proxy and kubelet, then waits
# for the node to be Ready, creates the gVisor RuntimeClass and loads the
# local sandhold images. See docs/cluster.md.
#
# Idempotent: components that run with the same command line and config are
# kept, dead ones are restarted, changed ones are restarted, and the
# Kubernetes binaries are built only when the cache misses.
#
# Usage: hack/cluster/up.sh
# Environment:
#   SANDHOLD_NODE_IP   node address (default: source address of the default route)
#   READY_TIMEOUT      seconds to wait for the node to be Ready (default 180)
#   SANDHOLD_RUNSC_ENV runsc selection written by hack/runsc.sh
#                      (default /etc/sandhold/runsc.env; missing: Debian's runsc)
set -o errexit -o nounset -o pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=hack/cluster/lib.sh
source hack/cluster/lib.sh

[[ ${EUID} -eq 0 ]] || die "must run as root (it starts containerd and the kubelet)"
[[ "$(uname -s)" == Linux ]] || die "Linux only"
lock_cluster

# --- packages ---------------------------------------------------------------

# Debian packages providing each command we run. Installed only when a
# command is missing, so a second run never touches apt.
declare -A PKG_OF=(
	[containerd]=containerd [ctr]=containerd [containerd-shim-runc-v2]=containerd
	[runc]=runc [etcd]=etcd-server [openssl]=openssl [curl]=curl
	[iptables]=iptables [ip]=iproute2
)
ensure_packages() {
	local missing=() cmd
	for cmd in "${!PKG_OF[@]}"; do
		command -v "${cmd}" >/dev/null || missing+=("${PKG_OF[${cmd}]}")
	done
	[[ -x "${CNI_BIN_DIR}/bridge" ]] || missing+=(containernetworking-plugins)
	[[ -n "${RUNSC_PATH}" ]] || missing+=(runsc)
	((${#missing[@]})) || return 0
	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
	log "installing Debian packages: ${missing[*]}"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; then
		apt-get update >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
	fi
	# etcd-server's maintainer script may start a system etcd on 2379.
	if command -v systemctl >/dev/null && systemctl is-active --quiet etcd 2>/dev/null; then
		systemctl disable --now etcd >/dev/null 2>&1 || true
	fi
}

# --- gVisor -------------------------------------------------------------------

# A newer runsc, when installed, describes itself in /etc/sandhold/runsc.env
# (RUNSC_PATH, RUNSC_NETWORK). Otherwise Debian's runsc is used; it cannot run
# its own network stack on this kernel generation, hence network=host.
RUNSC_ENV="${SANDHOLD_RUNSC_ENV:-/etc/sandhold/runsc.env}"
RUNSC_PATH="" RUNSC_NETWORK=""
if [[ -f "${RUNSC_ENV}" ]]; then
	# shellcheck disable=SC1090
	RUNSC_PATH="$(. "${RUNSC_ENV}" && echo "${RUNSC_PATH:-}")"
	# shellcheck disable=SC1090
	RUNSC_NETWORK="$(. "${RUNSC_ENV}" && echo "${RUNSC_NETWORK:-}")"
fi
if [[ -z "${RUNSC_PATH}" || ! -x "${RUNSC_PATH}" ]]; then
	RUNSC_PATH=""
	[[ -x /usr/bin/runsc ]] && RUNSC_PATH=/usr/bin/runsc
	RUNSC_NETWORK=host
fi

ensure_packages
[[ -n "${RUNSC_PATH}" ]] || RUNSC_PATH=/usr/bin/runsc RUNSC_NETWORK=host
RUNSC_NETWORK="${RUNSC_NETWORK:-host}"

# --- binaries -----------------------------------------------------------------

BIN_DIR="$(hack/cluster/build.sh)"
KUBE="${BIN_DIR}/sandhold-kube"

mkdir -p "${STATE_DIR}" "${RUN_DIR}" "${PID_DIR}" "${ETC_DIR}" "${LOG_DIR}" \
	"${PKI_DIR}" "${KUBELET_DIR}" "${STATE_DIR}/bin" "${ETC_DIR}/cni/net.d"
chmod 0700 "${PKI_DIR}"

# kubectl for people and scripts: a symlink to the one binary.
ln -sfn "${KUBE}" "${STATE_DIR}/bin/kubectl"
KUBECTL=("${STATE_DIR}/bin/kubectl" --kubeconfig "${ADMIN_KUBECONFIG}")

# --- node address -------------------------------------------------------------

detect_node_ip() {
	local ip
	ip="$(ip -4 -o route get 203.0.113.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')"
	if [[ -z "${ip}" ]]; then
		ip="$(ip -4 -o addr show scope global | awk -v b="${CNI_BRIDGE}" '$2 != "docker0" && $2 != b {sub("/.*", "", $4); print $4; exit}')"
	fi
	printf '%s\n' "${ip}"
}
NODE_IP="${SANDHOLD_NODE_IP:-$(detect_node_ip)}"
[[ "${NODE_IP}" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
	die "cannot find a non-loopback IPv4 address for the node (the kubelet refuses loopback); set SANDHOLD_NODE_IP"

# --- certificates -------------------------------------------------------------

# new_key FILE: an ECDSA P-256 key (fast to generate; every component accepts it).
new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# new_ca NAME CN: a self-signed CA.
new_ca() {
	new_key "${PKI_DIR}/$1.key"
	openssl req -x509 -new -key "${PKI_DIR}/$1.key" -subj "/CN=$2" -days 3650 -sha256 \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" -out "${PKI_DIR}/$1.crt"
}

# sign NAME SUBJECT EXT_USAGE [SAN] [CA]: key + certificate signed by CA
# (default: the cluster CA).
sign() {
	local name="$1" subj="$2" usage="$3" san="${4:-}" ca="${5:-ca}" ext
	ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=${usage}"
	[[ -n "${san}" ]] && ext+=$'\n'"subjectAltName=${san}"
	[[ -f "${PKI_DIR}/${name}.key" ]] || new_key "${PKI_DIR}/${name}.key"
	openssl req -new -key "${PKI_DIR}/${name}.key" -subj "${subj}" -out "${PKI_DIR}/${name}.csr"
	openssl x509 -req -in "${PKI_DIR}/${name}.csr" -CA "${PKI_DIR}/${ca}.crt" -CAkey "${PKI_DIR}/${ca}.key" \
		-CAcreateserial -days 3650 -sha256 -extfile <(printf '%s\n' "${ext}") \
		-out "${PKI_DIR}/${name}.crt" 2>/dev/null
	rm -f "${PKI_DIR}/${name}.csr"
}

ensure_pki() {
	cd "${PKI_DIR}"
	if [[ ! -f ca.crt || ! -f ca.key ]]; then
		log "creating the cluster CA and certificates in ${PKI_DIR}"
		rm -f ./*.crt ./*.key ./*.pub ./*.srl node-ip
		new_ca ca sandhold-cluster-ca
	fi
	# The front proxy CA authenticates the apiserver to aggregated APIs and
	# fills extension-apiserver-authentication, which the controller-manager
	# and scheduler read (without it they log an error every few seconds).
	if [[ ! -f front-proxy-ca.crt || ! -f front-proxy-client.crt ]]; then
		new_ca front-proxy-ca sandhold-front-proxy-ca
		sign front-proxy-client /CN=front-proxy-client clientAuth "" front-proxy-ca
	fi
	[[ -f sa.key ]] || { new_key sa.key && openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null; }
	local n
	for n in admin:/O=system:masters/CN=sandhold-admin \
		apiserver-kubelet-client:/O=system:masters/CN=kube-apiserver-kubelet-client \
		controller-manager:/CN=system:kube-controller-manager \
		scheduler:/CN=system:kube-scheduler \
		kube-proxy:/CN=system:kube-proxy \
		kubelet:/O=system:nodes/CN=system:node:${NODE_NAME}; do
		[[ -f "${n%%:*}.crt" ]] || sign "${n%%:*}" "${n#*:}" clientAuth
	done
	# Serving certificates name the node address, which can change between
	# runs (a new VM, a new lease): reissue them when it does.
	if [[ ! -f apiserver.crt || ! -f kubelet-serving.crt || "$(cat node-ip 2>/dev/null)" != "${NODE_IP}" ]]; then
		sign apiserver /CN=kube-apiserver serverAuth \
			"DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:${SERVICE_IP},IP:${NODE_IP}"
		sign kubelet-serving "/CN=${NODE_NAME}" serverAuth \
			"DNS:${NODE_NAME},DNS:localhost,IP:127.0.0.1,IP:${NODE_IP}"
		echo "${NODE_IP}" >node-ip
	fi
	chmod 0600 ./*.key
	cd "${REPO_ROOT}"
}

# kubeconfig NAME CERT: a self-contained kubeconfig for the local apiserver.
kubeconfig() {
	write_file "${STATE_DIR}/$1.kubeconfig" 0600 <<EOF
apiVersion: v1
kind: Config
clusters:
- name: sandhold
  cluster:
    server: https://127.0.0.1:${APISERVER_PORT}
    certificate-authority-data: $(base64 -w0 "${PKI_DIR}/ca.crt")
users:
- name: $1
  user:
    client-certificate-data: $(base64 -w0 "${PKI_DIR}/$2.crt")
    client-key-data: $(base64 -w0 "${PKI_DIR}/$2.key")
contexts:
- name: sandhold
  context: {cluster: sandhold, user: $1}
current-context: sandhold
EOF
}

ensure_pki
kubeconfig admin admin
kubeconfig controller-manager controller-manager
kubeconfig scheduler scheduler
kubeconfig kube-proxy kube-proxy
kubeconfig kubelet kubelet

# --- configs ------------------------------------------------------------------

# gVisor's shim reads runsc's path, state root and flags from this file,
# which the `runsc` handler names as its ConfigPath.
# containerd 1.6 ignores runtime_path and finds shims on its PATH: give it a
# directory holding just this one.
SHIM_DIR="${STATE_DIR}/shims"
mkdir -p "${SHIM_DIR}"
ln -sfn "${BIN_DIR}/containerd-shim-runsc-v1" "${SHIM_DIR}/containerd-shim-runsc-v1"
rm -f "${STATE_DIR}/bin/runsc" "${STATE_DIR}/bin/containerd-shim-runsc-v1" # older layouts
write_file "${ETC_DIR}/runsc.toml" 0644 <<EOF
# Generated by hack/cluster/up.sh: options of containerd-shim-runsc-v1.
binary_name = "${RUNSC_PATH}"
root = "${RUN_DIR}/runsc"

[runsc_config]
  network = "${RUNSC_NETWORK}"
EOF

# Without CAP_SYS_RESOURCE (some VMs drop it from the bounding set) nothing
# may lower an oom_score_adj, and the kubelet asks for -998 for every pod
# sandbox: let containerd clamp the value at its own instead of failing.
restrict_oom=false
(( (0x$(awk '/^CapBnd:/ {print $2}' /proc/self/status) >> 24) & 1 )) || restrict_oom=true

write_file "${ETC_DIR}/containerd.toml" 0644 <<EOF
# Generated by hack/cluster/up.sh. A containerd of its own: nothing here is
# shared with the containerd that dockerd manages.
version = 2
root = "${STATE_DIR}/containerd"
state = "${RUN_DIR}/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "${CONTAINERD_SOCK}"

[ttrpc]
  address = "${CONTAINERD_SOCK}.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "${STATE_DIR}/containerd-opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  restrict_oom_score_adj = ${restrict_oom}

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        Root = "${RUN_DIR}/runc"
        SystemdCgroup = false

    # gVisor through its own shim, which keeps one sandbox per pod and
    # reports the exit of every container in it.
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]
      runtime_type = "io.containerd.runsc.v1"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc.options]
        TypeUrl = "io.containerd.runsc.v1.options"
        ConfigPath = "${ETC_DIR}/runsc.toml"

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN_DIR}"
    conf_dir = "${ETC_DIR}/cni/net.d"
    max_conf_num = 1
EOF

# One bridge, host-local IPAM, host ports, and the firewall plugin: dockerd
# sets the FORWARD policy to DROP, so pod traffic needs explicit accepts.
write_file "${ETC_DIR}/cni/net.d/10-sandhold.conflist" 0644 <<EOF
{
  "cniVersion": "1.0.0",
  "name": "sandhold",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "${CNI_BRIDGE}",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "${POD_CIDR}", "gateway": "${POD_GATEWAY}"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "${STATE_DIR}/cni/networks"
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "firewall"}
  ]
}
EOF

write_file "${ETC_DIR}/kubelet.yaml" 0644 <<EOF
# Generated by hack/cluster/up.sh.
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 0.0.0.0
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${PKI_DIR}/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: ${PKI_DIR}/kubelet-serving.crt
tlsPrivateKeyFile: ${PKI_DIR}/kubelet-serving.key
containerRuntimeEndpoint: ${CRI_ENDPOINT}
cgroupDriver: cgroupfs
# This host runs cgroup v1 (hybrid); 1.34 still supports it.
failCgroupV1: false
failSwapOn: false
podLogsDir: ${LOG_DIR}/pods
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
# Images come from local imports and cannot be pulled again: never collect
# them, and keep disk-pressure eviction out of the way of small CI disks.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
serializeImagePulls: false
EOF

write_file "${ETC_DIR}/kube-proxy.yaml" 0644 <<EOF
# Generated by hack/cluster/up.sh. Zero conntrack values and no localhost
# NodePorts leave the host's sysctls as they are.
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: ${STATE_DIR}/kube-proxy.kubeconfig}
hostnameOverride: ${NODE_NAME}
mode: iptables
clusterCIDR: ${POD_CIDR}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: [primary]
iptables: {localhostNodePorts: false}
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF

# --- processes ----------------------------------------------------------------

# spec_hash FILES...: identifies a component's command line and config, so a
# changed one is restarted and an unchanged one kept.
spec_hash() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

# ensure_running NAME HASH CMD...: keep, restart or start a component.
# Returns 0 if it was (re)started, 1 if an identical one was already running.
ensure_running() {
	local name="$1" hash="$2" pid
	shift 2
	hash="${hash}-$(readlink -f "$1" | sha256sum | cut -c1-8)"
	pid="$(pid_of "${name}")"
	if [[ -n "${pid}" ]]; then
		if [[ "$(sed -n 3p "${PID_DIR}/${name}.pid")" == "${hash}" && -e "/proc/${pid}/exe" &&
			"$(readlink "/proc/${pid}/exe")" != *" (deleted)" ]]; then
			return 1
		fi
		log "${name}: binary, command line or config changed, restarting"
		stop_component "${name}"
	elif [[ -f "${PID_DIR}/${name}.pid" ]]; then
		log "${name} had died, restarting (log: ${LOG_DIR}/${name}.log)"
	fi
	log "starting ${name}"
	printf '\n=== %s starting %s\n' "$(date -Is)" "${name}" >>"${LOG_DIR}/${name}.log"
	setsid "$@" >>"${LOG_DIR}/${name}.log" 2>&1 </dev/null 9>&- &
	local child=$! exe i
	exe="$(readlink -f "$1")"
	printf '%s\n%s\n%s\n' "${child}" "${exe}" "${hash}" >"${PID_DIR}/${name}.pid"
	# Until the forked shell has exec'd, /proc/<pid>/exe is still bash.
	for ((i = 0; i < 50; i++)); do
		[[ "$(readlink "/proc/${child}/exe" 2>/dev/null)" == "${exe}" || ! -d "/proc/${child}" ]] && break
		sleep 0.05
	done
	return 0
}

# wait_for NAME TIMEOUT DESCRIPTION CMD...: poll CMD until it succeeds; fail
# early, with the log's tail, if the component dies.
wait_for() {
	local name="$1" timeout="$2" what="$3" deadline
	shift 3
	deadline=$((SECONDS + timeout))
	until "$@" >/dev/null 2>&1; do
		if [[ -z "$(pid_of "${name}")" ]]; then
			tail -n 25 "${LOG_DIR}/${name}.log" >&2 || true
			die "${name} exited while waiting for ${what}; full log: ${LOG_DIR}/${name}.log"
		fi
		if ((SECONDS >= deadline)); then
			tail -n 25 "${LOG_DIR}/${name}.log" >&2 || true
			die "timed out after ${timeout}s waiting for ${what}; full log: ${LOG_DIR}/${name}.log"
		fi
		sleep 0.2
	done
}

port_free_or_ours() {
	local port="$1" name="$2"
	[[ -n "$(pid_of "${name}")" ]] && return 0
	if ss -Hltn "sport = :${port}" 2>/dev/null | grep -q .; then
		die "port ${port} is in use by another program; ${name} needs it ($(ss -Hltnp "sport = :${port}" | head -1))"
	fi
}

CTR=(ctr --address "${CONTAINERD_SOCK}" --namespace k8s.io)

# containerd
PATH="${SHIM_DIR}:${PATH}" ensure_running containerd "$(echo "${SHIM_DIR}" | spec_hash - "${ETC_DIR}/containerd.toml" "${ETC_DIR}/cni/net.d/10-sandhold.conflist" "${ETC_DIR}/runsc.toml")" \
	"$(command -v containerd)" --config "${ETC_DIR}/containerd.toml" || true
wait_for containerd 30 "the containerd socket" "${CTR[@]}" version

# The pause image: built from hack/cluster/kube/pause, imported as a
# docker-archive written by hand, so no registry and no dockerd are needed.
ensure_pause_image() {
	local stamp="${STATE_DIR}/pause.sha256" sum
	sum="$(sha256sum "${BIN_DIR}/pause" | cut -c1-64)"
	if [[ "$(cat "${stamp}" 2>/dev/null)" == "${sum}" ]] &&
		"${CTR[@]}" images ls -q "name==${PAUSE_IMAGE}" | grep -q .; then
		return 0
	fi
	log "importing ${PAUSE_IMAGE}"
	local d arch layer_sum config config_sum
	d="$(mktemp -d)"
	arch="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
	mkdir -p "${d}/rootfs" "${d}/out"
	install -m 0755 "${BIN_DIR}/pause" "${d}/rootfs/pause"
	tar -C "${d}/rootfs" --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "${d}/layer.tar" pause
	layer_sum="$(sha256sum "${d}/layer.tar" | cut -c1-64)"
	config="{\"architecture\":\"${arch}\",\"os\":\"linux\",\"config\":{\"User\":\"65535:65535\",\"Entrypoint\":[\"/pause\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:${layer_sum}\"]}}"
	config_sum="$(printf '%s' "${config}" | sha256sum | cut -c1-64)"
	printf '%s' "${config}" >"${d}/out/${config_sum}.json"
	mkdir "${d}/out/${layer_sum}"
	mv "${d}/layer.tar" "${d}/out/${layer_sum}/layer.tar"
	printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' \
		"${config_sum}" "${PAUSE_IMAGE#docker.io/}" "${layer_sum}" >"${d}/out/manifest.json"
	tar -C "${d}/out" -cf - . | "${CTR[@]}" images import - >/dev/null
	rm -rf "${d}"
	echo "${sum}" >"${stamp}"
}
ensure_pause_image

# etcd: plain HTTP on loopback only.
port_free_or_ours 2379 etcd
etcd_args=(
	--name sandhold --data-dir "${STATE_DIR}/etcd"
	--listen-client-urls "${ETCD_CLIENT_URL}" --advertise-client-urls "${ETCD_CLIENT_URL}"
	--listen-peer-urls "${ETCD_PEER_URL}" --initial-advertise-peer-urls "${ETCD_PEER_URL}"
	--initial-cluster "sandhold=${ETCD_PEER_URL}" --logger zap --log-level warn
)
ensure_running etcd "$(printf '%s\n' "${etcd_args[@]}" | spec_hash -)" \
	"$(command -v etcd)" "${etcd_args[@]}" || true
wait_for etcd 30 "etcd health" sh -c "curl -sf ${ETCD_CLIENT_URL}/health | grep -q '\"health\":\"true\"'"

# kube-apiserver. It listens on all addresses and advertises the node
# address: the `kubernetes` Service's endpoint may not be a loopback address,
# and pods reach the apiserver through it. Anonymous requests only reach
# the health and version endpoints (RBAC system:public-info-viewer).
port_free_or_ours "${APISERVER_PORT}" kube-apiserver
# shellcheck disable=SC2054 # commas inside flag values
apiserver_args=(
	--advertise-address="${NODE_IP}" --bind-address=0.0.0.0 --secure-port="${APISERVER_PORT}"
	--etcd-servers="${ETCD_CLIENT_URL}"
	--client-ca-file="${PKI_DIR}/ca.crt"
	--tls-cert-file="${PKI_DIR}/apiserver.crt" --tls-private-key-file="${PKI_DIR}/apiserver.key"
	--kubelet-certificate-authority="${PKI_DIR}/ca.crt"
	--kubelet-client-certificate="${PKI_DIR}/apiserver-kubelet-client.crt"
	--kubelet-client-key="${PKI_DIR}/apiserver-kubelet-client.key"
	--kubelet-preferred-address-types=InternalIP,Hostname
	--service-cluster-ip-range="${SERVICE_CIDR}"
	--service-account-issuer=https://kubernetes.default.svc.cluster.local
	--service-account-key-file="${PKI_DIR}/sa.pub"
	--service-account-signing-key-file="${PKI_DIR}/sa.key"
	--requestheader-client-ca-file="${PKI_DIR}/front-proxy-ca.crt"
	--requestheader-allowed-names=front-proxy-client
	--requestheader-username-headers=X-Remote-User
	--requestheader-group-headers=X-Remote-Group
	--requestheader-extra-headers-prefix=X-Remote-Extra-
	--proxy-client-cert-file="${PKI_DIR}/front-proxy-client.crt"
	--proxy-client-key-file="${PKI_DIR}/front-proxy-client.key"
	--authorization-mode=Node,RBAC
	--enable-admission-plugins=NodeRestriction
	--allow-privileged=true
	--profiling=false
)
ensure_running kube-apiserver "$(printf '%s\n' "${apiserver_args[@]}" | spec_hash - "${PKI_DIR}/apiserver.crt")" \
	"${KUBE}" kube-apiserver "${apiserver_args[@]}" || true

kcm_args=(
	--kubeconfig="${STATE_DIR}/controller-manager.kubeconfig"
	--authentication-kubeconfig="${STATE_DIR}/controller-manager.kubeconfig"
	--authorization-kubeconfig="${STATE_DIR}/controller-manager.kubeconfig"
	--bind-address=127.0.0.1
	--leader-elect=false
	--root-ca-file="${PKI_DIR}/ca.crt"
	--service-account-private-key-file="${PKI_DIR}/sa.key"
	--use-service-account-credentials=true
	--service-cluster-ip-range="${SERVICE_CIDR}"
	--cluster-name=sandhold
	--profiling=false
)
scheduler_args=(
	--kubeconfig="${STATE_DIR}/scheduler.kubeconfig"
	--authentication-kubeconfig="${STATE_DIR}/scheduler.kubeconfig"
	--authorization-kubeconfig="${STATE_DIR}/scheduler.kubeconfig"
	--bind-address=127.0.0.1
	--leader-elect=false
	--profiling=false
)
proxy_args=(--config="${ETC_DIR}/kube-proxy.yaml")
kubelet_args=(
	--config="${ETC_DIR}/kubelet.yaml"
	--kubeconfig="${STATE_DIR}/kubelet.kubeconfig"
	--root-dir="${KUBELET_DIR}"
	--hostname-override="${NODE_NAME}"
	--node-ip="${NODE_IP}"
)

# The rest only talk to the apiserver; start them together once it is ready.
wait_for kube-apiserver 120 "the apiserver to be ready (https://127.0.0.1:${APISERVER_PORT}/readyz)" \
	curl -sfk "https://127.0.0.1:${APISERVER_PORT}/readyz"
ensure_running kube-controller-manager "$(printf '%s\n' "${kcm_args[@]}" | spec_hash -)" \
	"${KUBE}" kube-controller-manager "${kcm_args[@]}" || true
ensure_running kube-scheduler "$(printf '%s\n' "${scheduler_args[@]}" | spec_hash -)" \
	"${KUBE}" kube-scheduler "${scheduler_args[@]}" || true
ensure_running kube-proxy "$(printf '%s\n' "${proxy_args[@]}" | spec_hash - "${ETC_DIR}/kube-proxy.yaml")" \
	"${KUBE}" kube-proxy "${proxy_args[@]}" || true
ensure_running kubelet "$(printf '%s\n' "${kubelet_args[@]}" | spec_hash - "${ETC_DIR}/kubelet.yaml" "${PKI_DIR}/kubelet-serving.crt")" \
	"${KUBE}" kubelet "${kubelet_args[@]}" || true

node_ready() {
	[[ "$("${KUBECTL[@]}" get node "${NODE_NAME}" \
		-o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}
timeout="${READY_TIMEOUT:-180}"
deadline=$((SECONDS + timeout))
until node_ready; do
	for c in "${COMPONENTS[@]}"; do
		if [[ -z "$(pid_of "${c}")" ]]; then
			tail -n 25 "${LOG_DIR}/${c}.log" >&2 || true
			die "${c} exited before node ${NODE_NAME} became Ready; full log: ${LOG_DIR}/${c}.log"
		fi
	done
	if ((SECONDS >= deadline)); then
		"${KUBECTL[@]}" describe node "${NODE_NAME}" >&2 || true
		tail -n 25 "${LOG_DIR}/kubelet.log" >&2 || true
		die "node ${NODE_NAME} not Ready after ${timeout}s; logs: ${LOG_DIR}/{kubelet,containerd,kube-apiserver}.log"
	fi
	sleep 0.5
done
log "node ${NODE_NAME} is Ready"

"${KUBECTL[@]}" apply -f deploy/runtimeclasses.yaml >/dev/null
hack/cluster/load-images.sh

log "cluster is up (runsc: ${RUNSC_PATH}, network=${RUNSC_NETWORK}); logs in ${LOG_DIR}"
echo "export KUBECONFIG=${ADMIN_KUBECONFIG} PATH=${STATE_DIR}/bin:\$PATH"
