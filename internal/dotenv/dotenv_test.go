package dotenv

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// secret is in the value of every error case: no error may quote it.
const secret = "s3cr3t"

type parseCase struct {
	name string
	in   string
	env  map[string]string
	want map[string]string // every variable the file defines
	// lines: the line of some of the variables
	lines map[string]int
	// errLine > 0: Parse fails at that line with a message holding errMsg
	errLine int
	errMsg  string
}

var parseCases = map[string][]parseCase{
	"lines": {
		{name: "NAME=value lines", in: "A=1\nB=two\n", want: map[string]string{"A": "1", "B": "two"},
			lines: map[string]int{"A": 1, "B": 2}},
		{name: "blank and comment lines are ignored", in: "\n# A=1\n  \t \n  # C=3\nB=2",
			want: map[string]string{"B": "2"}, lines: map[string]int{"B": 5}},
		{name: "export", in: "export A=1\nexport\tB=2\nexport   C = 3", want: map[string]string{"A": "1", "B": "2", "C": "3"}},
		{name: "export is also a name", in: "export=1\nexportA=2", want: map[string]string{"export": "1", "exportA": "2"}},
		{name: "whitespace around the name and = is trimmed", in: "  A \t=  1  \n\tB=\t2", want: map[string]string{"A": "1", "B": "2"}},
		{name: "names take _ . and digits", in: "_A.b9=x\nAPP_URL=http://h", want: map[string]string{"_A.b9": "x", "APP_URL": "http://h"}},
		{name: "a quoted name", in: "\"A\"=1\n'B'=2", want: map[string]string{"A": "1", "B": "2"}},
		{name: "= in the value", in: "A=b=c\nB=\"x=y\"", want: map[string]string{"A": "b=c", "B": "x=y"}},
		{name: "the last definition wins", in: "A=1\nB=x\nA=2", want: map[string]string{"A": "2", "B": "x"},
			lines: map[string]int{"A": 3}},
		{name: "a line without =", in: "A=1\n" + secret + "\n", errLine: 2, errMsg: "not a NAME=value line"},
		{name: "an empty name", in: "=" + secret, errLine: 1, errMsg: "not a NAME=value line"},
		{name: "a name starting with a digit", in: "\n1A=" + secret, errLine: 2, errMsg: "not a NAME=value line"},
		{name: "a name with -", in: "A-B=" + secret, errLine: 1, errMsg: "not a NAME=value line"},
		{name: "a name with a space", in: "A B=" + secret, errLine: 1, errMsg: "not a NAME=value line"},
		{name: "a secret before the =", in: "x" + secret + " y=1", errLine: 1, errMsg: "not a NAME=value line"},
		{name: "export without a name", in: "export  =" + secret, want: map[string]string{"export": secret}},
	},
	"unquoted": {
		{name: "trimmed", in: "A=  foo  \nB=\tbar", want: map[string]string{"A": "foo", "B": "bar"}},
		{name: "a space and # start a comment", in: "A=foo #comment\nB=bar\t# c", want: map[string]string{"A": "foo", "B": "bar"}},
		{name: "# starts a comment even without a space, as in phpdotenv", in: "A=foo#bar", want: map[string]string{"A": "foo"}},
		{name: "only a comment", in: "A=#x\nB= # x", want: map[string]string{"A": "", "B": ""}},
		{name: "quotes and backslashes inside are literal", in: `A=it's` + "\n" + `B=say"hi"` + "\n" + `C=a\nb`,
			want: map[string]string{"A": "it's", "B": `say"hi"`, "C": `a\nb`}},
		{name: "whitespace inside", in: "A=1\nB=" + secret + " bar", errLine: 2, errMsg: "holds whitespace"},
		{name: "a tab inside", in: "B=" + secret + "\tbar # c", errLine: 1, errMsg: "holds whitespace; put the value in double quotes"},
		{name: "interpolated", in: "B=x\nA=${B}/y", want: map[string]string{"A": "x/y", "B": "x"}},
	},
	"single quotes": {
		{name: "literal", in: `A='foo bar'` + "\n" + `B='a\nb ${A} $A "q" #c'`,
			want: map[string]string{"A": "foo bar", "B": `a\nb ${A} $A "q" #c`}},
		{name: "a comment after", in: "A='x' # c\nB='y'#c\nC='z'  ", want: map[string]string{"A": "x", "B": "y", "C": "z"}},
		{name: "multi-line", in: "A='line 1\n# line 2\nline 3'\nB=2", want: map[string]string{"A": "line 1\n# line 2\nline 3", "B": "2"},
			lines: map[string]int{"A": 1, "B": 4}},
		{name: "multi-line with CRLF", in: "A='a\r\nb'\r\nB=2", want: map[string]string{"A": "a\nb", "B": "2"},
			lines: map[string]int{"B": 3}},
		{name: "text after the closing quote", in: "A='" + secret + "' y", errLine: 1, errMsg: "text after its closing quote"},
		{name: "text after a multi-line value", in: "A='" + secret + "\n" + secret + "'y", errLine: 2, errMsg: "text after its closing quote"},
		{name: "no closing quote", in: "B=1\nA='" + secret + "\nC=2\n", errLine: 2, errMsg: "no closing ' quote"},
	},
	"double quotes": {
		{name: "spaces and #", in: `A="foo bar"` + "\n" + `B="a # b"`, want: map[string]string{"A": "foo bar", "B": "a # b"}},
		{name: "escapes", in: `A="q\" b\\ d\$ n\n r\r t\t f\f v\v"`, want: map[string]string{"A": "q\" b\\ d$ n\n r\r t\t f\f v\v"}},
		{name: "an escaped $ is not interpolated", in: "B=1\n" + `A="\${B}"`, want: map[string]string{"A": "${B}", "B": "1"}},
		{name: "a single quote inside", in: `A="it's"`, want: map[string]string{"A": "it's"}},
		{name: "a comment after", in: "A=\"x\" # c\nB=\"y\"#c\nC=\"z\"\t", want: map[string]string{"A": "x", "B": "y", "C": "z"}},
		{name: "multi-line", in: "A=\"-----BEGIN KEY-----\nabc\\n\n-----END KEY-----\"\nB=2",
			want: map[string]string{"A": "-----BEGIN KEY-----\nabc\n\n-----END KEY-----", "B": "2"}, lines: map[string]int{"A": 1, "B": 4}},
		{name: "an unknown escape", in: `A="` + secret + `\x"`, errLine: 1, errMsg: "unknown escape sequence"},
		{name: "an escaped single quote", in: "A=1\n" + `B="` + secret + `\'"`, errLine: 2, errMsg: "unknown escape sequence"},
		{name: "an escaped line break", in: "A=\"" + secret + "\\\nb\"", errLine: 1, errMsg: "unknown escape sequence"},
		{name: "text after the closing quote", in: `A="` + secret + `" y`, errLine: 1, errMsg: "text after its closing quote"},
		{name: "text right after the closing quote", in: `A="x"` + secret, errLine: 1, errMsg: "text after its closing quote"},
		{name: "text after a multi-line value", in: "A=\"" + secret + "\n\" " + secret, errLine: 2, errMsg: "text after its closing quote"},
		{name: "no closing quote", in: "A=\"" + secret + "\nB=1", errLine: 1, errMsg: `no closing " quote`},
		{name: "a backslash at the end of the file", in: "A=1\nB=\"" + secret + "\\", errLine: 2, errMsg: `no closing " quote`},
	},
	"interpolation": {
		{name: "an earlier definition", in: "B=1\nA=\"${B}\"", want: map[string]string{"A": "1", "B": "1"}},
		{name: "the environment wins", in: "B=1\nA=\"${B}\"", env: map[string]string{"B": "env"}, want: map[string]string{"A": "env", "B": "1"}},
		{name: "an empty environment value does not win", in: "B=1\nA=${B}", env: map[string]string{"B": ""}, want: map[string]string{"A": "1", "B": "1"}},
		{name: "only the environment", in: "A=${HOME}", env: map[string]string{"HOME": "/home/u"}, want: map[string]string{"A": "/home/u"}},
		{name: "undefined is empty", in: "A=\"x${B}y\"", want: map[string]string{"A": "xy"}},
		{name: "a later definition is not used", in: "A=${B}\nB=1", want: map[string]string{"A": "", "B": "1"}},
		{name: "the latest earlier definition", in: "B=1\nB=2\nA=${B}\nB=3", want: map[string]string{"A": "2", "B": "3"}},
		{name: "$NAME is kept", in: "B=1\nA=$B\nC=\"$B\"\nD=a$", want: map[string]string{"A": "$B", "B": "1", "C": "$B", "D": "a$"}},
		{name: "unterminated ${ is kept", in: "B=1\nA=${B\nC=\"${B\"\nD=${}\nE=\"${B C}\"\nF=${",
			want: map[string]string{"A": "${B", "B": "1", "C": "${B", "D": "${}", "E": "${B C}", "F": "${"}},
		{name: "several", in: "B=x\nC=y\nA=\"${B}-${C}:${B}\"", want: map[string]string{"A": "x-y:x", "B": "x", "C": "y"}},
		{name: "dots in the name", in: "B.C=1\nA=${B.C}", want: map[string]string{"A": "1", "B.C": "1"}},
		{name: "no second expansion", in: "B='${C}'\nC=1\nA=\"${B}\"", want: map[string]string{"A": "${C}", "B": "${C}", "C": "1"}},
		{name: "none in single quotes", in: "B=1\nA='${B}'", env: map[string]string{"B": "env"}, want: map[string]string{"A": "${B}", "B": "1"}},
		{name: "Laravel's VITE_ lines", in: "REVERB_HOST=\"localhost\"\nVITE_REVERB_HOST=\"${REVERB_HOST}\"",
			want: map[string]string{"REVERB_HOST": "localhost", "VITE_REVERB_HOST": "localhost"}},
	},
	"empty and null": {
		{name: "empty values", in: "A=\nB=\"\"\nC=''\nD=   \nE=\"\" # c", want: map[string]string{"A": "", "B": "", "C": "", "D": "", "E": ""}},
		{name: "null is a string", in: "A=null\nB=\"null\"", want: map[string]string{"A": "null", "B": "null"}},
	},
	"encoding": {
		{name: "CRLF", in: "A=1\r\nB=\"x\"\r\n\r\nC=3\r\n", want: map[string]string{"A": "1", "B": "x", "C": "3"},
			lines: map[string]int{"A": 1, "B": 2, "C": 4}},
		{name: "a lone CR ends a line, as in phpdotenv", in: "A=1\rB=2", want: map[string]string{"A": "1", "B": "2"},
			lines: map[string]int{"B": 2}},
		{name: "multi-line CRLF", in: "A=\"a\r\nb\"\r\nB=1", want: map[string]string{"A": "a\nb", "B": "1"}, lines: map[string]int{"B": 3}},
		{name: "a BOM", in: "\uFEFFA=1\r\nB=2", want: map[string]string{"A": "1", "B": "2"}},
		{name: "a BOM later is not skipped", in: "A=1\n\uFEFFB=" + secret, errLine: 2, errMsg: "not a NAME=value line"},
		{name: "UTF-8", in: "A=héllo\nB=\"日本\"", want: map[string]string{"A": "héllo", "B": "日本"}},
		{name: "invalid UTF-8 in a comment is ignored", in: "# \xff\nA=1 # \xfe", want: map[string]string{"A": "1"}},
		{name: "a NUL byte", in: "A=1\nB=" + secret + "\x00", errLine: 2, errMsg: "NUL byte or invalid UTF-8"},
		{name: "a NUL byte quoted", in: "B=\"" + secret + "\x00\"", errLine: 1, errMsg: "NUL byte"},
		{name: "invalid UTF-8", in: "B=" + secret + "\xff", errLine: 1, errMsg: "invalid UTF-8"},
		{name: "invalid UTF-8 quoted", in: "B='" + secret + "\xc3\x28'", errLine: 1, errMsg: "invalid UTF-8"},
		{name: "invalid UTF-8 from the environment", in: "B=${X}", env: map[string]string{"X": secret + "\xff"}, errLine: 1, errMsg: "invalid UTF-8"},
	},
}

func TestParse(t *testing.T) {
	t.Parallel()
	for rule, cases := range parseCases {
		for _, tt := range cases {
			t.Run(rule+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				var env func(string) string
				if tt.env != nil {
					env = func(name string) string { return tt.env[name] }
				}
				f, err := Parse("proj/.env", []byte(tt.in), env)
				if tt.errLine > 0 {
					var e *Error
					require.ErrorAs(t, err, &e)
					assert.Nil(t, f)
					assert.Equal(t, "proj/.env", e.Path)
					assert.Equal(t, tt.errLine, e.Line, e.Msg)
					assert.Contains(t, e.Msg, tt.errMsg)
					assert.NotContains(t, err.Error(), secret, "an error quotes the value")
					return
				}
				require.NoError(t, err)
				assert.Equal(t, "proj/.env", f.Path)
				got := map[string]string{}
				for name, v := range f.Vars {
					got[name] = v.Value
				}
				assert.Equal(t, tt.want, got)
				for name, line := range tt.lines {
					v, ok := f.Get(name)
					require.True(t, ok, name)
					assert.Equal(t, line, v.Line, name)
				}
			})
		}
	}
}

func TestGet(t *testing.T) {
	t.Parallel()
	f, err := Parse(".env", []byte("A=\nB=x"), nil)
	require.NoError(t, err)
	v, ok := f.Get("A")
	assert.True(t, ok, "A= defines A, empty")
	assert.Equal(t, Var{Value: "", Line: 1}, v)
	v, ok = f.Get("B")
	assert.True(t, ok)
	assert.Equal(t, Var{Value: "x", Line: 2}, v)
	v, ok = f.Get("C")
	assert.False(t, ok)
	assert.Equal(t, Var{}, v)
	var none *File
	_, ok = none.Get("A")
	assert.False(t, ok)
}

func TestErrorString(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "app/.env:3: what to fix", (&Error{Path: "app/.env", Line: 3, Msg: "what to fix"}).Error())
	assert.Equal(t, "app/.env: what to fix", (&Error{Path: "app/.env", Msg: "what to fix"}).Error())
	_, err := Parse("app/.env", []byte("A=1\nB"), nil)
	assert.EqualError(t, err, `app/.env:2: not a NAME=value line: it has no "="; write NAME=value, or start the line with # to make it a comment`)
	var e *Error
	assert.True(t, errors.As(err, &e))
}

// FuzzParse: Parse never panics; a parsed file's Lines are within the file,
// its names are valid and its values valid UTF-8 without NUL; an error is an
// *Error at a line of the file.
func FuzzParse(f *testing.F) {
	for _, cases := range parseCases {
		for _, tt := range cases {
			f.Add(tt.in)
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		env := func(name string) string {
			if name == "E" {
				return "from env"
			}
			return ""
		}
		lines := 1 + strings.Count(strings.ReplaceAll(in, "\r\n", "\n"), "\n") +
			strings.Count(strings.ReplaceAll(in, "\r\n", "\n"), "\r")
		file, err := Parse(".env", []byte(in), env)
		if err != nil {
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, ".env", e.Path)
			assert.True(t, e.Line >= 1 && e.Line <= lines, "error line %d of %d", e.Line, lines)
			return
		}
		for name, v := range file.Vars {
			assert.True(t, validName(name), "name %q", name)
			assert.True(t, v.Line >= 1 && v.Line <= lines, "%s: line %d of %d", name, v.Line, lines)
			assert.True(t, utf8.ValidString(v.Value), "%s: %q", name, v.Value)
			assert.NotContains(t, v.Value, "\x00", name)
		}
	})
}
