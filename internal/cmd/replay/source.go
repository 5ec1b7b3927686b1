package replay

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/amusoft/tmsws/internal/bytesize"
	"github.com/amusoft/tmsws/internal/cmdutil"
	"github.com/amusoft/tmsws/internal/pusher"
)

// Reading recordings: every FILE argument (a path, or "-" for stdin) is read
// by a pump goroutine that undoes gzip when the data starts with gzip's
// magic bytes and hands the bytes over in chunks, so decompression runs
// beside the line processing, a blocked stdin never keeps ctx from ending
// the replay, and the output can be flushed whenever the input goes quiet
// (tail -f rec.jsonl | tmsws replay -). Lines are split from those chunks
// through one large bufio.Reader; a line longer than its buffer is
// assembled in a buffer of its own, so lines of any length work, and memory
// stays flat whatever the size of the files.

const (
	chunkSize  = 256 << 10 // bytes per chunk handed over by the pump
	chunkCount = 4         // chunks in flight per file
	lineBuffer = 1 << 20   // the line reader's buffer; longer lines are assembled
	peekBuffer = 64 << 10  // the pump's reader, for the gzip check
)

var gzipMagic = []byte{0x1f, 0x8b}

// errStop ends a scan early without an error (--count reached).
var errStop = errors.New("stop")

// displayName is how reports name a FILE argument: the path, or "stdin".
func displayName(arg string) string {
	if arg == "-" {
		return "stdin"
	}
	return arg
}

// checkFiles makes sure every FILE can be read before any output starts:
// each path exists and is not a directory, and stdin is named at most once.
func checkFiles(files []string) error {
	stdin := false
	for _, name := range files {
		if name == "-" {
			if stdin {
				return &cmdutil.UsageError{Msg: "- (stdin) given twice", Hint: "stdin can be read once: name it once among the files"}
			}
			stdin = true
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("open recording: %w", err)
		}
		st, err := f.Stat()
		f.Close()
		if err != nil {
			return fmt.Errorf("open recording: %w", err)
		}
		if st.IsDir() {
			return fmt.Errorf("open recording %s: is a directory; give the recording files in it, e.g. %s/*.jsonl", name, name)
		}
	}
	return nil
}

// lineFunc handles one non-blank line of a recording: src is the display
// name, n the 1-based line number, line the bytes without the newline
// (valid only during the call). A line longer than the limit comes as a
// nil line and a *LineTooLongError in bad, to be reported in its place.
// Returning errStop ends the scan with nil.
type lineFunc func(src string, n int, line []byte, bad error) error

// Scan reads recordings line by line as replay does, for other commands
// that read them (schema infer): "-" is stdin, gzip is read by its
// content, and fn gets each line (valid only during the call) with its
// source and number, or the reason it could not be read (a line longer
// than maxLine, 0 meaning DefaultMaxLine, is read past, never held).
// Memory stays flat whatever the size.
func Scan(ctx context.Context, files []string, stdin io.Reader, maxLine int64, fn func(src string, n int, line []byte, bad error) error) error {
	return scan(ctx, files, stdin, maxLine, nil, fn)
}

// LineTooLongError is a recording line longer than the line limit
// (--max-frame): it is skipped, read in pieces and never held whole.
type LineTooLongError struct{ Max int64 }

func (e *LineTooLongError) Error() string {
	return "line longer than " + bytesize.Format(e.Max) + " (--max-frame): skipped"
}

// DefaultMaxLine is the line limit when none is given: the frame limit of
// listen, since a recording line is a record of one frame.
const DefaultMaxLine = pusher.DefaultMaxFrame

// scan reads files in order (stdin for "-") and calls fn for every
// non-blank line; lines longer than maxLine bytes (0: DefaultMaxLine) are
// passed as errors. onIdle, when not nil, is called before waiting for more
// input, so the caller can flush what it has written so far. It returns
// ctx.Err() when ctx ends, and the first read or fn error.
func scan(ctx context.Context, files []string, stdin io.Reader, maxLine int64, onIdle func() error, fn lineFunc) error {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	lr := &lineReader{max: maxLine}
	for _, name := range files {
		err := scanOne(ctx, name, stdin, lr, onIdle, fn)
		if errors.Is(err, errStop) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func scanOne(ctx context.Context, name string, stdin io.Reader, lr *lineReader, onIdle func() error, fn lineFunc) error {
	var r io.Reader = stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("open recording: %w", err)
		}
		defer f.Close()
		r = f
	}
	idle := onIdle
	if isRegular(r) {
		idle = nil // a file is never waiting for more to be written
	}
	p := startPump(ctx, r)
	defer p.stop()
	src := displayName(name)
	var idleErr error // the caller's own error, not a read error
	if idle != nil {
		idle = func() error {
			idleErr = onIdle()
			return idleErr
		}
	}
	lr.reset(p.reader(ctx, idle))
	for {
		line, err := lr.next()
		if err == io.EOF {
			return nil
		}
		var long *LineTooLongError
		if errors.As(err, &long) {
			if err := fn(src, lr.n, nil, long); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			switch {
			case idleErr != nil:
				return idleErr
			case ctx.Err() != nil:
				return ctx.Err()
			}
			return fmt.Errorf("read %s: %w", src, err)
		}
		if isBlank(line) {
			continue
		}
		if err := fn(src, lr.n, line, nil); err != nil {
			return err
		}
	}
}

// isRegular reports whether r is a regular file, whose data is all there:
// waiting on it never means waiting for a writer.
func isRegular(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode().IsRegular()
}

func isBlank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// pump reads one input in a goroutine of its own.
type pump struct {
	chunks chan []byte
	free   chan []byte
	done   chan struct{}
	err    error // the read error, set before chunks is closed
}

func startPump(ctx context.Context, r io.Reader) *pump {
	p := &pump{
		chunks: make(chan []byte, chunkCount-1),
		free:   make(chan []byte, chunkCount),
		done:   make(chan struct{}),
	}
	go p.run(r)
	return p
}

func (p *pump) stop() { close(p.done) }

func (p *pump) run(r io.Reader) {
	defer close(p.chunks)
	br := bufio.NewReaderSize(r, peekBuffer)
	src := io.Reader(br)
	if magic, _ := br.Peek(len(gzipMagic)); bytes.Equal(magic, gzipMagic) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			p.err = fmt.Errorf("gzip: %w", err)
			return
		}
		defer zr.Close()
		src = zr
	}
	made := 0
	for {
		var b []byte
		select {
		case b = <-p.free:
		default:
			if made < chunkCount {
				b = make([]byte, chunkSize)
				made++
			} else {
				select {
				case b = <-p.free:
				case <-p.done:
					return
				}
			}
		}
		n, err := src.Read(b)
		if n > 0 {
			select {
			case p.chunks <- b[:n]:
			case <-p.done:
				return
			}
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) && src != io.Reader(br) {
				err = fmt.Errorf("%w: the gzip data is truncated", err)
			}
			p.err = err
			return
		}
	}
}

// reader returns the consumer's side of the pump.
func (p *pump) reader(ctx context.Context, onIdle func() error) *chunkReader {
	return &chunkReader{ctx: ctx, p: p, onIdle: onIdle}
}

// chunkReader is an io.Reader over the pump's chunks.
type chunkReader struct {
	ctx    context.Context
	p      *pump
	onIdle func() error
	buf    []byte // the chunk being read, returned to the pump when done
	cur    []byte // its unread part
}

func (c *chunkReader) Read(b []byte) (int, error) {
	for len(c.cur) == 0 {
		if c.buf != nil {
			c.p.free <- c.buf[:cap(c.buf)] // free has room for every chunk
			c.buf = nil
		}
		if err := c.ctx.Err(); err != nil {
			return 0, err
		}
		var chunk []byte
		var ok bool
		select {
		case chunk, ok = <-c.p.chunks:
		default:
			if c.onIdle != nil {
				if err := c.onIdle(); err != nil {
					return 0, err
				}
			}
			select {
			case chunk, ok = <-c.p.chunks:
			case <-c.ctx.Done():
				return 0, c.ctx.Err()
			}
		}
		if !ok {
			if c.p.err != nil {
				return 0, c.p.err
			}
			return 0, io.EOF
		}
		c.buf, c.cur = chunk, chunk
	}
	n := copy(b, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}

// lineReader splits lines up to max bytes long; a longer line is read
// through to its end without being kept, and reported.
type lineReader struct {
	br   *bufio.Reader
	long []byte // a line longer than br's buffer, joined
	n    int    // number of the last line returned
	max  int64
}

func (lr *lineReader) reset(r io.Reader) {
	if lr.max <= 0 {
		lr.max = DefaultMaxLine
	}
	if lr.br == nil {
		lr.br = bufio.NewReaderSize(r, lineBuffer)
	} else {
		lr.br.Reset(r)
	}
	lr.n = 0
}

// next returns the next line without its "\n" or "\r\n"; the slice is valid
// until the next call. At the end it returns io.EOF; a last line without a
// newline is still a line. A line longer than max bytes returns a
// *LineTooLongError once it has been read through.
func (lr *lineReader) next() ([]byte, error) {
	if cap(lr.long) > 4*lineBuffer {
		lr.long = nil // one huge line does not pin its memory for good
	}
	lr.long = lr.long[:0]
	var (
		pieces  [][]byte // the line's fragments before the last, copied
		size    int64    // bytes of the line so far, its ending included
		last    byte     // the last byte of the previous fragment
		tooLong bool     // reading through a line that will be skipped
	)
	for {
		frag, err := lr.br.ReadSlice('\n')
		size += int64(len(frag))
		if err == bufio.ErrBufferFull {
			// The last byte may be the "\r" of a "\r\n".
			if size-1 > lr.max {
				tooLong, pieces = true, nil
			}
			if !tooLong {
				pieces = append(pieces, bytes.Clone(frag))
			}
			last = frag[len(frag)-1]
			continue
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		if err == io.EOF && size == 0 {
			return nil, io.EOF
		}
		lr.n++
		content := size
		if n := len(frag); n > 0 && frag[n-1] == '\n' {
			content--
			if (n > 1 && frag[n-2] == '\r') || (n == 1 && last == '\r') {
				content--
			}
		}
		if tooLong || content > lr.max {
			return nil, &LineTooLongError{Max: lr.max}
		}
		line := frag
		if len(pieces) > 0 {
			// Joined once whole: a line that turns out too long costs
			// the limit, one within it twice its size.
			if int64(cap(lr.long)) < size {
				lr.long = make([]byte, 0, size)
			}
			for _, p := range pieces {
				lr.long = append(lr.long, p...)
			}
			lr.long = append(lr.long, frag...)
			line = lr.long
		}
		if n := len(line); n > 0 && line[n-1] == '\n' {
			line = line[:n-1]
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		return line, nil
	}
}
