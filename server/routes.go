package server

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// handler answers one request. It returns the value to send as JSON with
// status 200, or an error (an *Error, made with errorf, for anything the
// caller can fix; any other error is a 500 whose text is only logged). A
// value of type response chooses its own status; a value of type stream
// writes the response itself (server-sent events, files).
type handler func(r *http.Request) (any, error)

// response is a result with a status other than 200.
type response struct {
	Status int
	Body   any
}

// stream is a result that writes its own response.
type stream func(w http.ResponseWriter, r *http.Request) error

// route is one endpoint. The route table (Server.routes) is the single
// source of the router, of authorization (authorize, applied to every
// route by mount), of the authorization test matrix and of the OpenAPI
// document: an endpoint exists exactly when it has a row there.
//
// How to add endpoints: write the handlers as methods of *Server and a
// method returning their rows, e.g.
//
//	func (s *Server) fooRoutes() []route {
//		return []route{
//			{Method: "GET", Path: "/api/foo/{id}", Access: users(groupsUserToAdmin()...),
//				Tag: "Foo", Summary: "One foo", Handle: s.foo},
//		}
//	}
//
// and add s.fooRoutes() to the list in routes. Access is the role list the
// reference prints beside the endpoint (../shared/reference/endpoints.md):
// public() for none needed, users(groups...) for signed-in users in those
// groups (no groups: any signed-in user), .orKey() where API keys are
// accepted too, keyOnly() for API keys only. The endpoints with an empty
// role list are users(GroupAdmin) (plus orKey/keyOnly per the auth column).
//
// The query views (companyview, userDetails, applications, entitlements,
// assignments, rules, filters, roles, report) live in views_*.go, gathered
// by viewRoutes (views_common.go).
type route struct {
	Method string
	// Path is the chi pattern ("/api/admin/verifyApiToken/{token}").
	Path   string
	Access access
	// Tag groups the route in the OpenAPI document (the reference's area).
	Tag string
	// Summary is the one-line description in the OpenAPI document.
	Summary string
	// Request is a zero value of the JSON body the route reads (nil: no
	// body); the OpenAPI document describes its type.
	Request any
	// Response is a zero value of the JSON the route answers (nil: not
	// described).
	Response any
	Handle   handler
}

// routes is the route table.
func (s *Server) routes() []route {
	var rs []route
	rs = append(rs, s.serviceRoutes()...)
	rs = append(rs, s.authRoutes()...)
	rs = append(rs, s.adminRoutes()...)
	rs = append(rs, s.ssoRoutes()...)
	rs = append(rs, s.ingestRoutes()...)
	rs = append(rs, s.sinkRoutes()...)
	rs = append(rs, s.jobRoutes()...)
	rs = append(rs, s.configRoutes()...)
	rs = append(rs, s.openAPIRoutes()...)
	rs = append(rs, s.viewRoutes()...)
	return rs
}

// checkRoutes refuses a table with a route twice or without a handler.
func checkRoutes(rs []route) error {
	seen := map[string]bool{}
	for _, r := range rs {
		k := r.Method + " " + r.Path
		if seen[k] {
			return fmt.Errorf("server: route %s registered twice", k)
		}
		seen[k] = true
		if r.Handle == nil {
			return fmt.Errorf("server: route %s has no handler", k)
		}
		if !slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, r.Method) {
			return fmt.Errorf("server: route %s: method %q", k, r.Method)
		}
		if !strings.HasPrefix(r.Path, "/") {
			return fmt.Errorf("server: route %s: path must start with /", k)
		}
	}
	return nil
}
