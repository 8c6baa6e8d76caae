package portfolio

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestSchemaMatchesRecord checks that docs/portfolio.schema.json names
// exactly the JSON properties of record.go's struct tags, and that
// docs/portfolio-format.md mentions each of them.
func TestSchemaMatchesRecord(t *testing.T) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "record.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]bool{}
	ast.Inspect(file, func(n ast.Node) bool {
		f, ok := n.(*ast.Field)
		if !ok || f.Tag == nil {
			return true
		}
		raw, err := strconv.Unquote(f.Tag.Value)
		if err != nil {
			t.Fatalf("tag %s: %v", f.Tag.Value, err)
		}
		name, _, _ := strings.Cut(reflect.StructTag(raw).Get("json"), ",")
		if name != "" && name != "-" {
			tags[name] = true
		}
		return true
	})

	b, err := os.ReadFile(filepath.Join("..", "docs", "portfolio.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema any
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatalf("schema: %v", err)
	}
	props := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "properties" {
					if m, ok := x.(map[string]any); ok {
						for name := range m {
							props[name] = true
						}
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(schema)

	for _, name := range sortedKeys(tags) {
		if !props[name] {
			t.Errorf("record.go has %q; the schema does not", name)
		}
	}
	for _, name := range sortedKeys(props) {
		if !tags[name] {
			t.Errorf("the schema has %q; record.go does not", name)
		}
	}

	doc, err := os.ReadFile(filepath.Join("..", "docs", "portfolio-format.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range sortedKeys(tags) {
		if !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("docs/portfolio-format.md does not describe `%s`", name)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
