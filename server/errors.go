package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/autoid-oss/autoid/pipeline"
	"github.com/autoid-oss/autoid/store"
)

// Kind classifies an API error; statusOf maps it to an HTTP status.
type Kind string

// The error kinds.
const (
	KindBadData          Kind = "bad_data"
	KindUnauthorized     Kind = "unauthorized"
	KindForbidden        Kind = "forbidden"
	KindNotFound         Kind = "not_found"
	KindMethodNotAllowed Kind = "method_not_allowed"
	KindNotImplemented   Kind = "not_implemented"
	KindConflict         Kind = "conflict"
	KindTooLarge         Kind = "too_large"
	KindTooMany          Kind = "too_many"
	KindInternal         Kind = "internal"
	KindUnavailable      Kind = "unavailable"
)

// Error is the typed error a handler returns. Field names the request
// field (JSON name, header or path parameter) at fault, when one is.
type Error struct {
	Kind    Kind   `json:"kind"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	err     error  // the cause, logged for internal errors, never sent
	// retryAfter, when set, is sent as the Retry-After header.
	retryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Kind, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Message)
}

func (e *Error) Unwrap() error { return e.err }

// errorf makes an Error about a field ("" for none).
func errorf(kind Kind, field, format string, args ...any) *Error {
	return &Error{Kind: kind, Field: field, Message: fmt.Sprintf(format, args...)}
}

// internal wraps an unexpected failure; its text is logged, not sent.
func internal(err error) *Error {
	return &Error{Kind: KindInternal, Message: "internal error", err: err}
}

// statusOf is the one mapping from error kinds to HTTP status codes.
func statusOf(k Kind) int {
	switch k {
	case KindBadData:
		return http.StatusBadRequest
	case KindUnauthorized:
		return http.StatusUnauthorized
	case KindForbidden:
		return http.StatusForbidden
	case KindNotFound:
		return http.StatusNotFound
	case KindMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case KindNotImplemented:
		return http.StatusNotImplemented
	case KindConflict:
		return http.StatusConflict
	case KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case KindTooMany:
		return http.StatusTooManyRequests
	case KindUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// envelope is the one JSON shape of every error response.
type envelope struct {
	Error *Error `json:"error"`
}

// asError turns any error into an *Error: typed errors of the server and
// the store's sentinel and field errors keep their meaning; anything else
// is internal.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var fe *store.FieldError
	var nf *store.NotFoundError
	var pe *pipeline.ParamError
	switch {
	case errors.As(err, &pe):
		return errorf(KindBadData, pe.Param, "%s", pe.Reason)
	case errors.Is(err, pipeline.ErrUnknownJob):
		return errorf(KindBadData, "job_type", "%v", err)
	case errors.Is(err, store.ErrActiveRun):
		return errorf(KindConflict, "", "%v", err)
	case errors.As(err, &fe):
		return errorf(KindBadData, fe.Field, "%s", fe.Msg)
	case errors.As(err, &nf):
		return errorf(KindNotFound, "", "%s", nf.Error())
	case errors.Is(err, store.ErrBadInput), errors.Is(err, store.ErrBadCursor):
		return errorf(KindBadData, "", "%v", err)
	case errors.Is(err, store.ErrNotFound):
		return errorf(KindNotFound, "", "%v", err)
	case errors.Is(err, store.ErrConflict):
		return errorf(KindConflict, "", "%v", err)
	case errors.Is(err, store.ErrNotPublished):
		return errorf(KindUnavailable, "", "%v", err)
	}
	return internal(err)
}

// writeError writes the error envelope.
func writeError(w http.ResponseWriter, e *Error) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.retryAfter.Seconds()))))
	}
	if e.Kind == KindUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="autoid"`)
	}
	writeJSON(w, statusOf(e.Kind), envelope{Error: e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"kind":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
