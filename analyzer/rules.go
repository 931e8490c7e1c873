package analyzer

import "time"

// Action is what a request or response rule does.
type Action uint8

// The actions. Header actions edit the message; the others end the
// transaction with an answer lb makes itself.
const (
	SetHeader         Action = iota // replace every field Name with one Name: Value
	AddHeader                       // add a field Name: Value
	DelHeader                       // remove every field Name
	Redirect                        // answer Status (3xx) with Location
	Deny                            // answer Status (403 by default; 502 for responses)
	Return                          // answer Status with Body
	SetPriorityClass                // the request queues in class Class (lower first)
	SetPriorityOffset               // the request queues as if it came Offset later
	Tarpit                          // hold the request Tarpit long, then answer Status (429 by default)
	numActions
)

var actionNames = [...]string{
	SetHeader: "set-header", AddHeader: "add-header", DelHeader: "del-header",
	Redirect: "redirect", Deny: "deny", Return: "return",
	SetPriorityClass: "set-priority-class", SetPriorityOffset: "set-priority-offset",
	Tarpit: "tarpit",
}

// String names the action as the configuration writes it.
func (a Action) String() string {
	if a < numActions {
		return actionNames[a]
	}
	return "action(?)"
}

// ParseAction maps a configuration name to an Action.
func ParseAction(s string) (Action, bool) {
	for a, n := range actionNames {
		if n == s {
			return Action(a), true
		}
	}
	return 0, false
}

// Terminal reports whether the action ends the transaction.
func (a Action) Terminal() bool { return a == Redirect || a == Deny || a == Return || a == Tarpit }

// Rule is one http_request or http_response rule: when Match holds (it is
// evaluated on the request), Action applies.
type Rule struct {
	Match
	Action      Action
	Name, Value string        // header actions
	Location    string        // Redirect: the target, or
	Scheme      string        // Redirect: the same URL with this scheme ("https"), on the request's host without its port
	Status      int           // Redirect, Deny, Return
	Body        string        // Return, Deny
	ContentType string        // Return
	Class       int           // SetPriorityClass
	Offset      time.Duration // SetPriorityOffset
	Tarpit      time.Duration // Tarpit: how long the request is held
	// Limit, when not 0, is 1 + the index of the limit table the rule
	// counts its requests in: the rule applies only to requests over the
	// table's limits (see Limiter).
	Limit int
}

// Limiter counts requests in the per-key limit tables. The session
// implements it on its event loop; a nil Limiter makes rules with a limit
// never apply.
type Limiter interface {
	// Track counts request r of t in the table of rule rl (rl.Limit > 0)
	// under the key the table takes from it, and reports whether the key
	// is over one of the table's limits, with the seconds a client should
	// wait (Retry-After).
	Track(rl *Rule, r *Request, t *Txn) (over bool, retryAfter int)
}

// Eval evaluates rules on r in order and returns the set of matching rules
// as a bitmask (rule i is bit i; at most 64 rules) and the index of the
// first matching terminal rule, or -1. Header rules after a terminal one
// are not in the mask. A rule with a limit matches only when lim (nil:
// never) finds the request over it; each such rule up to the terminal one
// counts the request, and the Retry-After of the last one over is left in
// t.RetryAfter. It allocates nothing.
func Eval(rules []Rule, r *Request, lim Limiter, t *Txn) (mask uint64, terminal int) {
	for i := range rules {
		if i >= 64 {
			break
		}
		rl := &rules[i]
		if !rl.Matches(r) {
			continue
		}
		if rl.Limit != 0 {
			if lim == nil {
				continue
			}
			over, retry := lim.Track(rl, r, t)
			if !over {
				continue
			}
			t.RetryAfter = retry
		}
		if rl.Action.Terminal() {
			return mask, i
		}
		mask |= 1 << i
	}
	return mask, -1
}

// Dropped reports whether a field named name is removed by the header
// rules in mask (del-header, or set-header, which replaces it).
func Dropped(rules []Rule, mask uint64, name []byte) bool {
	for i := 0; mask != 0 && i < len(rules); i++ {
		if mask&(1<<i) == 0 {
			continue
		}
		mask &^= 1 << i
		if a := rules[i].Action; (a == DelHeader || a == SetHeader) && equalFold(name, rules[i].Name) {
			return true
		}
	}
	return false
}

// AppendAdded appends the fields the rules in mask add (set-header and
// add-header, in rule order) to out, each as "Name: Value\r\n".
func AppendAdded(out []byte, rules []Rule, mask uint64) []byte {
	for i := 0; mask != 0 && i < len(rules); i++ {
		if mask&(1<<i) == 0 {
			continue
		}
		mask &^= 1 << i
		if a := rules[i].Action; a == SetHeader || a == AddHeader {
			out = append(out, rules[i].Name...)
			out = append(out, ": "...)
			out = append(out, rules[i].Value...)
			out = append(out, "\r\n"...)
		}
	}
	return out
}
