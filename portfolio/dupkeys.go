package portfolio

import (
	"encoding/json"
	"strconv"
	"strings"
)

// duplicateKey finds the first key that appears twice in one object of
// line (valid JSON), as encoding/json would match them: unescaped and
// without regard to case. encoding/json keeps the last silently, so a line
// saying "account_number" twice would import a number the reader of the
// first never saw. It returns the field path of the repeat
// (bank_accounts[0].account_number) and whether there is one.
func duplicateKey(line []byte) (field string, ok bool) {
	type frame struct {
		object bool
		path   string
		keys   map[string]bool
		index  int    // arrays: the element being read
		key    string // objects: the key of the value being read
	}
	var stack []frame
	// elementPath names the value about to be read in the innermost frame.
	elementPath := func() string {
		if len(stack) == 0 {
			return ""
		}
		f := &stack[len(stack)-1]
		if f.object {
			return join(f.path, f.key)
		}
		return f.path + "[" + strconv.Itoa(f.index) + "]"
	}
	expectKey := false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; c {
		case '{':
			stack = append(stack, frame{object: true, path: elementPath()})
			expectKey = true
		case '[':
			stack = append(stack, frame{path: elementPath()})
			expectKey = false
		case '}', ']':
			stack = stack[:len(stack)-1]
			expectKey = false
		case ',':
			if len(stack) > 0 {
				f := &stack[len(stack)-1]
				if f.object {
					expectKey = true
				} else {
					f.index++
				}
			}
		case '"':
			j := i + 1
			escaped := false
			for ; j < len(line) && line[j] != '"'; j++ {
				if line[j] == '\\' {
					escaped = true
					j++
				}
			}
			if expectKey && len(stack) > 0 {
				raw := string(line[i+1 : j])
				if escaped {
					var s string
					if err := json.Unmarshal(line[i:j+1], &s); err == nil {
						raw = s
					}
				}
				f := &stack[len(stack)-1]
				k := strings.ToLower(raw)
				if f.keys == nil {
					f.keys = map[string]bool{}
				}
				if f.keys[k] {
					return join(f.path, raw), true
				}
				f.keys[k] = true
				f.key = raw
				expectKey = false
			}
			i = j
		}
	}
	return "", false
}
