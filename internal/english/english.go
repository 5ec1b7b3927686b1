// Package english words counts in messages: "1 reconnect attempt",
// "2 reconnect attempts".
package english

import "strconv"

// Count is n and the noun, with an s unless n is 1.
func Count(n int, noun string) string {
	return strconv.Itoa(n) + " " + Noun(n, noun)
}

// Noun is the noun, with an s unless n is 1 (for callers that format n
// themselves, with thousands separators say).
func Noun(n int, noun string) string {
	if n == 1 || n == -1 {
		return noun
	}
	return noun + "s"
}
