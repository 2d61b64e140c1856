package server

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"time"
)

func (s *Server) openAPIRoutes() []route {
	return []route{
		{Method: "GET", Path: "/api/openapi.json", Access: public(), Tag: "API service",
			Summary: "This API as an OpenAPI 3 document, generated from the route table", Handle: s.openAPIHandler},
	}
}

func (s *Server) openAPIHandler(*http.Request) (any, error) { return s.openAPI(), nil }

// openAPI builds the OpenAPI 3 document from the route table: every route,
// who may call it (security and x-groups), its body and answer types.
func (s *Server) openAPI() map[string]any {
	paths := map[string]map[string]any{}
	param := regexp.MustCompile(`\{([^}]+)\}`)
	for _, r := range s.table {
		op := map[string]any{
			"summary":     r.Summary,
			"operationId": operationID(r.Method, r.Path),
			"responses": map[string]any{
				"200":     response200(r.Response),
				"default": map[string]any{"description": "An error", "content": jsonContent(map[string]any{"$ref": "#/components/schemas/Error"})},
			},
		}
		if r.Tag != "" {
			op["tags"] = []string{r.Tag}
		}
		a := r.Access
		switch {
		case a.public:
			op["security"] = []any{}
		case a.keyOnly:
			op["security"] = []any{map[string]any{"apiKey": []string{}}, map[string]any{"apiKeyAuthorization": []string{}}}
		default:
			sec := []any{map[string]any{"bearer": []string{}}}
			if a.apiKey {
				sec = append(sec, map[string]any{"apiKey": []string{}}, map[string]any{"apiKeyAuthorization": []string{}})
			}
			op["security"] = sec
			groups := []string{}
			for _, g := range a.groups {
				groups = append(groups, string(g))
			}
			op["x-groups"] = groups // empty: any signed-in user
		}
		var params []any
		for _, m := range param.FindAllStringSubmatch(r.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if r.Request != nil {
			op["requestBody"] = map[string]any{"required": r.Method != "GET", "content": jsonContent(bodySchema(r.Request))}
		}
		if paths[r.Path] == nil {
			paths[r.Path] = map[string]any{}
		}
		paths[r.Path][strings.ToLower(r.Method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":       "autoid",
			"version":     s.cfg.Version,
			"description": "Identity analytics: the reference API's endpoints over the serving store, and the jobs API.",
		},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer":              map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
				"apiKey":              map[string]any{"type": "apiKey", "in": "header", "name": "X-API-KEY"},
				"apiKeyAuthorization": map[string]any{"type": "apiKey", "in": "header", "name": "Authorization", "description": "The bare API key, as the jobs reference sends it"},
			},
			"schemas": map[string]any{"Error": schemaOf(reflect.TypeOf(envelope{}))},
		},
	}
}

func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, part := range strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '{' || r == '}' || r == '.' || r == '_' || r == '-' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// jsonSchema is a Request or Response given as a JSON schema, for bodies
// whose shape no Go type states.
type jsonSchema map[string]any

// bodySchema describes a route's Request or Response value.
func bodySchema(v any) map[string]any {
	if s, ok := v.(jsonSchema); ok {
		return s
	}
	return schemaOf(reflect.TypeOf(v))
}

func jsonContent(schema any) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": schema}}
}

func response200(v any) map[string]any {
	r := map[string]any{"description": "OK"}
	if v != nil {
		r["content"] = jsonContent(bodySchema(v))
	}
	return r
}

var (
	rawMessageType = reflect.TypeOf(json.RawMessage{})
	timeType       = reflect.TypeOf(time.Time{})
)

// schemaOf describes a Go type as a JSON schema, by its JSON encoding.
func schemaOf(t reflect.Type) map[string]any {
	return schemaDepth(t, 0)
}

func schemaDepth(t reflect.Type, depth int) map[string]any {
	if depth > 12 {
		return map[string]any{}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == rawMessageType:
		return map[string]any{}
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": schemaDepth(t.Elem(), depth+1)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaDepth(t.Elem(), depth+1)}
	case reflect.Struct:
		props := map[string]any{}
		addFields(t, props, depth)
		return map[string]any{"type": "object", "properties": props}
	}
	return map[string]any{}
}

// addFields adds a struct's JSON fields, embedded structs' fields inline.
func addFields(t reflect.Type, props map[string]any, depth int) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(ft, props, depth)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = schemaDepth(f.Type, depth+1)
	}
}
