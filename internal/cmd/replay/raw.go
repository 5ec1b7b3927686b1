package replay

import (
	"context"
	"runtime"
)

// The raw path: JSON output without --speed. Records pass through as the
// bytes they were read as, and nothing is decoded: each line is checked to
// be one JSON object and the filters run on the raw line with gjson.
//
// Checking and filtering are the work, and they are independent from line
// to line, so lines are gathered in batches of about batchBytes, checked by
// one worker goroutine per CPU, and written in order by the reading
// goroutine, which also keeps --count, the malformed line reports and the
// flushes: the output is exactly what checking the lines one by one would
// give. At most inflight batches exist at a time, so memory stays flat.

const batchBytes = 128 << 10

// batch is a run of lines of one file and, once checked, their verdicts.
type batch struct {
	src     string
	data    []byte   // the lines, back to back, without newlines
	ends    []int    // end of each line in data
	nums    []int    // line number of each line
	bad     []error  // per line: why it could not be read (too long), or nil
	verdict []uint8  // per line, set by check
	errs    []error  // per malformed line, in order
	fixed   [][]byte // per kept line with invalid UTF-8, in order: the line to write instead
	// With --jq or --template, per kept line in order: what the formatter
	// made of it (out[start of line i : outEnds[i]]) and its error.
	out     []byte
	outEnds []int
	outErrs []error
	done    chan struct{}
}

func (b *batch) reset(src string) {
	b.src = src
	b.data, b.ends, b.nums, b.bad = b.data[:0], b.ends[:0], b.nums[:0], b.bad[:0]
	b.verdict, b.errs, b.fixed = b.verdict[:0], b.errs[:0], b.fixed[:0]
	b.out, b.outEnds, b.outErrs = b.out[:0], b.outEnds[:0], b.outErrs[:0]
	b.done = make(chan struct{})
}

func (b *batch) add(n int, line []byte, bad error) {
	b.data = append(b.data, line...)
	b.ends = append(b.ends, len(b.data))
	b.nums = append(b.nums, n)
	b.bad = append(b.bad, bad)
}

func (b *batch) check(sel *selector) {
	start := 0
	for i, end := range b.ends {
		if b.bad[i] != nil {
			b.verdict = append(b.verdict, malformed)
			b.errs = append(b.errs, b.bad[i])
			start = end
			continue
		}
		v, fixed, err := sel.check(b.data[start:end])
		b.verdict = append(b.verdict, v)
		switch {
		case v == malformed:
			b.errs = append(b.errs, err)
		case fixed != nil:
			b.verdict[i] |= fixedLine
			b.fixed = append(b.fixed, fixed)
		}
		if sel.formatter != nil && (v == keep || v == keepCounted) {
			line := b.data[start:end]
			if fixed != nil {
				line = fixed
			}
			var ferr error
			b.out, ferr = sel.formatter.Append(b.out, line)
			b.outEnds = append(b.outEnds, len(b.out))
			b.outErrs = append(b.outErrs, ferr)
		}
		start = end
	}
	close(b.done)
}

// rawReplay is the state of one raw replay.
type rawReplay struct {
	sel  *selector
	out  *sink
	rep  *reporter
	work chan *batch
	free chan *batch
	// queue holds the submitted batches in order; cur is being filled.
	queue   []*batch
	cur     *batch
	stopped bool // --count reached: write nothing more
}

func replayRaw(ctx context.Context, opts *Options, sel *selector, out *sink, rep *reporter) error {
	workers := runtime.GOMAXPROCS(0)
	inflight := 2*workers + 1
	rr := &rawReplay{
		sel:  sel,
		out:  out,
		rep:  rep,
		work: make(chan *batch, inflight),
		free: make(chan *batch, inflight+1),
	}
	for range inflight + 1 {
		rr.free <- &batch{}
	}
	for range workers {
		go func() {
			for b := range rr.work {
				b.check(sel)
			}
		}()
	}
	defer close(rr.work)

	err := scan(ctx, opts.Files, opts.IO.In, opts.MaxLine, rr.idle, func(src string, n int, line []byte, bad error) error {
		if rr.cur != nil && (rr.cur.src != src || len(rr.cur.data) >= batchBytes) {
			if err := rr.submit(); err != nil {
				return err
			}
		}
		if rr.cur == nil {
			rr.cur = <-rr.free // submit left one free
			rr.cur.reset(src)
		}
		rr.cur.add(n, line, bad)
		return nil
	})
	if ctx.Err() != nil {
		return ctx.Err() // interrupted: batches still in flight are dropped
	}
	// A read error in a later file still lets everything read before it
	// come out.
	if derr := rr.drain(); err == nil {
		err = derr
	}
	return err
}

// submit hands the batch being filled to the workers, first writing the
// oldest batch in flight when there are too many.
func (rr *rawReplay) submit() error {
	if rr.cur == nil {
		return nil
	}
	if len(rr.queue) == cap(rr.work) {
		if err := rr.writeOldest(); err != nil {
			return err
		}
	}
	rr.work <- rr.cur // never blocks: at most cap(work) batches are queued
	rr.queue = append(rr.queue, rr.cur)
	rr.cur = nil
	return nil
}

// writeOldest waits for the oldest batch in flight and writes its lines.
func (rr *rawReplay) writeOldest() error {
	b := rr.queue[0]
	rr.queue = rr.queue[1:]
	<-b.done
	defer func() { rr.free <- b }()
	if rr.stopped {
		return errStop
	}
	start, nerr, nfix, nout, outStart := 0, 0, 0, 0, 0
	for i, end := range b.ends {
		v := b.verdict[i]
		line := b.data[start:end]
		if v&fixedLine != 0 {
			v &^= fixedLine
			line = b.fixed[nfix]
			nfix++
		}
		switch v {
		case keep, keepCounted:
			var f formatted
			if rr.sel.formatter != nil {
				f = formatted{out: b.out[outStart:b.outEnds[nout]], err: b.outErrs[nout]}
				outStart = b.outEnds[nout]
				nout++
			}
			if err := rr.out.writeLine(line, nil, f, v); err != nil {
				if err == errStop {
					rr.stopped = true
				}
				return err
			}
		case malformed:
			rr.rep.report(b.src, b.nums[i], b.errs[nerr])
			nerr++
		}
		start = end
	}
	return nil
}

// drain submits the batch being filled and writes every batch in flight.
func (rr *rawReplay) drain() error {
	if err := rr.submit(); err != nil {
		return err
	}
	for len(rr.queue) > 0 {
		if err := rr.writeOldest(); err != nil {
			if err == errStop {
				return nil
			}
			return err
		}
	}
	return nil
}

// idle runs when the input has nothing more for now (a pipe or terminal
// stdin, say): everything read so far is checked, written and flushed, so a
// live stream comes out as it goes.
func (rr *rawReplay) idle() error {
	if err := rr.drain(); err != nil {
		return err
	}
	if rr.stopped {
		return errStop
	}
	return rr.out.flush()
}
