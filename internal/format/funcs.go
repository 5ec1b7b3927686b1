package format

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/itchyny/gojq"

	"github.com/amusoft/tmsws/internal/english"
	"github.com/amusoft/tmsws/internal/record"
	"github.com/amusoft/tmsws/internal/termsafe"
)

// The template helpers, as gh's: color, timeago, truncate and json, plus
// short (an event's name after the last backslash) and join.
func funcs(opts Options) template.FuncMap {
	return template.FuncMap{
		"color": func(style string, v any) (string, error) {
			return colorize(opts.Color, style, toText(v))
		},
		"timeago": func(v any) (string, error) {
			return timeago(opts.Now(), toText(v))
		},
		"truncate": func(n int, v any) string { return truncate(n, toText(v)) },
		"json": func(v any) (string, error) {
			b, err := gojq.Marshal(v)
			return string(b), err
		},
		"short": func(v any) string { return record.ShortEvent(toText(v)) },
		"join": func(sep string, v any) string {
			list, ok := v.([]any)
			if !ok {
				return toText(v)
			}
			parts := make([]string, len(list))
			for i, e := range list {
				parts[i] = toText(e)
			}
			return strings.Join(parts, sep)
		},
	}
}

// toText is how a value reads in text: strings as they are, numbers in
// their JSON text, null as "", anything else as compact JSON.
func toText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool, int, float64:
		return fmt.Sprint(x)
	}
	b, err := gojq.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// The SGR codes of color's styles.
var styles = map[string]string{
	"black": "30", "red": "31", "green": "32", "yellow": "33", "blue": "34", "magenta": "35", "cyan": "36", "white": "37",
	"gray": "90", "grey": "90",
	"bold": "1", "b": "1", "dim": "2", "d": "2", "italic": "3", "i": "3", "underline": "4", "u": "4",
}

// colorize wraps text in the SGR sequence of style ("red", "red+bold",
// "cyan+u") when on is set.
func colorize(on bool, style, text string) (string, error) {
	var codes []string
	for _, name := range strings.Split(style, "+") {
		c, ok := styles[strings.ToLower(strings.TrimSpace(name))]
		if !ok {
			return "", fmt.Errorf("color: unknown style %q: use black, red, green, yellow, blue, magenta, cyan, white, gray, bold, dim, italic or underline, joined with +", name)
		}
		codes = append(codes, c)
	}
	if !on || text == "" {
		return text, nil
	}
	return "\x1b[" + strings.Join(codes, ";") + "m" + text + "\x1b[0m", nil
}

// timeago says how long before now the RFC 3339 time ts was: "just now",
// "5 seconds ago", "3 minutes ago", "2 hours ago", "4 days ago"; a time in
// the future reads "in 5 seconds".
func timeago(now time.Time, ts string) (string, error) {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return "", fmt.Errorf("timeago: %s is not an RFC 3339 time", "\""+termsafe.Clip(ts, 40)+"\"")
	}
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Second:
		return "just now", nil
	case d < time.Minute:
		s = english.Count(int(d/time.Second), "second")
	case d < time.Hour:
		s = english.Count(int(d/time.Minute), "minute")
	case d < 24*time.Hour:
		s = english.Count(int(d/time.Hour), "hour")
	default:
		s = english.Count(int(d/(24*time.Hour)), "day")
	}
	if future {
		return "in " + s, nil
	}
	return s + " ago", nil
}

// truncate cuts text to at most n characters, the last being "…" when
// something was cut.
func truncate(n int, text string) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(text) <= n {
		return text
	}
	runes := []rune(text)
	return string(runes[:n-1]) + "…"
}
