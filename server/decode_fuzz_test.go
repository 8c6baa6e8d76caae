package server_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/drafterhq/drafter/server"
)

// FuzzDecodeBody: the admin API's decoder never panics, and what it
// accepts is exactly one valid JSON object of known fields.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{`{"job":"originate","date":"2026-03-02"}`, `{"job":"x"} {"job":"y"}`, `{"job":"x"}x`,
		`{"job":"x","force":true}`, `{"scope":"account:LN-7","dry_run":true}`, ``, `[]`, `{"reason":"\u0000"}`, `{"job":"a","JOB":"b"}`, `{"job":"a","job":"b"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req server.StartRequest
		if err := server.DecodeBody(bytes.NewReader(body), &req); err != nil {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(body, &fields); err != nil {
			t.Fatalf("accepted %q, which is not one object: %v", body, err)
		}
		for k := range fields {
			switch k {
			case "job", "date", "dry_run", "scope", "reason":
			default:
				t.Fatalf("accepted unknown field %q in %q", k, body)
			}
		}
	})
}
