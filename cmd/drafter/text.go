package main

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// The words operators read: never Go's %v of a map, a slice or nil.

// countsText writes counts by name as "R01 6, R02 1" in name order, or
// "none".
func countsText(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// migrationsText writes applied migration versions as "1, 2, 3", or says
// that none was needed.
func migrationsText(versions []int) string {
	if len(versions) == 0 {
		return "none (the database was up to date)"
	}
	parts := make([]string, len(versions))
	for i, v := range versions {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ", ")
}

// valueText writes a JSON-decoded scalar for a person: a whole number
// without exponent, a fraction to one decimal, null as "none".
func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return "none"
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(math.Round(x*10)/10, 'f', -1, 64)
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}
