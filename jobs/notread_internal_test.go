package jobs

import (
	"slices"
	"testing"
)

// TestNotRead: what a pass left is the due ids it neither read nor
// skipped, in id order, whatever order it read them in; nothing when it
// read them all, or none were due.
func TestNotRead(t *testing.T) {
	for _, tc := range []struct {
		name      string
		due, seen []int64
		skip      map[int64]bool
		want      []int64
	}{
		{"all read", []int64{1, 2, 3}, []int64{3, 1, 2}, nil, nil},
		{"one due behind the pages", []int64{1, 2, 3, 4}, []int64{4, 1, 3}, nil, []int64{2}},
		{"held before", []int64{1, 2, 3}, []int64{1}, map[int64]bool{3: true}, []int64{2}},
		{"read, then no longer due", []int64{2}, []int64{1, 2, 9}, nil, nil},
		{"none due", nil, []int64{5}, nil, nil},
		{"none read", []int64{7, 8}, nil, nil, []int64{7, 8}},
	} {
		got := notRead(slices.Clone(tc.due), slices.Clone(tc.seen), tc.skip)
		if len(got) != len(tc.want) || (len(got) > 0 && !slices.Equal(got, tc.want)) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
