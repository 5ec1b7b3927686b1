package format

import (
	"os"
	"strings"
	"testing"

	"github.com/itchyny/gojq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNeedleOf(t *testing.T) {
	t.Parallel()
	for expr, want := range map[string]string{
		`select(.event == "App\\Events\\MessageSent")`:                                                        `"App\\Events\\MessageSent"`,
		`select(.event == "App\\Events\\MessageSent" and .data.message.user_id == 8) | .data.message.content`: `"App\\Events\\MessageSent"`,
		`select("member_added" == .type) | .user_id`:                                                          `"member_added"`,
		`select(.type == "event" and .x == 1 and .y == 2) | .a | .b`:                                          `"event"`,
		`select((.channel == "private-chat.42") and .x) | .y`:                                                 `"private-chat.42"`,
		`select(.event == "say \"hi\" ✓")`:                                                                    `"say \"hi\" ✓"`,
		// No rule: the comparison is not first, can fail, or is not a plain string.
		`select(.x == 1 and .event == "E")`: "",
		`select(.event == "E" or .x)`:       "",
		`select(.data.kind == "E")`:         "", // .data.kind fails on a string data: jq reports it
		`select(.event? == "E")`:            "",
		`select(.event == "E\(.x)")`:        "",
		`select(.event == "tab\there")`:     "", // \t has no single spelling
		`.x | select(.event == "E")`:        "",
		`select(.event == "E"), .x`:         "",
		`def f: .; select(.event == "E")`:   "",
		`. as $r | select(.event == "E")`:   "",
		`select(.event == "E")?`:            "",
		`select(.event != "E")`:             "",
		`.event`:                            "",
		`[select(.event == "E")]`:           "",
	} {
		q, err := gojq.Parse(expr)
		require.NoError(t, err, expr)
		assert.Equal(t, want, string(needleOf(q)), expr)
	}
}

// With or without the needle, the output and the errors are the same, on
// records that spell the name in every way JSON allows.
func TestNeedleNeverChangesTheAnswer(t *testing.T) {
	t.Parallel()
	records, err := os.ReadFile("testdata/records.jsonl")
	require.NoError(t, err)
	docs := strings.Split(strings.TrimSpace(string(records)), "\n")
	docs = append(docs,
		`{"event":"App\u005cEvents\u005cMessageSent","data":{"message":{"user_id":8,"content":"escaped"}}}`,
		`{"event":"App\\Events\\MessageSent","data":"a string: .data.message fails"}`,
		`{"event":"App\\Events\\Other","data":"a string: no error, the select stops first"}`,
		`{"event":"a\/b","data":{"message":{"user_id":8,"content":"slash"}}}`,
		`{"event":"App\\Events\\MessageSent"}`,
		`[1,2]`,
		`"App\\Events\\MessageSent"`,
	)
	for _, expr := range []string{
		`select(.event == "App\\Events\\MessageSent" and .data.message.user_id == 8) | .data.message.content`,
		`select(.event == "a/b") | .data.message.content`,
		`select(.event == "App\\Events\\MessageSent") | .data.message`,
	} {
		with, err := Compile(expr, "", Options{})
		require.NoError(t, err)
		require.NotNil(t, with.needle, expr)
		without := *with
		without.needle = nil
		for _, doc := range docs {
			a, aerr := with.Append(nil, []byte(doc))
			b, berr := without.Append(nil, []byte(doc))
			assert.Equal(t, string(b), string(a), "%s on %s", expr, doc)
			assert.Equal(t, berr, aerr, "%s on %s", expr, doc)
		}
	}
}
