package sim

import "testing"

func TestDiffAndRemoved(t *testing.T) {
	cases := []struct {
		name          string
		before, after []string
		diff, removed string
	}{
		{"same", []string{"a", "b"}, []string{"a", "b"}, "", ""},
		{"added", []string{"a", "c"}, []string{"a", "b", "c"}, "after only: b", ""},
		{"gone", []string{"a", "b", "c"}, []string{"a", "c"}, "before only: b", "changed or gone: b"},
		{"changed", []string{"a", "b1"}, []string{"a", "b2"}, "before only: b1", "changed or gone: b1"},
		{"tail", []string{"a", "z"}, []string{"a"}, "before only: z", "changed or gone: z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Diff(tc.before, tc.after); got != tc.diff {
				t.Errorf("Diff = %q, want %q", got, tc.diff)
			}
			if got := removed(tc.before, tc.after); got != tc.removed {
				t.Errorf("removed = %q, want %q", got, tc.removed)
			}
		})
	}
}

func TestNextNumber(t *testing.T) {
	for in, want := range map[string]string{"": "1", "12345": "12346", "1239": "1230", "12A": "120"} {
		if got := nextNumber(in); got != want {
			t.Errorf("nextNumber(%q) = %q, want %q", in, got, want)
		}
	}
}
