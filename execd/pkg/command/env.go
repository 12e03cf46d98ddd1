package command

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
)

// TokenEnv is the access token variable. It configures execd and must never
// reach a user process.
const TokenEnv = "EXECD_ACCESS_TOKEN"

// EnvFileVar names a KEY=VALUE file that is loaded into every command and
// session (the clients' `commands.set_env` appends to it).
const EnvFileVar = "EXECD_ENVS"

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// defaultEnvFile is EXECD_ENVS when the sandbox sets none, so the clients'
// set_env works in any image (/tmp is the one directory every image has).
const defaultEnvFile = "/tmp/.execd/envs"

// BaseEnv is execd's own environment minus the token, plus a PATH when the
// image defines none, plus the entries of the EXECD_ENVS file.
func BaseEnv() []string {
	env := make(map[string]string)
	var order []string
	set := func(k, v string) {
		if _, ok := env[k]; !ok {
			order = append(order, k)
		}
		env[k] = v
	}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if k == TokenEnv {
			continue
		}
		set(k, v)
	}
	if _, ok := env["PATH"]; !ok {
		set("PATH", defaultPath)
	}
	if env[EnvFileVar] == "" {
		set(EnvFileVar, defaultEnvFile)
	}
	if file := env[EnvFileVar]; file != "" {
		for _, kv := range readEnvFile(file) {
			set(kv[0], kv[1])
		}
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+env[k])
	}
	return out
}

// MergeEnv overlays extra onto base (extra wins) and drops the token even
// if a caller asks for it.
func MergeEnv(base []string, extra map[string]string) []string {
	out := make([]string, 0, len(base)+len(extra))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, over := extra[k]; over || k == TokenEnv {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range extra {
		if k == TokenEnv || k == "" || strings.Contains(k, "=") {
			continue
		}
		out = append(out, k+"="+v)
	}
	return out
}

// LookupEnv finds key in a KEY=VALUE list.
func LookupEnv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// readEnvFile parses KEY=VALUE lines: 'single quoted' values are literal,
// "double quoted" values know \n \r \t \" \\ escapes; # starts a comment.
func readEnvFile(path string) [][2]string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out [][2]string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || k == TokenEnv {
			continue
		}
		out = append(out, [2]string{strings.TrimSpace(k), unquoteEnv(v)})
	}
	return out
}

func unquoteEnv(v string) string {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1]
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		r := strings.NewReplacer(`\\`, `\`, `\"`, `"`, `\n`, "\n", `\r`, "\r", `\t`, "\t")
		return r.Replace(v[1 : len(v)-1])
	}
	return v
}

// Shell returns the shell used for command text: bash when the image has
// it (clients write bash-isms), else sh.
func Shell() string {
	for _, p := range []string{"/bin/bash", "/usr/bin/bash"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	if p, err := exec.LookPath("bash"); err == nil {
		return p
	}
	if _, err := os.Stat("/bin/sh"); err == nil {
		return "/bin/sh"
	}
	return "sh"
}
