package server

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const token = "t0ken"

func newTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	s := New(token, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.PingInterval = 50 * time.Millisecond
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		s.Commands.KillAll()
		s.Sessions.CloseAll()
	})
	return ts
}

func do(t *testing.T, ts *httptest.Server, method, path string, body io.Reader, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, ts.URL+path, body)
	req.Header.Set(TokenHeader, token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func errorCode(t *testing.T, resp *http.Response) string {
	t.Helper()
	var e struct{ Code, Message string }
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Code == "" || e.Message == "" {
		t.Fatalf("status %d: body is not {code,message}: %v", resp.StatusCode, err)
	}
	return e.Code
}

func events(t *testing.T, resp *http.Response) []map[string]any {
	t.Helper()
	data, _ := io.ReadAll(resp.Body)
	var out []map[string]any
	for _, f := range strings.Split(strings.TrimSpace(string(data)), "\n\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(f), &m); err != nil {
			t.Fatalf("bad frame %q", f)
		}
		out = append(out, m)
	}
	return out
}

func TestTokenIsRequired(t *testing.T) {
	ts := newTestServer(t)
	resp, _ := http.Get(ts.URL + "/ping")
	if resp.StatusCode != http.StatusUnauthorized || errorCode(t, resp) != "MISSING_ACCESS_TOKEN" {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if r := do(t, ts, "GET", "/ping", nil, nil); r.StatusCode != 200 {
		t.Fatalf("with token: %d", r.StatusCode)
	}
}

func TestCommandStream(t *testing.T) {
	ts := newTestServer(t)
	body := `{"command":"echo a; sleep 0.2; echo b >&2; exit 2","cwd":"/tmp"}`
	resp := do(t, ts, "POST", "/command", strings.NewReader(body), nil)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	evs := events(t, resp)
	var types []string
	for _, e := range evs {
		if e["type"] != "ping" {
			types = append(types, e["type"].(string))
		}
	}
	if strings.Join(types, ",") != "init,stdout,stderr,error" {
		t.Fatalf("event types %v", types)
	}
	if evs[len(evs)-1]["error"].(map[string]any)["evalue"] != "2" {
		t.Fatalf("last %v", evs[len(evs)-1])
	}
	id := evs[0]["text"].(string)
	st := do(t, ts, "GET", "/command/status/"+id, nil, nil)
	var status map[string]any
	_ = json.NewDecoder(st.Body).Decode(&status)
	if status["running"] != false || status["exit_code"] != float64(2) || status["finished_at"] == nil {
		t.Fatalf("status %v", status)
	}
}

func TestBackgroundLogsWithCursor(t *testing.T) {
	ts := newTestServer(t)
	resp := do(t, ts, "POST", "/command", strings.NewReader(`{"command":"echo 1; echo 2","background":true}`), nil)
	evs := events(t, resp)
	if len(evs) != 2 || evs[1]["type"] != "execution_complete" {
		t.Fatalf("background events %v", evs)
	}
	id := evs[0]["text"].(string)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := do(t, ts, "GET", "/command/"+id+"/logs?cursor=1", nil, nil)
		text, _ := io.ReadAll(r.Body)
		if string(text) == "2\n" && r.Header.Get("EXECD-COMMANDS-TAIL-CURSOR") == "2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logs %q cursor %q", text, r.Header.Get("EXECD-COMMANDS-TAIL-CURSOR"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBadInputIs4xxJSON(t *testing.T) {
	ts := newTestServer(t)
	cases := []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/command", `{`, 400},
		{"POST", "/command", `{}`, 400},
		{"POST", "/command", `{"command":"x","uid":-1}`, 400},
		{"DELETE", "/command", ``, 400},
		{"DELETE", "/command?id=nope", ``, 404},
		{"GET", "/command/status/nope", ``, 404},
		{"GET", "/command/nope/logs", ``, 404},
		{"POST", "/session/nope/run", `{"command":"x"}`, 404},
		{"GET", "/files/info", ``, 400},
		{"GET", "/files/info?path=relative", ``, 400},
		{"GET", "/files/info?path=/definitely/missing", ``, 404},
		{"GET", "/files/download?path=/tmp", ``, 400},
		{"GET", "/directories/list?path=/etc/hostname", ``, 400},
		{"POST", "/files/mv", `[{"src":"/definitely/missing","dest":"/tmp/x"}]`, 404},
		{"POST", "/files/replace", `{"/etc/hostname":{"old":"","new":"x"}}`, 400},
		{"POST", "/files/upload", `x`, 400},
		{"GET", "/proxy/99999/x", ``, 400},
		{"GET", "/nope", ``, 404},
	}
	for _, c := range cases {
		resp := do(t, ts, c.method, c.path, strings.NewReader(c.body), nil)
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: status %d want %d", c.method, c.path, resp.StatusCode, c.status)
			continue
		}
		errorCode(t, resp)
	}
}

func TestUploadDownloadAndRanges(t *testing.T) {
	ts := newTestServer(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "sub/f.txt")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile("metadata", "metadata")
	_, _ = w.Write([]byte(`{"path":"` + target + `","mode":644}`))
	w, _ = mw.CreateFormFile("file", "f.txt")
	_, _ = w.Write([]byte("0123456789\nline2\n"))
	_ = mw.Close()
	resp := do(t, ts, "POST", "/files/upload", &buf, map[string]string{"Content-Type": mw.FormDataContentType()})
	if resp.StatusCode != 200 {
		t.Fatalf("upload status %d", resp.StatusCode)
	}
	q := "/files/download?path=" + url.QueryEscape(target)
	r := do(t, ts, "GET", q, nil, map[string]string{"Range": "bytes=2-4"})
	if data, _ := io.ReadAll(r.Body); r.StatusCode != 206 || string(data) != "234" {
		t.Fatalf("range: %d %q", r.StatusCode, data)
	}
	r = do(t, ts, "GET", q, nil, map[string]string{"Range": "bytes=500-600"})
	if r.StatusCode != 416 || errorCode(t, r) != "RANGE_NOT_SATISFIABLE" {
		t.Fatalf("unsatisfiable range: %d", r.StatusCode)
	}
	r = do(t, ts, "GET", q+"&offset=2&limit=1", nil, nil)
	if data, _ := io.ReadAll(r.Body); string(data) != "line2\n" {
		t.Fatalf("line read %q", data)
	}
	r = do(t, ts, "GET", "/files/info?path="+url.QueryEscape(target), nil, nil)
	var info map[string]map[string]any
	_ = json.NewDecoder(r.Body).Decode(&info)
	if fi := info[target]; fi["mode"] != float64(644) || fi["type"] != "file" || fi["size"] != float64(17) {
		t.Fatalf("info %v", info)
	}
}

func TestDeleteFilesOnADirectoryLeavesNothing(t *testing.T) {
	ts := newTestServer(t)
	dir := filepath.Join(t.TempDir(), "d")
	_ = os.MkdirAll(filepath.Join(dir, "x"), 0o755)
	r := do(t, ts, "DELETE", "/files?path="+url.QueryEscape(dir), nil, nil)
	if _, err := os.Stat(dir); r.StatusCode != 200 || !os.IsNotExist(err) {
		t.Fatalf("status %d, stat err %v", r.StatusCode, err)
	}
}

func TestSessionRoutes(t *testing.T) {
	ts := newTestServer(t)
	r := do(t, ts, "POST", "/session", strings.NewReader(`{"cwd":"/tmp"}`), nil)
	var created map[string]string
	_ = json.NewDecoder(r.Body).Decode(&created)
	id := created["session_id"]
	if id == "" {
		t.Fatalf("no session id (status %d)", r.StatusCode)
	}
	events(t, do(t, ts, "POST", "/session/"+id+"/run", strings.NewReader(`{"command":"Z=9"}`), nil))
	evs := events(t, do(t, ts, "POST", "/session/"+id+"/run", strings.NewReader(`{"command":"echo $Z; pwd"}`), nil))
	var out []string
	for _, e := range evs {
		if e["type"] == "stdout" {
			out = append(out, e["text"].(string))
		}
	}
	if strings.Join(out, ",") != "9,/tmp" || evs[len(evs)-1]["type"] != "execution_complete" {
		t.Fatalf("events %v", evs)
	}
	if r := do(t, ts, "DELETE", "/session/"+id, nil, nil); r.StatusCode != 200 {
		t.Fatalf("delete %d", r.StatusCode)
	}
}

func TestProxyForwardsWithoutToken(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.URL.RequestURI()+" token="+r.Header.Get(TokenHeader))
	}))
	defer backend.Close()
	port := backend.URL[strings.LastIndex(backend.URL, ":")+1:]
	ts := newTestServer(t)
	r := do(t, ts, "GET", "/proxy/"+port+"/a/b%2Fc?x=1", nil, nil)
	if data, _ := io.ReadAll(r.Body); string(data) != "/a/b%2Fc?x=1 token=" {
		t.Fatalf("proxied %d %q", r.StatusCode, data)
	}
}

func TestMetrics(t *testing.T) {
	ts := newTestServer(t)
	var m map[string]float64
	_ = json.NewDecoder(do(t, ts, "GET", "/metrics", nil, nil).Body).Decode(&m)
	for _, k := range []string{"cpu_count", "mem_total_mib", "mem_used_mib", "timestamp"} {
		if m[k] <= 0 {
			t.Errorf("%s = %v", k, m[k])
		}
	}
}
