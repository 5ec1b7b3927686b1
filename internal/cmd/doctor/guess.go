package doctor

// Server kinds doctor can tell apart.
const (
	kindReverb  = "Reverb"
	kindSoketi  = "Soketi"
	kindPusher  = "Pusher"
	kindUnknown = "unknown"
)

// guess weighs clues about the server's kind. The clues come from the
// servers' source code (pusher-protocol.md): Reverb answers pusher:ping
// with {"event":"pusher:pong"} and confirms a public or private
// subscription with data "{}" (a string); Soketi answers with data {} (an
// object), confirms without a data key, always sends activity_timeout 30,
// and runs on uWebSockets.js; Pusher is known by its host name (its own
// shapes are unverified). A kind needs at least two points, and more than
// any other, to be named; otherwise it is "unknown".
type guess struct {
	points   map[string]int
	ruledOut map[string]bool
	evidence []string
}

func (g *guess) add(kind string, points int, why string) {
	if g.points == nil {
		g.points = map[string]int{}
	}
	g.points[kind] += points
	g.note(why)
}

// rule excludes a kind, whatever other clues say; why may be "" when an
// earlier note says it.
func (g *guess) rule(kind, why string) {
	if g.ruledOut == nil {
		g.ruledOut = map[string]bool{}
	}
	g.ruledOut[kind] = true
	g.note(why)
}

func (g *guess) note(why string) {
	if why != "" {
		g.evidence = append(g.evidence, why)
	}
}

func (g *guess) kind() string {
	best, bestPoints, tie := kindUnknown, 0, false
	for _, k := range []string{kindPusher, kindReverb, kindSoketi} {
		p := g.points[k]
		if g.ruledOut[k] || p == 0 {
			continue
		}
		switch {
		case p > bestPoints:
			best, bestPoints, tie = k, p, false
		case p == bestPoints:
			tie = true
		}
	}
	if tie || bestPoints < 2 {
		return kindUnknown
	}
	return best
}
