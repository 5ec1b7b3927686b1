//go:build race

package server

// Under -race every frame of a recursive parser is larger, so fewer levels
// of nesting overflow its stack (see TestHostileNesting), and every byte
// costs many times more to move.
func init() { hostileLevels = 5_000_000 }
