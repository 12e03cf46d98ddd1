// Package apierr is the error shape every execd route answers with:
// an HTTP status plus the top-level JSON {code, message} the clients parse.
package apierr

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"syscall"
)

// Error is a client-facing error.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// New builds an Error.
func New(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// BadRequest is a 400 for invalid input.
func BadRequest(format string, args ...any) *Error {
	return New(http.StatusBadRequest, "INVALID_REQUEST", format, args...)
}

// NotFound is a 404 for an unknown id or path.
func NotFound(code, format string, args ...any) *Error {
	return New(http.StatusNotFound, code, format, args...)
}

// From maps any error to an Error: an *Error passes through, filesystem
// errors get their natural status, anything else is a 500.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return New(http.StatusNotFound, "FILE_NOT_FOUND", "%v", err)
	case errors.Is(err, fs.ErrPermission):
		return New(http.StatusForbidden, "PERMISSION_DENIED", "%v", err)
	case errors.Is(err, fs.ErrExist):
		return New(http.StatusConflict, "ALREADY_EXISTS", "%v", err)
	case errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.EISDIR),
		errors.Is(err, syscall.ENOTEMPTY), errors.Is(err, syscall.EINVAL):
		return New(http.StatusBadRequest, "INVALID_PATH", "%v", err)
	}
	return New(http.StatusInternalServerError, "RUNTIME_ERROR", "%v", err)
}
