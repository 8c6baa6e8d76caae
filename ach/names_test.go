package ach

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitize(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		width int
		want  string
	}{
		{"plain", "John Smith", 22, "JOHN SMITH"},
		{"spanish", "José Muñoz", 22, "JOSE MUNOZ"},
		{"vietnamese", "Nguyễn Thị Ánh", 22, "NGUYEN THI ANH"},
		{"vietnamese stroke d", "Đặng Văn Lâm", 22, "DANG VAN LAM"},
		{"polish", "Łukasz Żółć", 22, "LUKASZ ZOLC"},
		{"danish", "Søren Ærø", 22, "SOREN AERO"},
		{"german sharp s", "Strauß", 22, "STRAUSS"},
		{"capital sharp s", "STRAẞE", 22, "STRASSE"},
		{"icelandic", "Þórður Guðmundsson", 22, "THORDUR GUDMUNDSSON"},
		{"turkish", "Işıl Yılmaz", 22, "ISIL YILMAZ"},
		{"french ligature", "Cœur", 22, "COEUR"},
		{"typographic apostrophe", "Seán O’Brien", 22, "SEAN O'BRIEN"},
		{"hyphen and en dash", "Smith–Jones-Lee", 22, "SMITH-JONES-LEE"},
		{"allowed punctuation", "A.B. Smith, Jr. & Co/X", 22, "A.B. SMITH, JR. & CO/X"},
		{"other punctuation separates", "Smith (Jr) \"Bob\" *", 22, "SMITH JR BOB"},
		{"collapsed white space", "  Ann \t\n  Lee  ", 22, "ANN LEE"},
		{"non-breaking space", "Ann\u00a0Lee", 22, "ANN LEE"},
		{"decomposed input", "Jose\u0301 Pen\u0303a", 22, "JOSE PENA"},
		{"full-width letters", "ＪＯＨＮ　ＤＯＥ", 22, "JOHN DOE"},
		{"ligature fi", "ﬁnn", 22, "FINN"},
		{"cyrillic dropped", "Иван Petrov", 22, "PETROV"},
		{"cjk only", "李小龍", 22, ""},
		{"emoji separates", "Ann😀Lee", 22, "ANN LEE"},
		{"control characters", "Ann\x00\x1bLee", 22, "ANN LEE"},
		{"invalid utf-8", "Ann\xffLee", 22, "ANN LEE"},
		{"empty", "", 22, ""},
		{"overlong cut at width", "Maximilian Alexander Montgomery-Smith", 22, "MAXIMILIAN ALEXANDER M"},
		{"no trailing space at cut", "Ann Lee", 4, "ANN"},
		{"cut not inside ss", "Strauß", 6, "STRAU"},
		{"ss fits exactly", "Strauß", 7, "STRAUSS"},
		{"cut not inside ae", "Bæk", 2, "B"},
		{"width one", "Émile", 1, "E"},
		{"width zero", "Ann", 0, ""},
		{"negative width", "Ann", -5, ""},
		{"company name width 16", "Drafter Auto Finance LLC", 16, "DRAFTER AUTO FIN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Sanitize(tc.in, tc.width)
			if got != tc.want {
				t.Errorf("Sanitize(%q, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
			}
			sanitizeCheck(t, tc.in, tc.width, got)
		})
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"Nguyễn Thị Ánh", "Strauß", "O’Brien", "  a  b ", "ﬁ", "Ǆ", "\xff", "李"} {
		f.Add(s, 22)
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, width int) {
		width %= 100
		sanitizeCheck(t, s, width, Sanitize(s, width))
	})
}

// sanitizeCheck asserts what every Sanitize result must be: allowed ASCII
// only, within width, trimmed, single-spaced, and a fixed point.
func sanitizeCheck(t *testing.T, in string, width int, got string) {
	t.Helper()
	if len(got) > max(width, 0) {
		t.Fatalf("Sanitize(%q, %d) = %q: %d bytes, over width", in, width, got, len(got))
	}
	if !utf8.ValidString(got) {
		t.Fatalf("Sanitize(%q, %d) = %q: not UTF-8", in, width, got)
	}
	for i := 0; i < len(got); i++ {
		c := got[i]
		ok := c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(" -'.,&/", c) >= 0
		if !ok {
			t.Fatalf("Sanitize(%q, %d) = %q: byte %q not allowed", in, width, got, c)
		}
	}
	if strings.TrimSpace(got) != got || strings.Contains(got, "  ") {
		t.Fatalf("Sanitize(%q, %d) = %q: untrimmed or double space", in, width, got)
	}
	if again := Sanitize(got, width); again != got {
		t.Fatalf("Sanitize not idempotent: %q -> %q -> %q", in, got, again)
	}
}

func BenchmarkSanitize(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Sanitize("Nguyễn Thị Ánh", 22)
		Sanitize("Maria Garcia-Lopez", 22)
	}
}
