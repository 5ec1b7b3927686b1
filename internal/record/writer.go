package record

import "io"

// flushAt is how many buffered bytes trigger a write. Writes always end on
// a line boundary, so a reader of the file never sees half a record.
const flushAt = 64 << 10

// Writer writes JSON lines through its own buffer, handing the underlying
// writer whole lines only.
type Writer struct {
	w   io.Writer
	buf []byte
}

// NewWriter returns a Writer over w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, buf: make([]byte, 0, flushAt+4096)}
}

// Write appends one record as a line.
func (w *Writer) Write(r *Record) error {
	w.buf = r.AppendJSON(w.buf)
	if len(w.buf) >= flushAt {
		return w.Flush()
	}
	return nil
}

// WriteLine appends a line that is already a JSON record; a missing
// newline is added.
func (w *Writer) WriteLine(line []byte) error {
	w.buf = append(w.buf, line...)
	if len(line) == 0 || line[len(line)-1] != '\n' {
		w.buf = append(w.buf, '\n')
	}
	if len(w.buf) >= flushAt {
		return w.Flush()
	}
	return nil
}

// Flush writes everything buffered.
func (w *Writer) Flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.w.Write(w.buf)
	w.buf = w.buf[:0]
	return err
}
