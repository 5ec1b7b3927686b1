package iostreams

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// FakeTerminal is a Prompter for tests. Each prompt writes its label to the
// IO's ErrOut and takes the next answer; once the answers run out a prompt
// waits, like a user who types nothing, until its ctx is done, and then
// ends with ctx's error as the real terminal does.
type FakeTerminal struct {
	out io.Writer

	mu      sync.Mutex
	answers []string
	labels  []string
	waiting chan string
}

// FakeTerminal makes s a terminal session (InTTY) whose prompts take
// answers in order.
func (s *IO) FakeTerminal(answers ...string) *FakeTerminal {
	f := &FakeTerminal{out: s.ErrOut, answers: answers, waiting: make(chan string, 16)}
	s.Terminal = f
	s.InTTY = true
	return f
}

// Labels are the labels of the prompts asked so far.
func (f *FakeTerminal) Labels() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.labels...)
}

// Waiting receives the label of each prompt that has run out of answers
// and waits for its ctx.
func (f *FakeTerminal) Waiting() <-chan string { return f.waiting }

func (f *FakeTerminal) Prompt(ctx context.Context, label string, echo bool) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	f.mu.Lock()
	f.labels = append(f.labels, label)
	fmt.Fprint(f.out, label)
	if len(f.answers) > 0 {
		a := f.answers[0]
		f.answers = f.answers[1:]
		if !echo {
			fmt.Fprintln(f.out)
		}
		f.mu.Unlock()
		return a, nil
	}
	f.mu.Unlock()
	select {
	case f.waiting <- label:
	default:
	}
	<-ctx.Done()
	fmt.Fprintln(f.out)
	return "", ctx.Err()
}

func (f *FakeTerminal) Restore() {}
