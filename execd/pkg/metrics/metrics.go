// Package metrics reports the sandbox's CPU and memory use. Inside a
// container the cgroup (v2 or v1) is the truth for limits and usage; the
// host-wide /proc figures are only the fallback when no cgroup is readable
// (some runtimes hide it).
package metrics

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Snapshot is the wire Metrics object.
type Snapshot struct {
	CPUCount    float64 `json:"cpu_count"`
	CPUUsedPct  float64 `json:"cpu_used_pct"`
	MemTotalMiB float64 `json:"mem_total_mib"`
	MemUsedMiB  float64 `json:"mem_used_mib"`
	Timestamp   int64   `json:"timestamp"`
}

// Root is the cgroup mount point; tests point it elsewhere.
var (
	Root     = "/sys/fs/cgroup"
	ProcRoot = "/proc"
)

// minWindow is the shortest CPU sampling window: shorter deltas are noise.
const minWindow = 100 * time.Millisecond

// Collector remembers the previous CPU sample so each call reports usage
// since the last one.
type Collector struct {
	mu       sync.Mutex
	lastCPU  float64 // cumulative CPU seconds
	lastWall time.Time
}

// Collect returns a snapshot, sampling CPU over at least minWindow.
func (c *Collector) Collect() Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.lastWall.IsZero() || now.Sub(c.lastWall) > time.Minute {
		c.lastCPU, _ = cpuSeconds()
		c.lastWall = now
	}
	if wait := minWindow - now.Sub(c.lastWall); wait > 0 {
		time.Sleep(wait)
	}
	now = time.Now()
	used, ok := cpuSeconds()
	count := cpuCount()
	pct := 0.0
	if wall := now.Sub(c.lastWall).Seconds(); ok && wall > 0 && count > 0 {
		pct = (used - c.lastCPU) / wall / count * 100
		pct = max(0, min(100, pct))
	}
	c.lastCPU, c.lastWall = used, now
	total, usedMem := memory()
	return Snapshot{
		CPUCount: count, CPUUsedPct: round(pct), MemTotalMiB: round(total / (1 << 20)),
		MemUsedMiB: round(usedMem / (1 << 20)), Timestamp: now.UnixMilli(),
	}
}

func round(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

func readString(p string) (string, bool) {
	b, err := os.ReadFile(p)
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

func readFloat(p string) (float64, bool) {
	s, ok := readString(p)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

func isV2() bool {
	_, err := os.Stat(Root + "/cgroup.controllers")
	return err == nil
}

// cpuCount is the cgroup CPU quota in cores when set, else the CPUs this
// process may run on.
func cpuCount() float64 {
	n := float64(runtime.NumCPU())
	if isV2() {
		if s, ok := readString(Root + "/cpu.max"); ok {
			f := strings.Fields(s)
			if len(f) == 2 && f[0] != "max" {
				q, e1 := strconv.ParseFloat(f[0], 64)
				p, e2 := strconv.ParseFloat(f[1], 64)
				if e1 == nil && e2 == nil && p > 0 {
					return min(n, q/p)
				}
			}
		}
		return n
	}
	for _, dir := range []string{"/cpu", "/cpu,cpuacct"} {
		q, ok1 := readFloat(Root + dir + "/cpu.cfs_quota_us")
		p, ok2 := readFloat(Root + dir + "/cpu.cfs_period_us")
		if ok1 && ok2 && q > 0 && p > 0 {
			return min(n, q/p)
		}
	}
	return n
}

// cpuSeconds is the cumulative CPU time of the cgroup, else of the host.
func cpuSeconds() (float64, bool) {
	if isV2() {
		if s, ok := readString(Root + "/cpu.stat"); ok {
			for _, line := range strings.Split(s, "\n") {
				if f := strings.Fields(line); len(f) == 2 && f[0] == "usage_usec" {
					v, err := strconv.ParseFloat(f[1], 64)
					return v / 1e6, err == nil
				}
			}
		}
	}
	for _, dir := range []string{"/cpuacct", "/cpu,cpuacct", "/cpuacct,cpu"} {
		if v, ok := readFloat(Root + dir + "/cpuacct.usage"); ok {
			return v / 1e9, true
		}
	}
	return hostCPUSeconds()
}

// hostCPUSeconds sums the busy jiffies of /proc/stat (USER_HZ = 100).
func hostCPUSeconds() (float64, bool) {
	s, ok := readString(ProcRoot + "/stat")
	if !ok {
		return 0, false
	}
	line, _, _ := strings.Cut(s, "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, false
	}
	busy := 0.0
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseFloat(v, 64)
		busy += n
	}
	return busy / 100, true
}

// unlimited is the threshold above which a cgroup v1 limit means "none".
const unlimited = 1 << 60

// memory returns (total, used) bytes: the cgroup limit and usage without
// reclaimable page cache, bounded by the host's memory.
func memory() (float64, float64) {
	hostTotal, hostUsed := hostMemory()
	var limit, usage, inactive float64
	var ok bool
	if isV2() {
		if s, found := readString(Root + "/memory.max"); found && s != "max" {
			limit, _ = strconv.ParseFloat(s, 64)
		}
		usage, ok = readFloat(Root + "/memory.current")
		inactive = statField(Root+"/memory.stat", "inactive_file")
	} else {
		limit, _ = readFloat(Root + "/memory/memory.limit_in_bytes")
		usage, ok = readFloat(Root + "/memory/memory.usage_in_bytes")
		inactive = statField(Root+"/memory/memory.stat", "total_inactive_file")
	}
	if !ok {
		return hostTotal, hostUsed
	}
	total := hostTotal
	if limit > 0 && limit < unlimited && (hostTotal == 0 || limit < hostTotal) {
		total = limit
	}
	used := usage
	if inactive < used {
		used -= inactive
	}
	return total, used
}

func statField(p, key string) float64 {
	s, ok := readString(p)
	if !ok {
		return 0
	}
	for _, line := range strings.Split(s, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == key {
			v, _ := strconv.ParseFloat(f[1], 64)
			return v
		}
	}
	return 0
}

func hostMemory() (float64, float64) {
	f, err := os.Open(ProcRoot + "/meminfo")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	vals := map[string]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 {
			v, _ := strconv.ParseFloat(fields[1], 64)
			vals[strings.TrimSuffix(fields[0], ":")] = v * 1024
		}
	}
	total := vals["MemTotal"]
	avail, ok := vals["MemAvailable"]
	if !ok {
		avail = vals["MemFree"] + vals["Buffers"] + vals["Cached"]
	}
	return total, total - avail
}
