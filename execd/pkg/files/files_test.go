package files

import (
	"bytes"
	"mime/multipart"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sandhold.dev/execd/pkg/ids"
)

func multipartBody(t *testing.T, parts [][2]string) (*multipart.Reader, func()) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		w, err := mw.CreateFormFile(p[0], p[0])
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(p[1]))
	}
	_ = mw.Close()
	return multipart.NewReader(&buf, mw.Boundary()), func() {}
}

func TestUploadPairsMetadataAndFileByOrder(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "x/a.txt"), filepath.Join(dir, "b.bin")
	mr, _ := multipartBody(t, [][2]string{
		{"metadata", `{"path":"` + a + `","mode":600}`}, {"file", "AAA"},
		{"metadata", `{"path":"` + b + `"}`}, {"file", "\x00\x01"},
	})
	written, err := Upload(mr, ids.Load())
	if err != nil || len(written) != 2 {
		t.Fatalf("upload: %v %v", written, err)
	}
	if data, _ := os.ReadFile(a); string(data) != "AAA" {
		t.Fatalf("a = %q", data)
	}
	if st, _ := os.Stat(a); st.Mode().Perm() != 0o600 {
		t.Fatalf("a mode %v", st.Mode())
	}
	if data, _ := os.ReadFile(b); string(data) != "\x00\x01" {
		t.Fatalf("b = %q", data)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*upload*"))
	if len(leftovers) != 0 {
		t.Fatalf("temp files left: %v", leftovers)
	}
}

func TestUploadRejectsBadPairing(t *testing.T) {
	dir := t.TempDir()
	cases := map[string][][2]string{
		"file first":        {{"file", "x"}},
		"metadata only":     {{"metadata", `{"path":"` + dir + `/m"}`}},
		"two metadata":      {{"metadata", `{"path":"` + dir + `/m"}`}, {"metadata", `{"path":"` + dir + `/n"}`}},
		"relative path":     {{"metadata", `{"path":"rel/x"}`}, {"file", "x"}},
		"bad json":          {{"metadata", `{`}, {"file", "x"}},
		"onto a directory":  {{"metadata", `{"path":"` + dir + `"}`}, {"file", "x"}},
		"no parts at all":   {},
		"mode is not octal": {{"metadata", `{"path":"` + dir + `/o","mode":789}`}, {"file", "x"}},
	}
	for name, parts := range cases {
		t.Run(name, func(t *testing.T) {
			mr, _ := multipartBody(t, parts)
			if _, err := Upload(mr, ids.Load()); err == nil {
				t.Fatal("expected an error")
			}
		})
	}
}

func TestModeWire(t *testing.T) {
	for wire, bits := range map[int]os.FileMode{755: 0o755, 644: 0o644, 600: 0o600, 4755: 0o755 | os.ModeSetuid} {
		m, err := ModeFromWire(wire, 0)
		if err != nil || m != bits {
			t.Errorf("from %d = %v %v", wire, m, err)
		}
		if back := ModeToWire(m); back != wire {
			t.Errorf("to wire %v = %d want %d", m, back, wire)
		}
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, rel string
		want         bool
	}{
		{"**", "a/b/c", true},
		{"*.txt", "deep/x.txt", true},
		{"*.txt", "x.py", false},
		{"src/**/*.go", "src/a/b/c.go", true},
		{"src/**/*.go", "src/c.go", true},
		{"src/*.go", "src/a/c.go", false},
	}
	for _, c := range cases {
		if got := Match(c.pattern, c.rel); got != c.want {
			t.Errorf("Match(%q, %q) = %v", c.pattern, c.rel, got)
		}
	}
}

func TestListOrderAndDepth(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"b/x", "a", "b/y/z"} {
		_ = os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		_ = os.WriteFile(filepath.Join(dir, p), nil, 0o644)
	}
	_ = os.Symlink(dir, filepath.Join(dir, "c-link"))
	infos, err := List(dir, 2, ids.Load())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, i := range infos {
		got = append(got, strings.TrimPrefix(i.Path, dir+"/")+":"+i.Type)
	}
	want := "a:file,b:directory,b/x:file,b/y:directory,c-link:symlink"
	if strings.Join(got, ",") != want {
		t.Fatalf("got %v", got)
	}
}

func TestCopyLines(t *testing.T) {
	var out bytes.Buffer
	_ = CopyLines(&out, strings.NewReader("1\n2\n3\n4\n"), 2, 2)
	if out.String() != "2\n3\n" {
		t.Fatalf("got %q", out.String())
	}
}

func TestRemoveFileDeletesDirectoriesToo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	_ = os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	if err := RemoveFile(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatal("directory still there")
	}
}
