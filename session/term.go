package session

// Cause is the first character of a termination code: who or what ended
// the session (HAProxy's %ts grammar).
type Cause byte

// The causes.
const (
	CauseNone          Cause = '-' // normal end
	CauseClientAbort   Cause = 'C' // the client aborted (reset, error)
	CauseServerAbort   Cause = 'S' // the server aborted or refused
	CauseProxy         Cause = 'P' // lb itself refused (limits, security)
	CauseResource      Cause = 'R' // a local resource ran out
	CauseLocal         Cause = 'L' // lb answered itself (redirect, return)
	CauseKilled        Cause = 'K' // killed by lb (hard stop, admin)
	CauseClientTimeout Cause = 'c' // client-side timeout
	CauseServerTimeout Cause = 's' // server-side timeout
)

// Phase is the second character of a termination code: where the session
// was when it ended.
type Phase byte

// The phases.
const (
	PhaseNone    Phase = '-' // normal end
	PhaseRequest Phase = 'R' // waiting for / analyzing the request
	PhaseQueue   Phase = 'Q' // waiting in a queue for a server slot
	PhaseConnect Phase = 'C' // connecting to a server
	PhaseHeaders Phase = 'H' // waiting for the response head
	PhaseData    Phase = 'D' // forwarding data
	PhaseTarpit  Phase = 'T' // held by a tarpit rule
)

// Term is a termination code: cause x phase, e.g. "--", "sC", "cD".
type Term struct {
	Cause Cause
	Phase Phase
}

// TermNormal is the code of a session that ended normally.
var TermNormal = Term{CauseNone, PhaseNone}

// String renders the two-character code.
func (t Term) String() string {
	c, p := t.Cause, t.Phase
	if c == 0 {
		c = CauseNone
	}
	if p == 0 {
		p = PhaseNone
	}
	return string([]byte{byte(c), byte(p)})
}
