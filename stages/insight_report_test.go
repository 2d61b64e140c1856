package stages

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Long application names are shortened in the bands chart by characters:
// a cut inside a multi-byte character would make the page invalid UTF-8.
func TestInsightHTMLShortensByCharacters(t *testing.T) {
	name := strings.Repeat("é", 40) // 80 bytes; a byte cut at 28 would split a character if odd
	for _, n := range []string{name, "x" + name} {
		r := &InsightResult{Sections: []InsightSection{{Name: SectionApplications, Title: "apps",
			Columns: []string{"app_id", "app_name", "High", "Medium", "Low", "Unscored", "total"},
			Rows:    [][]any{{"A1", n, int64(1), int64(2), int64(3), int64(4), int64(10)}}}}}
		var b strings.Builder
		if err := r.WriteHTML(&b); err != nil {
			t.Fatal(err)
		}
		if !utf8.ValidString(b.String()) {
			t.Fatalf("page for app name %q is not valid UTF-8", n)
		}
		if want := truncateRunes(n, 28); !strings.Contains(b.String(), want) || utf8.RuneCountInString(want) != 29 {
			t.Errorf("label %q not shortened to 28 characters and a mark", want)
		}
	}
}
