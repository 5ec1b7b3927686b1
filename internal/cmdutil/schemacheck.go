package cmdutil

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/english"
	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/schema"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// SchemaCheck is --schema FILE, the one way listen, replay and subscribe
// check payloads against their contract: each event record's data against
// its event's JSON Schema, violations marked on the record ("violations"
// in JSON, a red ✗ schema: line pretty), events without a schema let
// through with one note per name, and a count for the end of the run. It
// is safe for concurrent use (replay checks on several goroutines).
type SchemaCheck struct {
	set  *schema.Set
	path string
	log  *StatusLog

	mu      sync.Mutex
	noted   map[string]bool // event names without a schema, noted once
	checked int             // event records checked (with a schema)
	broken  int             // of them, with violations
}

// SchemaCheck loads --schema FILE for the run, or returns nil without the
// flag. A file that cannot be used is bad usage (exit 2). Notes go to log.
func (s *SelectFlags) SchemaCheck(log *StatusLog) (*SchemaCheck, error) {
	if s.Schema == "" {
		if s.reg.has(kindSchema) && s.reg.flags.Changed("schema") {
			return nil, &UsageError{Msg: "--schema needs a file", Hint: "e.g. --schema chat.schema.json, written by tmsws schema infer"}
		}
		return nil, nil
	}
	set, err := schema.Load(s.Schema)
	if err != nil {
		var le *schema.LoadError
		if errors.As(err, &le) {
			return nil, &UsageError{Msg: "--schema: " + le.Error(), Hint: le.Hint}
		}
		return nil, err
	}
	return &SchemaCheck{set: set, path: s.Schema, log: log, noted: map[string]bool{}}, nil
}

// Record checks an event record and sets its Violations (to nil when it
// keeps the contract). It reports whether the record broke it. Other
// records pass unchecked.
func (c *SchemaCheck) Record(r *record.Record) bool {
	if r.Type != record.TypeEvent {
		return false
	}
	v := c.check(r.Event, r.Data)
	r.Violations = v
	return len(v) > 0
}

// Line checks a raw record line (replay passes lines through byte for
// byte) and returns it with its violations added, and whether it broke the
// contract. A line that is not an event comes back as it is. A line that
// already carries "violations" (recorded with --schema) has them replaced.
func (c *SchemaCheck) Line(line []byte) ([]byte, bool) {
	typ := gjson.GetBytes(line, "type")
	if typ.Exists() && typ.String() != record.TypeEvent {
		return line, false
	}
	event := gjson.GetBytes(line, "event").String()
	var data []byte
	if d := gjson.GetBytes(line, "data"); d.Exists() {
		data = []byte(d.Raw)
	}
	v := c.check(event, data)
	if bytes.Contains(line, []byte(`"violations"`)) && gjson.GetBytes(line, "violations").Exists() {
		r, err := record.Decode(line)
		if err == nil {
			r.Violations = v
			return bytes.TrimSuffix(r.AppendJSON(nil), []byte("\n")), len(v) > 0
		}
	}
	if len(v) == 0 {
		return line, false
	}
	return record.AppendViolations(bytes.Clone(line), v), true
}

func (c *SchemaCheck) check(event string, data []byte) []string {
	v, known := c.set.Check(event, data)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !known {
		if !c.noted[event] {
			c.noted[event] = true
			c.log.Info("schema", "no schema for "+termsafe.Clip(event, 200)+" in "+c.path+": its events are not checked")
		}
		return nil
	}
	c.checked++
	if len(v) > 0 {
		c.broken++
	}
	return v
}

// Log is where the notes go.
func (c *SchemaCheck) Log() *StatusLog { return c.log }

// Checked is how many event records had a schema to be checked against.
func (c *SchemaCheck) Checked() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checked
}

// Broken is how many event records broke their contract so far.
func (c *SchemaCheck) Broken() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.broken
}

// Summary is the end-of-run line: "14 events checked against FILE, 2
// broke their contract".
func (c *SchemaCheck) Summary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := english.Count(c.checked, "event") + " checked against " + c.path
	if c.broken == 0 {
		return s + ", all kept their contract"
	}
	return fmt.Sprintf("%s, %d broke their contract", s, c.broken)
}

// Err is a *ContractError (exit 6) when some events broke their contract.
func (c *SchemaCheck) Err() error {
	if n := c.Broken(); n > 0 {
		return &ContractError{Msg: fmt.Sprintf("%s broke their contract (%s)", english.Count(n, "event"), c.path), Violations: n}
	}
	return nil
}
