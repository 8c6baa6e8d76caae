package ledger

import (
	"regexp"
	"strings"
	"testing"
)

// TestEncryptedColumnsListed reads every migration for sealed columns (a
// name ending in _enc) so that a new one cannot be left out of key
// rotation: a number rotate-key does not re-encrypt opens with no key
// after it.
func TestEncryptedColumnsListed(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{"ledger_keys.mac_key_enc": true} // sealed under each key version itself
	for _, ec := range encryptedColumns {
		listed[ec.table+"."+ec.column] = true
	}
	table := regexp.MustCompile(`(?i)^\s*(?:CREATE TABLE|ALTER TABLE)\s+(\w+)`)
	column := regexp.MustCompile(`(?i)^\s*(?:ALTER TABLE\s+\w+\s+ADD COLUMN\s+)?(\w+_enc)\s`)
	renamed := regexp.MustCompile(`(?i)^\s*ALTER TABLE\s+(\w+)\s+RENAME TO\s+(\w+)`)
	found := 0
	for _, m := range ms {
		cur := ""
		alias := map[string]string{}
		for _, line := range strings.Split(m.SQL, "\n") {
			if r := renamed.FindStringSubmatch(line); r != nil {
				alias[r[1]] = r[2]
				continue
			}
			if r := table.FindStringSubmatch(line); r != nil {
				cur = r[1]
			}
			if r := column.FindStringSubmatch(line); r != nil && cur != "" {
				name := cur
				if a, ok := alias[name]; ok {
					name = a
				}
				found++
				if !listed[name+"."+r[1]] && !listed[strings.TrimSuffix(name, "_v2")+"."+r[1]] {
					t.Errorf("%s: column %s.%s looks sealed but is not in encryptedColumns (keys.go): rotate-key would leave it under the old key", m.Name, name, r[1])
				}
			}
		}
	}
	if found < 3 {
		t.Fatalf("found %d sealed columns in the migrations; the pattern no longer reads them", found)
	}
}
