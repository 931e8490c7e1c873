package backend

import "strconv"

// State is a server's externally visible state, as shown by the stats page
// and the runtime API. It is derived, never stored: admin state first, then
// the health state, then the weight.
//
//	MAINT  admin set to Maint (SetAdmin); nothing new, checks paused.
//	DOWN   health checks failed `fall` times in a row; nothing new.
//	DRAIN  UP, but admin set to Drain or weight 0: no new balanced sessions.
//	UP     UP and Ready with weight > 0: takes new sessions.
//
// Transitions: UP <-> DOWN by health checks (rise/fall); any -> MAINT and
// MAINT -> UP/DOWN by SetAdmin; UP <-> DRAIN by SetAdmin or SetWeight.
// Established sessions are never touched by a transition.
type State uint8

// The server states.
const (
	StateUp State = iota
	StateDown
	StateDrain
	StateMaint
	numStates // sentinel for tests; not a state
)

var stateNames = [...]string{
	StateUp:    "UP",
	StateDown:  "DOWN",
	StateDrain: "DRAIN",
	StateMaint: "MAINT",
}

// String returns the HAProxy name: "UP", "DOWN", "DRAIN" or "MAINT".
func (s State) String() string {
	if int(s) < len(stateNames) && stateNames[s] != "" {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Admin is the operator's wish for a server (runtime API "set server state").
//
//	Ready  normal service (the zero value).
//	Drain  no new balanced sessions; health checks continue.
//	Maint  no new sessions at all; health checks stop and their results no
//	       longer count. Leaving Maint restarts the server as at process
//	       start: UP but DOWN at the first failed check, checked at once.
type Admin uint8

// The admin states.
const (
	AdminReady Admin = iota
	AdminDrain
	AdminMaint
	numAdmins // sentinel for tests; not a state
)

var adminNames = [...]string{
	AdminReady: "READY",
	AdminDrain: "DRAIN",
	AdminMaint: "MAINT",
}

// String returns "READY", "DRAIN" or "MAINT" (the runtime API words).
func (a Admin) String() string {
	if int(a) < len(adminNames) && adminNames[a] != "" {
		return adminNames[a]
	}
	return "Admin(" + strconv.Itoa(int(a)) + ")"
}

// CheckStatus is the result of a server's last health check, named as
// HAProxy's stats field check_status.
type CheckStatus uint8

// The check results (HAProxy's check_status codes).
const (
	// CheckUnknown: the backend has no health checks.
	CheckUnknown CheckStatus = iota
	// CheckInit: checks are configured but none has completed yet.
	CheckInit
	// CheckL4OK: the TCP connect succeeded.
	CheckL4OK
	// CheckL4TOUT: the TCP connect did not complete within the check timeout.
	CheckL4TOUT
	// CheckL4CON: the TCP connect failed (refused, unreachable, reset).
	CheckL4CON
	// CheckSockErr: the check could not even be attempted (bad address,
	// out of sockets).
	CheckSockErr
	// CheckL7OK: the HTTP check got a status in the expected range.
	CheckL7OK
	// CheckL7STS: the HTTP check got a status outside the expected range.
	CheckL7STS
	// CheckL7RSP: the HTTP check got no valid HTTP status line.
	CheckL7RSP
	// CheckL7TOUT: the HTTP check got no answer within the check timeout.
	CheckL7TOUT
	numCheckStatuses // sentinel for tests; not a status
)

var checkStatusNames = [...]string{
	CheckUnknown: "UNK",
	CheckInit:    "INI",
	CheckL4OK:    "L4OK",
	CheckL4TOUT:  "L4TOUT",
	CheckL4CON:   "L4CON",
	CheckSockErr: "SOCKERR",
	CheckL7OK:    "L7OK",
	CheckL7STS:   "L7STS",
	CheckL7RSP:   "L7RSP",
	CheckL7TOUT:  "L7TOUT",
}

// String returns the HAProxy check_status code ("L4OK", "L4CON", ...).
func (c CheckStatus) String() string {
	if int(c) < len(checkStatusNames) && checkStatusNames[c] != "" {
		return checkStatusNames[c]
	}
	return "CheckStatus(" + strconv.Itoa(int(c)) + ")"
}

// ok reports whether the status counts as a passed check.
func (c CheckStatus) ok() bool { return c == CheckL4OK || c == CheckL7OK }
