package bytesize

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{
		"10000": 10000, "16MiB": 16 << 20, "16M": 16 << 20, "16mb": 16 << 20, " 512 KiB ": 512 << 10,
		"1.5M": 3 << 19, "1GiB": 1 << 30, "0": 0, "64b": 64,
	} {
		got, err := Parse(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "MiB", "-1", "abc", "1e400", "NaN", "16 TB", "9e18G"} {
		_, err := Parse(in)
		assert.Error(t, err, in)
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "16 MiB", Format(16<<20))
	assert.Equal(t, "10000 bytes", Format(10000))
	assert.Equal(t, "512 KiB", Format(512<<10))
	assert.Equal(t, "1 GiB", Format(1<<30))
	assert.Equal(t, "16MiB", FormatFlag(16<<20))
	assert.Equal(t, "10000", FormatFlag(10000))
	var n int64
	v := Value{N: &n}
	require.NoError(t, v.Set("2MiB"))
	assert.Equal(t, int64(2<<20), n)
	assert.Equal(t, "2MiB", v.String())
}
