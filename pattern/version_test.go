package pattern

import "testing"

func TestIsSTIX20(t *testing.T) {
	tests := []struct {
		name string
		data string
		want bool
	}{
		{"2.0 list", `[{"type":"observed-data","objects":{"0":{"type":"file","name":"a"}}}]`, true},
		{"2.0 object", `{"type":"observed-data","objects":{"0":{"type":"file","name":"a"}}}`, true},
		{"2.1 bundle", `{"type":"bundle","objects":[{"type":"observed-data","objects":{"0":{"type":"file"}}}]}`, false},
		{"object_refs", `[{"type":"observed-data","object_refs":[],"objects":{"0":{"type":"file"}}}]`, false},
		{"spec_version", `[{"type":"observed-data","spec_version":"2.1","objects":{"0":{"type":"file"}}}]`, false},
		{"no objects", `[{"type":"observed-data"}]`, false},
		{"empty", `[]`, false},
		{"not JSON", `nope`, false},
	}
	for _, tt := range tests {
		if got := IsSTIX20([]byte(tt.data)); got != tt.want {
			t.Errorf("%s: IsSTIX20 = %v, want %v", tt.name, got, tt.want)
		}
	}
}
