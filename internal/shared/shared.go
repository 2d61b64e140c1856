// Package shared locates the data folder that sits beside the repository
// (../shared: the showcase sample and the research data sets) for tests and
// benchmarks. The data is never copied into the repository.
package shared

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Root returns the absolute path of ../shared relative to the repository
// root, whether or not it exists.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Join(filepath.Dir(file), "..", "..")
	return filepath.Join(filepath.Dir(repo), "shared")
}

// Path returns a path inside ../shared. When it does not exist the test is
// skipped with a message, or fails when the environment has CI=true.
func Path(tb testing.TB, elem ...string) string {
	tb.Helper()
	p := filepath.Join(append([]string{Root()}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("shared data missing: %v (CI=true needs ../shared beside the repository)", err)
		}
		tb.Skipf("shared data not found (%v): this test needs ../shared beside the repository", err)
	}
	return p
}

// Showcase returns the showcase data folder (../shared/data/showcase).
func Showcase(tb testing.TB) string { return Path(tb, "data", "showcase") }

// MappingFile returns the repository's mapping for the showcase data.
func MappingFile() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "showcase-mapping.yaml")
}
