package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The subset of the search-engine query language that the reference's
// search endpoints use: sort, size, from, track_total_hits, and the
// queries match_all, term, terms, match and bool (must, filter, should,
// must_not) on fields of the documents. Field names may carry the
// ".keyword" suffix; nested fields are dotted (metadata.primaryKey).

// searchRequestDoc describes a search body for the OpenAPI document.
type searchRequestDoc struct {
	Query struct {
		Sort           []map[string]any `json:"sort,omitempty"`
		Size           int              `json:"size,omitempty"`
		From           int              `json:"from,omitempty"`
		TrackTotalHits bool             `json:"track_total_hits,omitempty"`
		Query          map[string]any   `json:"query,omitempty"`
	} `json:"query"`
}

// dslSearch is a parsed search.
type dslSearch struct {
	sort  []sortKey
	size  int
	from  int
	query clause
}

type sortKey struct {
	field string
	desc  bool
}

// clause matches a document.
type clause func(doc map[string]any) bool

// maxSearchSize bounds size (the search engine's default window).
const maxSearchSize = 10000

// readSearch reads a search body: the reference wraps it in "query"
// ({"query": {"sort", "size", "query": {...}}}); the bare form
// ({"sort", "size", "query": {...}}) is accepted too. An empty body
// matches everything.
func readSearch(r *http.Request) (dslSearch, error) {
	sr := dslSearch{size: 10, query: func(map[string]any) bool { return true }}
	var top map[string]json.RawMessage
	if err := decodeOptionalJSON(r, &top); err != nil {
		return sr, err
	}
	prefix := ""
	body := top
	if q, ok := top["query"]; ok {
		var inner map[string]json.RawMessage
		if json.Unmarshal(q, &inner) == nil {
			for _, k := range []string{"sort", "size", "from", "track_total_hits", "query"} {
				if _, ok := inner[k]; ok {
					body, prefix = inner, "query."
					break
				}
			}
		}
	}
	for k, v := range body {
		f := prefix + k
		switch k {
		case "size", "from":
			n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil || n < 0 || n > maxSearchSize {
				return sr, errorf(KindBadData, f, "want an integer from 0 to %d", maxSearchSize)
			}
			if k == "size" {
				sr.size = n
			} else {
				sr.from = n
			}
		case "track_total_hits":
			// Totals are always exact.
		case "sort":
			keys, err := parseSort(f, v)
			if err != nil {
				return sr, err
			}
			sr.sort = keys
		case "query":
			c, err := parseClause(f, v)
			if err != nil {
				return sr, err
			}
			sr.query = c
		case "_source", "aggs", "highlight":
			return sr, errorf(KindBadData, f, "%s is not supported", k)
		default:
			return sr, errorf(KindBadData, f, "unknown search option %q", k)
		}
	}
	return sr, nil
}

func fieldName(f string) string { return strings.TrimSuffix(f, ".keyword") }

func parseSort(field string, v json.RawMessage) ([]sortKey, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		items = []json.RawMessage{v}
	}
	var out []sortKey
	for i, it := range items {
		f := fmt.Sprintf("%s[%d]", field, i)
		var name string
		if json.Unmarshal(it, &name) == nil {
			out = append(out, sortKey{field: fieldName(name)})
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(it, &m); err != nil || len(m) != 1 {
			return nil, errorf(KindBadData, f, `want "field" or {"field": {"order": "asc"|"desc"}}`)
		}
		for name, spec := range m {
			var order string
			if json.Unmarshal(spec, &order) != nil {
				var o struct {
					Order string `json:"order"`
				}
				if err := json.Unmarshal(spec, &o); err != nil {
					return nil, errorf(KindBadData, f, `want {"order": "asc"|"desc"}`)
				}
				order = o.Order
			}
			switch order {
			case "", "asc":
				out = append(out, sortKey{field: fieldName(name)})
			case "desc":
				out = append(out, sortKey{field: fieldName(name), desc: true})
			default:
				return nil, errorf(KindBadData, f+".order", "want asc or desc, got %q", order)
			}
		}
	}
	return out, nil
}

// parseClause reads one query clause.
func parseClause(field string, v json.RawMessage) (clause, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil || len(m) != 1 {
		return nil, errorf(KindBadData, field, "want one of match_all, term, terms, match, bool")
	}
	for kind, body := range m {
		f := field + "." + kind
		switch kind {
		case "match_all":
			return func(map[string]any) bool { return true }, nil
		case "term", "match", "terms":
			var fm map[string]json.RawMessage
			if err := json.Unmarshal(body, &fm); err != nil || len(fm) != 1 {
				return nil, errorf(KindBadData, f, `want {"field": value}`)
			}
			for name, val := range fm {
				return fieldClause(f+"."+name, kind, fieldName(name), val)
			}
		case "bool":
			return boolClause(f, body)
		default:
			return nil, errorf(KindBadData, field, "query %q is not supported (match_all, term, terms, match, bool)", kind)
		}
	}
	return nil, errorf(KindBadData, field, "empty query")
}

func fieldClause(f, kind, name string, val json.RawMessage) (clause, error) {
	var x any
	if err := json.Unmarshal(val, &x); err != nil {
		return nil, errorf(KindBadData, f, "not JSON")
	}
	if obj, ok := x.(map[string]any); ok {
		key := "value"
		if kind == "match" {
			key = "query"
		}
		if kind == "terms" {
			return nil, errorf(KindBadData, f, "want an array of values")
		}
		x, ok = obj[key]
		if !ok {
			return nil, errorf(KindBadData, f, "want {%q: ...}", key)
		}
	}
	switch kind {
	case "terms":
		arr, ok := x.([]any)
		if !ok {
			return nil, errorf(KindBadData, f, "want an array of values")
		}
		var want []string
		for _, a := range arr {
			want = append(want, scalarText(a))
		}
		return func(doc map[string]any) bool {
			return anyValue(lookup(doc, name), func(s string) bool { return slices.Contains(want, s) })
		}, nil
	case "term":
		want := scalarText(x)
		return func(doc map[string]any) bool {
			return anyValue(lookup(doc, name), func(s string) bool { return s == want })
		}, nil
	}
	// match: every word of the query is a word of the field, ignoring case.
	words := strings.Fields(strings.ToLower(scalarText(x)))
	return func(doc map[string]any) bool {
		return anyValue(lookup(doc, name), func(s string) bool {
			have := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
				return !(r == '_' || r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 127)
			})
			for _, w := range words {
				if !slices.Contains(have, w) && !slices.Contains(strings.Fields(strings.ToLower(s)), w) {
					return false
				}
			}
			return len(words) > 0
		})
	}, nil
}

func boolClause(f string, body json.RawMessage) (clause, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, errorf(KindBadData, f, "want an object of must, filter, should, must_not")
	}
	var must, should, not []clause
	for k, v := range m {
		var items []json.RawMessage
		if json.Unmarshal(v, &items) != nil {
			items = []json.RawMessage{v}
		}
		var cs []clause
		for i, it := range items {
			c, err := parseClause(fmt.Sprintf("%s.%s[%d]", f, k, i), it)
			if err != nil {
				return nil, err
			}
			cs = append(cs, c)
		}
		switch k {
		case "must", "filter":
			must = append(must, cs...)
		case "should":
			should = append(should, cs...)
		case "must_not":
			not = append(not, cs...)
		case "minimum_should_match":
		default:
			return nil, errorf(KindBadData, f+"."+k, "want must, filter, should or must_not")
		}
	}
	return func(doc map[string]any) bool {
		for _, c := range must {
			if !c(doc) {
				return false
			}
		}
		for _, c := range not {
			if c(doc) {
				return false
			}
		}
		if len(should) == 0 {
			return true
		}
		for _, c := range should {
			if c(doc) {
				return true
			}
		}
		return false
	}, nil
}

// lookup finds a dotted field in a document.
func lookup(doc map[string]any, name string) any {
	if v, ok := doc[name]; ok {
		return v
	}
	head, rest, ok := strings.Cut(name, ".")
	if !ok {
		return nil
	}
	sub, _ := doc[head].(map[string]any)
	if sub == nil {
		return nil
	}
	return lookup(sub, rest)
}

func scalarText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// anyValue applies f to a value or to each element of a list.
func anyValue(v any, f func(string) bool) bool {
	if v == nil {
		return false
	}
	if arr, ok := v.([]any); ok {
		for _, a := range arr {
			if f(scalarText(a)) {
				return true
			}
		}
		return false
	}
	return f(scalarText(v))
}

// searchDoc is a document to search: its id and source.
type searchDoc struct {
	ID     string
	Source map[string]any
}

// searchHits is the search-engine response envelope.
type searchHits struct {
	Took     int64 `json:"took"`
	TimedOut bool  `json:"timed_out"`
	Shards   struct {
		Total      int `json:"total"`
		Successful int `json:"successful"`
		Skipped    int `json:"skipped"`
		Failed     int `json:"failed"`
	} `json:"_shards"`
	Hits struct {
		Total struct {
			Value    int    `json:"value"`
			Relation string `json:"relation"`
		} `json:"total"`
		MaxScore *float64 `json:"max_score"`
		Hits     []hit    `json:"hits"`
	} `json:"hits"`
}

type hit struct {
	Index  string         `json:"_index"`
	Type   string         `json:"_type"`
	ID     string         `json:"_id"`
	Score  *float64       `json:"_score"`
	Source map[string]any `json:"_source"`
	Sort   []any          `json:"sort,omitempty"`
}

// run filters, sorts and pages the documents.
func (sr dslSearch) run(index string, docs []searchDoc, started time.Time) searchHits {
	var matched []searchDoc
	for _, d := range docs {
		if sr.query(d.Source) {
			matched = append(matched, d)
		}
	}
	sort.SliceStable(matched, func(i, j int) bool {
		for _, k := range sr.sort {
			a, b := lookup(matched[i].Source, k.field), lookup(matched[j].Source, k.field)
			c := compareValues(a, b)
			if c == 0 {
				continue
			}
			if a == nil || b == nil { // missing values last either way
				return b == nil
			}
			if k.desc {
				return c > 0
			}
			return c < 0
		}
		return false
	})
	var out searchHits
	out.Shards.Total, out.Shards.Successful = 1, 1
	out.Hits.Total.Value, out.Hits.Total.Relation = len(matched), "eq"
	out.Hits.Hits = []hit{}
	for i := sr.from; i < len(matched) && i < sr.from+sr.size; i++ {
		d := matched[i]
		h := hit{Index: index, Type: "_doc", ID: d.ID, Source: d.Source}
		for _, k := range sr.sort {
			h.Sort = append(h.Sort, lookup(d.Source, k.field))
		}
		out.Hits.Hits = append(out.Hits.Hits, h)
	}
	out.Took = time.Since(started).Milliseconds()
	return out
}

// compareValues orders numbers numerically and everything else by bytes;
// nil is greater than everything.
func compareValues(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	fa, aok := a.(float64)
	fb, bok := b.(float64)
	if aok && bok {
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	}
	return strings.Compare(scalarText(a), scalarText(b))
}

// dataSourceSearch answers /jas/datasource/search over the stored data
// sources.
func (s *Server) dataSourceSearch(r *http.Request) (any, error) {
	started := time.Now()
	sr, err := readSearch(r)
	if err != nil {
		return nil, err
	}
	all, err := s.db.DataSources(r.Context())
	if err != nil {
		return nil, err
	}
	docs := make([]searchDoc, 0, len(all))
	for _, d := range all {
		var src map[string]any
		if err := json.Unmarshal(d.Body, &src); err != nil {
			return nil, fmt.Errorf("data source %s: %w", d.ID, err)
		}
		src["metadata"] = map[string]any{
			"entityType": "/common/datasources", "primaryKey": d.ID, "entityPath": "/common/datasources/" + d.ID,
			"entityDefinition": "datasources", "namespace": "/common", "branch": "actual",
			"created": formatTime(d.Created), "tenantId": s.tenantName(),
		}
		docs = append(docs, searchDoc{ID: d.ID, Source: src})
	}
	return sr.run(s.tenantName()+"_common_datasources_latest", docs, started), nil
}

// tenantName names the deployment's tenant in documents.
func (s *Server) tenantName() string {
	if s.cfg.TenantID != "" {
		return s.cfg.TenantID
	}
	return "autonomous-iam"
}
