// Package bytesize reads and writes the sizes of the limit flags
// (--max-frame 16MiB, --max-message-size 10000).
package bytesize

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// Units, binary: K, KiB and KB all mean 1024 bytes, as in curl's
// --max-filesize, so "16M" is the 16 MiB default.
const (
	KiB int64 = 1 << 10
	MiB int64 = 1 << 20
	GiB int64 = 1 << 30
)

var units = []struct {
	suffix string
	size   int64
}{
	{"kib", KiB}, {"mib", MiB}, {"gib", GiB},
	{"kb", KiB}, {"mb", MiB}, {"gb", GiB},
	{"k", KiB}, {"m", MiB}, {"g", GiB},
	{"b", 1},
}

// Parse reads a size: a number of bytes ("10000"), or a number with a unit
// K/KiB/KB, M/MiB/MB, G/GiB/GB (case-insensitive, all binary), such as
// "16MiB" or "1.5M".
func Parse(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.size
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || t == "" || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0, errors.New("not a size: use a number of bytes, or one with a unit such as 512KiB, 16MiB or 1GiB")
	}
	v := f * float64(mult)
	if v > math.MaxInt64/2 {
		return 0, errors.New("too large a size")
	}
	return int64(v), nil
}

// Format writes n the short way: "16 MiB", "512 KiB", "10000 bytes".
func Format(n int64) string {
	switch {
	case n >= GiB && n%GiB == 0:
		return strconv.FormatInt(n/GiB, 10) + " GiB"
	case n >= MiB && n%MiB == 0:
		return strconv.FormatInt(n/MiB, 10) + " MiB"
	case n >= KiB && n%KiB == 0:
		return strconv.FormatInt(n/KiB, 10) + " KiB"
	case n == 1:
		return "1 byte"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// Value is a pflag.Value holding a size in bytes.
type Value struct{ N *int64 }

func (v Value) String() string {
	if v.N == nil {
		return "0"
	}
	return FormatFlag(*v.N)
}

// Set parses s into the value.
func (v Value) Set(s string) error {
	n, err := Parse(s)
	if err != nil {
		return err
	}
	*v.N = n
	return nil
}

// Type names the value in the help.
func (Value) Type() string { return "size" }

// FormatFlag writes n as it would be typed: "16MiB", "10000".
func FormatFlag(n int64) string {
	return strings.ReplaceAll(strings.TrimSuffix(Format(n), " bytes"), " ", "")
}
