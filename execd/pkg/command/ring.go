package command

import (
	"strings"
	"sync"
)

// LineLog keeps the most recent output lines of a command within a byte
// budget. Lines carry absolute indexes so a client cursor stays valid after
// old lines were dropped.
type LineLog struct {
	mu       sync.Mutex
	lines    []string
	base     int // absolute index of lines[0]
	bytes    int
	maxBytes int
}

// NewLineLog returns a log bounded to maxBytes of line text.
func NewLineLog(maxBytes int) *LineLog { return &LineLog{maxBytes: maxBytes} }

// Append adds one line (without its newline).
func (l *LineLog) Append(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	l.bytes += len(line) + 1
	drop := 0
	for l.bytes > l.maxBytes && drop < len(l.lines)-1 {
		l.bytes -= len(l.lines[drop]) + 1
		drop++
	}
	if drop > 0 {
		l.lines = append(l.lines[:0:0], l.lines[drop:]...)
		l.base += drop
	}
}

// Since returns the text of lines with index >= cursor (each ending in
// "\n") and the next cursor (the total number of lines seen).
func (l *LineLog) Since(cursor int) (string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	next := l.base + len(l.lines)
	start := cursor - l.base
	if start < 0 {
		start = 0
	}
	if start >= len(l.lines) {
		return "", next
	}
	var b strings.Builder
	for _, line := range l.lines[start:] {
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String(), next
}
