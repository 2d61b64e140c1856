package server

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

func (s *Server) serviceRoutes() []route {
	return []route{
		{Method: "GET", Path: "/health-check", Access: public(), Tag: "API service",
			Summary: "The service is running: uptime", Response: healthCheck{}, Handle: s.healthCheck},
		{Method: "GET", Path: "/version", Access: public(), Tag: "API service",
			Summary: "The version of the service", Response: versionBody{}, Handle: s.version},
		{Method: "GET", Path: "/healthz", Access: public(), Tag: "API service",
			Summary: "Liveness: the process answers", Response: probe{}, Handle: s.healthz},
		{Method: "GET", Path: "/metrics", Access: public(), Tag: "API service",
			Summary: "Prometheus metrics: requests and latency by route, Go runtime, process", Handle: s.metricsHandler},
		{Method: "GET", Path: "/readyz", Access: public(), Tag: "API service",
			Summary: "Readiness: the store answers and its schema is current (503 otherwise)", Response: probe{}, Handle: s.readyz},
	}
}

type healthCheck struct {
	Status          string  `json:"status"`
	Uptime          float64 `json:"uptime"`
	UptimeFormatted string  `json:"uptimeFormatted"`
}

func (s *Server) healthCheck(*http.Request) (any, error) {
	up := s.cfg.Now().Sub(s.started)
	sec := int64(up / time.Second)
	return healthCheck{
		Status:          "zoran-api: OK",
		Uptime:          up.Seconds(),
		UptimeFormatted: fmt.Sprintf("%d:%02d:%02d", sec/3600, sec/60%60, sec%60),
	}, nil
}

type versionBody struct {
	Version string `json:"version"`
}

func (s *Server) version(*http.Request) (any, error) {
	return versionBody{Version: s.cfg.Version}, nil
}

type probe struct {
	Status string `json:"status"`
}

func (s *Server) healthz(*http.Request) (any, error) { return probe{Status: "ok"}, nil }

func (s *Server) readyz(r *http.Request) (any, error) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Ready(ctx); err != nil {
		return nil, errorf(KindUnavailable, "", "not ready: %v", err)
	}
	return probe{Status: "ready"}, nil
}
