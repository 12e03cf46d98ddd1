package stream

import (
	"bytes"
	"io"
)

// MaxLine bounds one emitted line (bytes): a writer that never prints a
// newline still produces events instead of growing memory without end.
const MaxLine = 64 << 10

// SplitLines reads r until EOF or error and calls emit once per line with
// the trailing "\n" removed (every other byte, NUL included, is kept). A
// final partial line is emitted at EOF; lines longer than MaxLine are cut.
func SplitLines(r io.Reader, emit func(line []byte)) {
	buf := make([]byte, 0, 4096)
	chunk := make([]byte, 32<<10)
	for {
		n, err := r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		for {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				break
			}
			emit(buf[:i])
			buf = buf[i+1:]
		}
		for len(buf) >= MaxLine {
			emit(buf[:MaxLine])
			buf = buf[MaxLine:]
		}
		// Compact so the backing array does not creep forward forever.
		if cap(buf)-len(buf) < 1024 {
			buf = append(make([]byte, 0, max(4096, 2*len(buf))), buf...)
		}
		if err != nil {
			if len(buf) > 0 {
				emit(buf)
			}
			return
		}
	}
}
