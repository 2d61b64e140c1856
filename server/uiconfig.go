package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/autoid-oss/autoid/stages"
)

// UIConfigFile is the file in the workspace with the settings the UI and
// the views read besides the engine's bands: volume thresholds,
// high-volume settings, display titles and filterable attributes. It is
// optional; /api/admin/reloadUIConfig rereads it (and engine.yaml).
const UIConfigFile = "ui.yaml"

// UIConfig is what /api/config answers. The score bands come from the
// engine configuration (engine.yaml: high, medium, auto_access); the rest
// from ui.yaml over the reference's defaults.
type UIConfig struct {
	Thresholds        Thresholds        `json:"thresholds" yaml:"-"`
	VolumeThresholds  VolumeThresholds  `json:"volumeThresholds" yaml:"volumeThresholds"`
	MostAssignedStats MostAssignedStats `json:"mostAssignedStats" yaml:"mostAssignedStats"`
	HighVolumeStats   HighVolumeStats   `json:"highVolumeStats" yaml:"highVolumeStats"`
	Authorizers       Authorizers       `json:"authorizers" yaml:"-"`
	// DisplayTitles maps an attribute to the title the UI shows; an
	// attribute without one is shown under its name.
	DisplayTitles map[string]string `json:"displayTitles" yaml:"displayTitles"`
	// FilterableAttributes are the identity attributes offered as
	// filters; empty: every attribute.
	FilterableAttributes []string `json:"filterableAttributes" yaml:"filterableAttributes"`
}

// Thresholds are the score bands: High from High, Medium from Medium, Low
// below; Top bounds High from above; AutoAccess is the minimum score of
// automatic decisions.
type Thresholds struct {
	Top        float64 `json:"top"`
	High       float64 `json:"high"`
	Medium     float64 `json:"medium"`
	Low        float64 `json:"low"`
	AutoAccess float64 `json:"autoAccess"`
}

// VolumeThresholds are percentages: an assignment scored at least High/100
// is high-confidence, at most Low/100 low-confidence (assignmentStats).
type VolumeThresholds struct {
	High float64 `json:"high" yaml:"high"`
	Low  float64 `json:"low" yaml:"low"`
}

// MostAssignedStats: how many most-assigned entitlements assignmentStats
// lists.
type MostAssignedStats struct {
	Count int `json:"count" yaml:"count"`
}

// HighVolumeStats: entitlements with at least MinUsersCount holders and an
// average score at least High.MinScore (at most Low.MaxScore).
type HighVolumeStats struct {
	High struct {
		MinScore      float64 `json:"minScore" yaml:"minScore"`
		MinUsersCount int64   `json:"minUsersCount" yaml:"minUsersCount"`
	} `json:"high" yaml:"high"`
	Low struct {
		MaxScore      float64 `json:"maxScore" yaml:"maxScore"`
		MinUsersCount int64   `json:"minUsersCount" yaml:"minUsersCount"`
	} `json:"low" yaml:"low"`
}

// Authorizers say how users sign in: local accounts (the reference's
// LDAP) and OpenID Connect.
type Authorizers struct {
	LDAP bool `json:"ldap"`
	OIDC bool `json:"oidc"`
}

// DefaultUIConfig is the reference's example configuration.
func DefaultUIConfig() UIConfig {
	c := UIConfig{
		Thresholds:           Thresholds{Top: 1.01, High: 0.75, Medium: 0.35, Low: 0, AutoAccess: 0.5},
		VolumeThresholds:     VolumeThresholds{High: 90, Low: 20},
		MostAssignedStats:    MostAssignedStats{Count: 100},
		Authorizers:          Authorizers{LDAP: true},
		DisplayTitles:        map[string]string{},
		FilterableAttributes: []string{},
	}
	c.HighVolumeStats.High.MinScore, c.HighVolumeStats.High.MinUsersCount = 0.9, 100
	c.HighVolumeStats.Low.MaxScore, c.HighVolumeStats.Low.MinUsersCount = 0.2, 100
	return c
}

// DisplayTitle is the title of an attribute.
func (c UIConfig) DisplayTitle(attr string) string {
	if t, ok := c.DisplayTitles[attr]; ok && t != "" {
		return t
	}
	return attr
}

// loadUIConfig reads engine.yaml and ui.yaml of a workspace; missing files
// give the defaults; a bad file is an error naming it.
func loadUIConfig(workspaceDir string, oidc bool) (UIConfig, error) {
	c := DefaultUIConfig()
	c.Authorizers.OIDC = oidc
	if workspaceDir == "" {
		return c, nil
	}
	eng, err := stages.LoadConfig(filepath.Join(workspaceDir, "engine.yaml"))
	if err != nil {
		return c, err
	}
	c.Thresholds.High, c.Thresholds.Medium, c.Thresholds.AutoAccess = eng.High, eng.Medium, eng.AutoAccess
	path := filepath.Join(workspaceDir, UIConfigFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("UI configuration: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("UI configuration %s: %w", path, err)
	}
	if c.DisplayTitles == nil {
		c.DisplayTitles = map[string]string{}
	}
	if c.FilterableAttributes == nil {
		c.FilterableAttributes = []string{}
	}
	switch {
	case c.VolumeThresholds.Low < 0 || c.VolumeThresholds.High > 100 || c.VolumeThresholds.Low > c.VolumeThresholds.High:
		return c, fmt.Errorf("UI configuration %s: volumeThresholds: want 0 <= low <= high <= 100", path)
	case c.MostAssignedStats.Count < 0:
		return c, fmt.Errorf("UI configuration %s: mostAssignedStats.count must not be negative", path)
	}
	return c, nil
}

// UI returns the current UI configuration (for the views).
func (s *Server) UI() UIConfig { return *s.ui.Load() }

func (s *Server) configRoutes() []route {
	return []route{
		{Method: "GET", Path: "/api/config", Access: public(), Tag: "Config",
			Summary:  "The UI configuration: score bands, volume thresholds, high-volume settings, authorizers, display titles, filterable attributes",
			Response: UIConfig{}, Handle: s.config},
		{Method: "GET", Path: "/api/admin/reloadUIConfig", Access: users(groupsUserToAdmin()...), Tag: "Config",
			Summary: "Reread the configuration (engine.yaml and ui.yaml of the workspace)", Response: UIConfig{}, Handle: s.reloadUIConfig},
	}
}

func (s *Server) config(*http.Request) (any, error) { return s.UI(), nil }

func (s *Server) reloadUIConfig(*http.Request) (any, error) {
	c, err := loadUIConfig(s.cfg.WorkspaceDir, s.cfg.OIDC != nil)
	if err != nil {
		return nil, errorf(KindBadData, UIConfigFile, "the configuration was not reloaded: %v", err)
	}
	s.ui.Store(&c)
	return c, nil
}
