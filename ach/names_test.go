package ach

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
	"unsafe"
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
		{"cyrillic mixed with latin", "Иван Petrov", 22, "IVAN PETROV"},
		{"cyrillic russian", "Сергей Щукин", 22, "SERGEI SHCHUKIN"},
		{"cyrillic short i via decomposition", "Андрей Йодко", 22, "ANDREI IODKO"},
		{"cyrillic yo", "Пётр Алёшин", 22, "PETR ALESHIN"},
		{"cyrillic soft sign dropped", "Игорь Ильич", 22, "IGOR ILICH"},
		{"cyrillic hard sign", "Подъячев", 22, "PODIEIACHEV"},
		{"ukrainian", "Ґалина Їжакевич", 22, "GALINA IZHAKEVICH"},
		{"greek", "Γιώργος Παπαδόπουλος", 22, "GIORGOS PAPADOPOULOS"},
		{"greek final sigma and theta", "Θεόδωρος Ξενάκης", 22, "THEODOROS KSENAKES"},
		{"greek capitals", "ΕΛΕΝΗ ΧΑΤΖΗ", 22, "ELENE KHATZE"},
		{"cjk chinese", "王小明", 22, "WANG XIAO MING"},
		{"cjk traditional", "李小龍", 22, "LI XIAO LONG"},
		{"cjk beside latin", "Wei 陈", 22, "WEI CHEN"},
		{"japanese kanji read as chinese", "佐藤", 22, "ZUO TENG"},
		{"japanese kana", "さとう はなこ", 22, "SATOU HANAKO"},
		{"half-width katakana", "ｻﾄｳ", 22, "SATOU"},
		{"korean hangul", "김민준", 22, "GIMMINJUN"},
		{"cjk cut between characters", "欧阳娜娜欧阳娜娜", 22, "OU YANG NUO NUO OU"},
		{"cjk cut never inside a spelling", "张张张张张", 14, "ZHANG ZHANG"},
		{"cjk one spelling too wide", "張", 4, ""},
		{"emoji only", "😀🚗", 22, ""},
		{"emoji with zero-width joiner", "👩\u200d👩\u200d👧", 22, ""},
		{"combining marks alone", "\u0301\u0303", 22, ""},
		{"invisible format characters dropped", "Jo\u00adhann\u200e \u200dLee\ufeff", 22, "JOHANN LEE"},
		{"mixed scripts", "Ana Γιάννη-Иванова 王", 22, "ANA GIANNE-IVANOVA"},
		{"arabic", "محمد", 22, "MHMD"},
		{"roman numeral", "Henry Ⅷ", 22, "HENRY VIII"},
		{"outside the tables", "\U0001D400\U00020000", 22, "A"},
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

func TestEntryName(t *testing.T) {
	cases := []struct {
		name, in, want string
		fallback       bool
	}{
		{"latin", "José Muñoz", "JOSE MUNOZ", false},
		{"cjk", "王小明", "WANG XIAO MING", false},
		{"greek", "Γιώργος", "GIORGOS", false},
		{"cyrillic", "Иван Петров", "IVAN PETROV", false},
		{"mixed", "Wei 陈 Müller", "WEI CHEN MULLER", false},
		{"overlong cut whole", "Maximiliano Alejandro de la Santísima", "MAXIMILIANO ALEJANDRO", false},
		{"one letter is enough", "X", "X", false},
		{"emoji only", "😀", FallbackName, true},
		{"empty", "", FallbackName, true},
		{"spaces only", " \t\u3000", FallbackName, true},
		{"punctuation only", "- . / &", FallbackName, true},
		{"digits only", "42", FallbackName, true},
		{"invalid utf-8", "\xff\xfe", FallbackName, true},
		{"marks and joiners only", "\u0301\u200d\ufe0f", FallbackName, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, fb := EntryName(tc.in)
			if got != tc.want || fb != tc.fallback {
				t.Errorf("EntryName(%q) = %q, %v; want %q, %v", tc.in, got, fb, tc.want, tc.fallback)
			}
		})
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"Nguyễn Thị Ánh", "Strauß", "O’Brien", "  a  b ", "ﬁ", "Ǆ", "\xff", "李",
		"王小明", "Γιώργος", "Игорь Подъячев", "😀", "김민준", "ｻﾄｳ", "Ⅷ", "\u0301", "👩\u200d👧"} {
		f.Add(s, 22)
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, width int) {
		width %= 100
		sanitizeCheck(t, s, width, Sanitize(s, width))
		if width > 0 {
			// The ASCII path spells as the rune-by-rune one does.
			ascii := strings.Map(func(r rune) rune { return r & 0x7f }, s)
			if fast, slow := sanitizeASCIIOnly(ascii, width), sanitizeRunes(ascii, width); fast != slow {
				t.Fatalf("Sanitize(%q, %d): ASCII path %q, rune path %q", ascii, width, fast, slow)
			}
		}
		name, fallback := EntryName(s)
		sanitizeCheck(t, s, 22, name)
		// A name is never empty: the sanitised name when it has a letter,
		// else the fallback.
		if want := Sanitize(s, 22); fallback && name != FallbackName || !fallback && (name != want || strings.IndexFunc(name, unicode.IsLetter) < 0) {
			t.Fatalf("EntryName(%q) = %q, %v (sanitised %q)", s, name, fallback, want)
		}
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

// TestSanitizeASCII holds the ASCII path to the rune-by-rune one on the
// names and edges it takes: every ASCII byte, separators at either end and
// in runs, cuts at the width.
func TestSanitizeASCII(t *testing.T) {
	var every strings.Builder
	for c := 0; c < utf8.RuneSelf; c++ {
		every.WriteByte(byte(c))
	}
	cases := []string{"", " ", "Maria Garcia-Lopez", "MARIA GARCIA-LOPEZ", "  o'brien,  jr.  ", "a\tb\nc", "`quoted`", "A_B", "x!!!y",
		"Maximiliano Alejandro de la Santisima", "JOHN SMITH ", " JOHN SMITH", every.String(), strings.Repeat("ab ", 40)}
	for _, s := range cases {
		for _, width := range []int{1, 2, 3, 10, 22, 200} {
			if fast, slow := sanitizeASCIIOnly(s, width), sanitizeRunes(s, width); fast != slow {
				t.Errorf("Sanitize(%q, %d): ASCII path %q, rune path %q", s, width, fast, slow)
			}
			sanitizeCheck(t, s, width, Sanitize(s, width))
		}
	}
	if s := "JOHN SMITH"; unsafe.StringData(Sanitize(s, 22)) != unsafe.StringData(s) {
		t.Errorf("Sanitize(%q) copied a name that was already clean", s)
	}
}

func BenchmarkSanitize(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Sanitize("Nguyễn Thị Ánh", 22)
		Sanitize("Maria Garcia-Lopez", 22)
	}
}

func BenchmarkSanitizeASCII(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Sanitize("Maria Garcia-Lopez", 22)
		Sanitize("TRAN DUC THANG", 22)
	}
}
