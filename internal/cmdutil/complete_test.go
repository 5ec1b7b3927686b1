package cmdutil

import (
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"

	"github.com/amusoft/tmsws/internal/config"
)

func TestCompleteKeys(t *testing.T) {
	t.Parallel()
	got, d := CompleteKeys(nil, nil, "")
	assert.Equal(t, config.Keys(), got)
	assert.Equal(t, cobra.ShellCompDirectiveNoFileComp, d)

	got, _ = CompleteKeys(nil, nil, "api")
	assert.Equal(t, []string{"api-url"}, got)

	got, d = CompleteKeys(nil, []string{"host"}, "")
	assert.Empty(t, got, "set KEY VALUE: no values offered")
	assert.Equal(t, cobra.ShellCompDirectiveNoFileComp, d)
}

func TestCompleteValues(t *testing.T) {
	t.Parallel()
	fn := CompleteValues(cobra.CompletionWithDesc("auto", "d"), "always", "never")
	got, d := fn(nil, nil, "a")
	assert.Equal(t, []string{"auto\td", "always"}, got)
	assert.Equal(t, cobra.ShellCompDirectiveNoFileComp, d)
	got, _ = CompleteNothing(nil, nil, "x")
	assert.Empty(t, got)
}
