package format

import (
	"bytes"
	"fmt"
	"io"

	"github.com/amusoft/tmsws/internal/termsafe"
)

// maxReports is how many failing documents are reported one by one; the
// rest are counted.
const maxReports = 10

// Writer writes what a Formatter makes of each document to w. A document
// the expression fails on (.data.x of a string, say) is reported on errOut
// and skipped, and the stream goes on, as jq does; Err says at the end
// that some failed.
type Writer struct {
	// Noun is what a document is called in the reports: "record" (the
	// default), "channel".
	Noun   string
	f      *Formatter
	w      io.Writer
	errOut io.Writer
	buf    []byte
	docs   int // documents seen
	failed int
}

// NewWriter returns a Writer of f's output on w, reporting failures on
// errOut.
func NewWriter(f *Formatter, w, errOut io.Writer) *Writer {
	return &Writer{Noun: "record", f: f, w: w, errOut: errOut}
}

// Write formats doc (one JSON value; a trailing newline is ignored) and
// writes the result. Its error is w's: a failing expression is not one.
func (w *Writer) Write(doc []byte) error {
	out, err := w.f.Append(w.buf[:0], bytes.TrimSuffix(doc, []byte("\n")))
	w.buf = out
	return w.WriteFormatted(out, err)
}

// WriteFormatted writes what the Formatter made of the next document,
// formatted elsewhere (replay formats on several goroutines and writes in
// order): out, and err when the expression failed on it.
func (w *Writer) WriteFormatted(out []byte, err error) error {
	w.docs++
	if err != nil {
		w.failed++
		switch {
		case w.failed <= maxReports:
			fmt.Fprintf(w.errOut, "tmsws: %s (%s %d, skipped)\n", termsafe.Clip(err.Error(), 500), w.Noun, w.docs)
		case w.failed == maxReports+1:
			fmt.Fprintf(w.errOut, "tmsws: --%s fails on more %ss; only the first %d are shown\n", w.flag(), w.Noun, maxReports)
		}
	}
	if len(out) == 0 {
		return nil
	}
	_, werr := w.w.Write(out)
	return werr
}

// Err is a *FailedError when the expression failed on some documents.
func (w *Writer) Err() error {
	if w.failed == 0 {
		return nil
	}
	return &FailedError{Flag: "--" + w.flag(), Noun: w.Noun, Failed: w.failed, Of: w.docs}
}

func (w *Writer) flag() string {
	if w.f.tpl != nil {
		return "template"
	}
	return "jq"
}

// FailedError says that the expression failed on some documents (each was
// reported and skipped): exit 1.
type FailedError struct {
	Flag, Noun string
	Failed, Of int
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("%s failed on %d of %d %ss (reported above)", e.Flag, e.Failed, e.Of, e.Noun)
}
