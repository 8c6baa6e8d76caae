package portfolio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/drafterhq/drafter/civil"
)

// locate finds the first field of line (a syntactically valid JSON object)
// that cannot be decoded into an Account, and says why. encoding/json
// reports such problems without array indexes, or without a field at all
// for a bad date; this slower walk runs only for lines that failed.
func locate(line []byte) (field, problem string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", "", false
	}
	return walk(reflect.TypeFor[Account](), v, "")
}

var dateType = reflect.TypeFor[civil.Date]()

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func walk(t reflect.Type, v any, path string) (field, problem string, ok bool) {
	where := path
	if where == "" {
		where = FieldLine
	}
	if v == nil {
		// null leaves a field at its zero value; Validate judges that.
		return "", "", false
	}
	switch {
	case t == dateType:
		s, isStr := v.(string)
		if !isStr {
			return where, fmt.Sprintf("is a JSON %s; want a date string \"YYYY-MM-DD\"", jsonKind(v)), true
		}
		if _, err := civil.Parse(s); err != nil && s != "" {
			return where, fmt.Sprintf("%q is not a date; want YYYY-MM-DD", s), true
		}
		return "", "", false
	}
	switch t.Kind() {
	case reflect.Pointer:
		return walk(t.Elem(), v, path)
	case reflect.String:
		if _, isStr := v.(string); !isStr {
			return where, fmt.Sprintf("is a JSON %s; want a string", jsonKind(v)), true
		}
	case reflect.Int, reflect.Int64:
		n, isNum := v.(json.Number)
		if !isNum {
			return where, fmt.Sprintf("is a JSON %s; want a whole number", jsonKind(v)), true
		}
		if _, err := strconv.ParseInt(string(n), 10, 64); err != nil {
			return where, fmt.Sprintf("%s is not a whole number in range; want an integer (amounts in cents)", n), true
		}
	case reflect.Slice:
		arr, isArr := v.([]any)
		if !isArr {
			return where, fmt.Sprintf("is a JSON %s; want an array", jsonKind(v)), true
		}
		for i, e := range arr {
			if f, p, ok := walk(t.Elem(), e, path+"["+strconv.Itoa(i)+"]"); ok {
				return f, p, ok
			}
		}
	case reflect.Struct:
		obj, isObj := v.(map[string]any)
		if !isObj {
			return where, fmt.Sprintf("is a JSON %s; want an object", jsonKind(v)), true
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, f := range fields {
			for _, k := range keys {
				if strings.EqualFold(k, f.name) {
					if fe, p, ok := walk(f.typ, obj[k], join(path, f.name)); ok {
						return fe, p, ok
					}
				}
			}
		}
		for _, k := range keys {
			known := false
			for _, f := range fields {
				if strings.EqualFold(k, f.name) {
					known = true
					break
				}
			}
			if !known {
				return join(path, keyName(k)), "unknown field; want only the fields in docs/portfolio-format.md", true
			}
		}
	}
	return "", "", false
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "null"
}

type jsonField struct {
	name string
	typ  reflect.Type
}

var fieldCache sync.Map // reflect.Type -> []jsonField

// jsonFields lists the JSON names of a struct type's fields in declaration
// order.
func jsonFields(t reflect.Type) []jsonField {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]jsonField)
	}
	var out []jsonField
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" || !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, jsonField{name: name, typ: sf.Type})
	}
	fieldCache.Store(t, out)
	return out
}

// keyName returns an unknown JSON key as it goes into a field path: as is
// when it looks like a field name, quoted when it is empty or odd.
func keyName(k string) string {
	if k == "" || len(k) > 64 {
		return strconv.Quote(truncate(k, 64))
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return strconv.Quote(k)
		}
	}
	return k
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
