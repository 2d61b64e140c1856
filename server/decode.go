package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// decodeJSON reads the request body, one JSON value, into v. Every failure
// is a 4xx naming what is wrong: "body" for an empty, oversize or malformed
// body, the JSON field (a.b.c) for a value of the wrong type.
func decodeJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return bodyError(err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return errorf(KindBadData, "body", "the body is empty: want a JSON object")
	}
	return unmarshalBody(b, v)
}

// decodeOptionalJSON is decodeJSON where an empty body leaves v as it is
// (GET requests whose options may come as a body).
func decodeOptionalJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return bodyError(err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	return unmarshalBody(b, v)
}

func unmarshalBody(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorf(KindBadData, "body", "unexpected data after the JSON value")
	}
	return nil
}

func bodyError(err error) *Error {
	var mb *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mb):
		return errorf(KindTooLarge, "body", "the body is larger than the limit of %d bytes", mb.Limit)
	case errors.As(err, &se):
		return errorf(KindBadData, "body", "malformed JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "body"
		}
		return errorf(KindBadData, field, "wrong type: want %s, got a JSON %s", jsonKind(te.Type.Kind().String()), te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errorf(KindBadData, "body", "malformed JSON: the body ends early")
	}
	var fe *fieldError
	if errors.As(err, &fe) {
		return errorf(KindBadData, fe.field, "%s", fe.msg)
	}
	return errorf(KindBadData, "body", "cannot read the body: %v", err)
}

// fieldError is what custom UnmarshalJSON methods return to name a field.
type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

// jsonKind names a Go kind the way a JSON user thinks of it.
func jsonKind(k string) string {
	switch {
	case k == "string":
		return "a string"
	case k == "bool":
		return "a boolean"
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "a number"
	case k == "slice", k == "array":
		return "an array"
	case k == "map", k == "struct":
		return "an object"
	}
	return k
}

// required fails with the field's name when v is empty.
func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return errorf(KindBadData, field, "%s is required", field)
	}
	return nil
}

// message is the reference's plain acknowledgement.
type message struct {
	Message string `json:"message"`
}

// queryInt reads an integer query parameter; def when absent.
func queryInt(r *http.Request, name string, def int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errorf(KindBadData, name, "want an integer, got %q", s)
	}
	return n, nil
}

// parseTime reads the reference's timestamps: RFC 3339 with or without
// fractional seconds (yyyy-mm-ddThh:mm:ss.SSSZ), or a date (midnight UTC).
func parseTime(field, s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errorf(KindBadData, field, "want a timestamp yyyy-mm-ddThh:mm:ss.SSSZ or a date yyyy-mm-dd, got %q", s)
}

// formatTime writes a timestamp as the reference does
// (yyyy-mm-ddThh:mm:ss.SSSZ).
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// errNotFoundf is a not-found error about a field.
func errNotFoundf(field, format string, args ...any) *Error {
	return errorf(KindNotFound, field, format, args...)
}
