package stream

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestSendFramesOneObjectAndBlankLine(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.Send(Event{Type: TypeStdout, Text: "a\x00b"}); err != nil {
		t.Fatal(err)
	}
	code := int64(7)
	_ = w.Send(Event{Type: TypeComplete, ExecutionTime: &code})
	_ = w.Send(Event{Type: TypeError, Error: &ErrorInfo{Ename: "E", Evalue: "3"}})
	frames := strings.Split(strings.TrimSuffix(buf.String(), "\n\n"), "\n\n")
	if len(frames) != 3 {
		t.Fatalf("want 3 frames, got %d: %q", len(frames), buf.String())
	}
	var got []map[string]any
	for _, f := range frames {
		var m map[string]any
		if err := json.Unmarshal([]byte(f), &m); err != nil {
			t.Fatalf("frame %q is not one JSON object: %v", f, err)
		}
		if _, ok := m["timestamp"].(float64); !ok {
			t.Fatalf("frame %q lacks an integer timestamp", f)
		}
		got = append(got, m)
	}
	if got[0]["text"] != "a\x00b" {
		t.Errorf("NUL not kept: %q", got[0]["text"])
	}
	if got[1]["execution_time"] != float64(7) {
		t.Errorf("execution_time = %v", got[1]["execution_time"])
	}
	tb, ok := got[2]["error"].(map[string]any)["traceback"].([]any)
	if !ok || len(tb) != 0 {
		t.Errorf("traceback must be an empty list, got %v", got[2]["error"])
	}
}

func TestClosedWriterRefusesSends(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Close()
	if err := w.Send(Event{Type: TypePing}); err == nil || buf.Len() != 0 {
		t.Fatalf("send after close: err=%v wrote=%q", err, buf.String())
	}
}

func TestSplitLines(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
	}{
		{"plain", "a\nb\n", []string{"a", "b"}},
		{"partial tail", "a\nb", []string{"a", "b"}},
		{"empty lines kept", "\n\nx\n", []string{"", "", "x"}},
		{"crlf keeps cr", "a\r\n", []string{"a\r"}},
		{"nul kept", "a\x00b\n", []string{"a\x00b"}},
		{"nothing", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			SplitLines(strings.NewReader(tc.in), func(b []byte) { got = append(got, string(b)) })
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Fatalf("got %q want %q", got, tc.want)
			}
		})
	}
}

func TestSplitLinesCutsHugeLines(t *testing.T) {
	in := strings.Repeat("x", MaxLine*2+5)
	var sizes []int
	SplitLines(strings.NewReader(in), func(b []byte) { sizes = append(sizes, len(b)) })
	if len(sizes) != 3 || sizes[0] != MaxLine || sizes[2] != 5 {
		t.Fatalf("sizes %v", sizes)
	}
}
