// Package schema implements `tmsws schema infer FILE...`: one JSON Schema
// per event name, inferred from recordings, the payload contract that
// --schema on listen, replay and subscribe checks.
package schema

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/cmd/replay"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/iostreams"
	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/schema"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// NewCmdSchema builds `tmsws schema`, the parent of infer.
func NewCmdSchema(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schema <command>",
		Short: "Payload contracts: infer a JSON Schema per event from recordings",
		Long: `Payload contracts catch the backend change before the app breaks: infer one
JSON Schema per event name from recordings with tmsws schema infer, keep the
file in the repository, and check live or recorded events against it with
--schema FILE on listen, replay and subscribe (subscribe --schema exits 6 on
any violation).`,
		Example: `  tmsws schema infer session.jsonl -o chat.schema.json
  tmsws subscribe -c private-chat.42 --expect MessageSent --schema chat.schema.json   # exit 6 on a violation`,
		Args: cmdutil.NoArgs, // a mistyped subcommand: exit 2 with a suggestion
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	cmd.AddCommand(NewCmdInfer(f, nil))
	return cmd
}

// InferOptions are the parsed flags of `tmsws schema infer`.
type InferOptions struct {
	IO     *iostreams.IO
	Files  []string // "-" is stdin
	Output string   // -o: the file to write; "" is stdout
}

// NewCmdInfer builds `tmsws schema infer`. runF replaces the behaviour in
// flag tests.
func NewCmdInfer(f *cmdutil.Factory, runF func(context.Context, *InferOptions) error) *cobra.Command {
	opts := &InferOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "infer FILE...",
		Short: "Infer one JSON Schema per event name from recordings",
		Long: `Read recordings of JSON records (what listen --json and -o write) and write
one JSON Schema (2020-12) per event name, under "$defs" keyed by the event
name as recorded (App\Events\MessageSent), to stdout or to -o FILE. FILE may
be - for stdin; several files are read in order; gzip-compressed files are
read as they are. Only event records count; member and connection records
are skipped.

From every sample of an event, for each field at any depth (to 32 levels):
its types ("integer" when every number was whole, a list such as
["string","null"] where null was seen); required: the fields present in every
sample; a format, date-time (RFC 3339) or uuid, when every value had it; an
enum for a small closed set: at least 10 values, at most 5 distinct ones,
each seen twice or more and at most 32 bytes long, for fields not named like
an id (id, *_id, *Id, *uuid) or a time (*_at); array items merged from every
element. Other fields are allowed (no additionalProperties), so a new field
keeps the contract and a renamed or retyped one breaks it. The output is
deterministic (keys sorted), so it diffs well in review; edit it freely: a
def may also be keyed by the short name (MessageSent).

A malformed line is reported on stderr as FILE:LINE: reason and skipped;
the schema is still written from the valid ones, and the exit status is then
1. -o is written atomically (mode 0644). A summary goes to stderr:
"schema: N events of M names → FILE".`,
		Example: `  tmsws schema infer session.jsonl -o chat.schema.json
  tmsws schema infer day1.jsonl day2.jsonl.gz > chat.schema.json
  tmsws listen -c private-chat.42 --duration 10m -o session.jsonl
  tmsws replay session.jsonl --schema chat.schema.json
  # in CI: exit 6 when an event breaks its contract
  tmsws subscribe -c private-chat.42 --expect MessageSent --schema chat.schema.json`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &cmdutil.UsageError{Msg: "no recording given", Hint: "name the recordings to infer from, e.g. tmsws schema infer session.jsonl -o chat.schema.json, or - for stdin"}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			opts.Files = args
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runInfer(c.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write the schema to `FILE` (atomically, mode 0644) instead of stdout")
	return cmd
}

// maxEventNames is how many event names a schema holds: a recording of
// millions of names (a mistake, or an attack) must not grow it without end.
const maxEventNames = 1000

// MalformedError says that lines of the recordings were malformed: each was
// reported on stderr and skipped, and the schema was written from the
// rest. It exits with 1.
type MalformedError struct{ Lines int }

func (e *MalformedError) Error() string {
	lines := "1 malformed line"
	if e.Lines != 1 {
		lines = strconv.Itoa(e.Lines) + " malformed lines"
	}
	return "schema infer: " + lines + " skipped (reported above); the schema comes from the valid ones"
}

func runInfer(ctx context.Context, opts *InferOptions) error {
	// The recordings are read as a stream, one line at a time, as replay
	// reads them: a 1 GB recording costs what its schema costs.
	rep := replay.NewReporter(opts.IO.ErrOut)
	in := schema.NewInferrer()
	events, names, tooMany := 0, map[string]bool{}, false
	err := replay.Scan(ctx, opts.Files, opts.IO.In, 0, func(src string, n int, line []byte, bad error) error {
		if bad != nil {
			rep.Report(src, n, bad)
			return nil
		}
		if err := record.Validate(line); err != nil {
			rep.Report(src, n, err)
			return nil
		}
		if typ := gjson.GetBytes(line, "type"); typ.Exists() && typ.String() != record.TypeEvent {
			return nil
		}
		r, err := record.Decode(line)
		if err != nil {
			rep.Report(src, n, err)
			return nil
		}
		if r.Type != record.TypeEvent {
			return nil
		}
		if !names[r.Event] {
			if len(names) >= maxEventNames {
				if !tooMany {
					tooMany = true
					fmt.Fprintf(opts.IO.ErrOut, "schema infer: more than %d event names: the others are left out (%s:%d has %s)\n", maxEventNames, termsafe.String(src), n, termsafe.Clip(r.Event, 100))
				}
				return nil
			}
			names[r.Event] = true
		}
		in.Add(r.Event, r.Data)
		events++
		return nil
	})
	if err != nil {
		return err
	}
	if events == 0 {
		if rep.Count() > 0 {
			return &MalformedError{Lines: rep.Count()}
		}
		return errors.New("schema infer: no event records in the recordings: nothing to infer from; record some with tmsws listen -c CHANNEL -o session.jsonl")
	}
	doc := in.Document()
	dest := "stdout"
	if opts.Output != "" {
		if err := writeAtomic(opts.Output, doc); err != nil {
			return err
		}
		dest = opts.Output
	} else if _, err := opts.IO.Out.Write(doc); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "schema: %d %s of %d %s → %s\n", events, plural(events, "event"), len(names), plural(len(names), "name"), termsafe.String(dest))
	if n := rep.Count(); n > 0 {
		return &MalformedError{Lines: n}
	}
	return nil
}

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}

// writeAtomic writes data to a temp file next to path and renames it over
// path, so a reader sees the old file or the new one, never a mix.
func writeAtomic(path string, data []byte) (err error) {
	fail := func(err error) error {
		return fmt.Errorf("write schema %s: %w", termsafe.String(path), err)
	}
	if st, serr := os.Stat(path); serr == nil && st.IsDir() {
		return fail(errors.New("is a directory; give a file name such as " + strings.TrimSuffix(path, "/") + "/chat.schema.json"))
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fail(err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o644); err != nil {
		return fail(err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fail(err)
	}
	if err = tmp.Sync(); err != nil {
		return fail(err)
	}
	if err = tmp.Close(); err != nil {
		return fail(err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fail(err)
	}
	return nil
}
