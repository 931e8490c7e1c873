package backend

import (
	"strings"
	"testing"
)

// Every enum value has a name: a value added without one fails here.
func TestEnumNames(t *testing.T) {
	seen := map[string]bool{}
	check := func(kind string, n int, name func(int) string) {
		for i := range n {
			s := name(i)
			if s == "" || strings.Contains(s, "(") {
				t.Errorf("%s %d has no name (String() = %q)", kind, i, s)
			}
			if seen[kind+s] {
				t.Errorf("%s %d: name %q used twice", kind, i, s)
			}
			seen[kind+s] = true
		}
	}
	check("State", int(numStates), func(i int) string { return State(i).String() })
	check("Admin", int(numAdmins), func(i int) string { return Admin(i).String() })
	check("CheckStatus", int(numCheckStatuses), func(i int) string { return CheckStatus(i).String() })
	check("CodeClass", int(NumCodeClasses), func(i int) string { return CodeClass(i).String() })
	if got := State(numStates).String(); got != "State(4)" {
		t.Errorf("State(numStates).String() = %q; want State(4)", got)
	}
}
