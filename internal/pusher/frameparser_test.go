package pusher

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/jsonsafe"
	"github.com/amusoft/tmsws/internal/record"
)

// parseFrameGJSON is ParseFrame as it was before the session reused its
// memory: gjson over a copy of the frame, new memory for every field. It is
// the reference the reusing parser must agree with, frame for frame.
func parseFrameGJSON(msg []byte) (Frame, error) {
	var f Frame
	switch jsonsafe.Valid(msg) {
	case nil:
	case jsonsafe.ErrTooDeep:
		return f, errMalformed(jsonsafe.ErrTooDeep.Error())
	default:
		return f, errMalformed("not valid JSON")
	}
	root := gjson.ParseBytes(msg)
	if !root.IsObject() {
		return f, errMalformed("not a JSON object")
	}
	var err error
	root.ForEach(func(key, value gjson.Result) bool {
		switch key.Str {
		case "event":
			f.Event = value.String()
		case "channel":
			f.Channel = value.String()
		case "data":
			f.Data, err = decodeDataGJSON(value)
		case "user_id":
			f.UserID = value.String()
		}
		return err == nil
	})
	if err != nil {
		return Frame{}, err
	}
	if f.Event == "" {
		return f, errMalformed(`no "event" field`)
	}
	return f, nil
}

func decodeDataGJSON(v gjson.Result) ([]byte, error) {
	if v.Type == gjson.String {
		s := v.Str
		switch jsonsafe.ValidString(s) {
		case nil:
			return jsonsafe.FixUTF8(compactLineGJSON([]byte(s))), nil
		case jsonsafe.ErrTooDeep:
			return nil, errMalformed("data: " + jsonsafe.ErrTooDeep.Error())
		}
		return record.AppendString(nil, s), nil
	}
	if v.Type == gjson.Null && v.Raw == "" {
		return nil, nil
	}
	return jsonsafe.FixUTF8(compactLineGJSON([]byte(v.Raw))), nil
}

func compactLineGJSON(b []byte) []byte {
	if bytes.IndexByte(b, '\n') < 0 && bytes.IndexByte(b, '\r') < 0 {
		return b
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return record.AppendString(nil, string(b))
	}
	return out.Bytes()
}

// parserFrames are frames beyond the fuzz seeds that walk every branch of
// the scan: escaped keys, duplicate keys, odd whitespace, values of every
// type for every field, surrogates.
var parserFrames = []string{
	` { "event" : "e" , "channel" : "c" , "data" : { "a" : [ 1 , "}" , { } ] } , "user_id" : "u" } `,
	"{\n\t\"event\":\"e\",\r\n\"data\":\"x\"\n}",
	`{"ev\u0065nt":"e","d\u0061ta":"{\"a\":1}"}`,
	`{"event":"a","event":"b","data":"1","data":"{\"x\":2}","channel":"c1","channel":"c2"}`,
	`{"event":"e","data":"{\"a\":1}","data":"too","extra":[{"event":"inner"}]}`,
	`{"event":12,"channel":1.50,"user_id":-3e2,"data":true}`,
	`{"event":true,"channel":false,"user_id":null,"data":false}`,
	`{"event":{"x":"y"},"channel":[1,2],"data":[]}`,
	`{"event":null,"data":"x"}`,
	`{"event":"","channel":"c"}`,
	`{"event":"e","data":"\ud83d\ude00 \ud83d \ude00 \ud83d\u0041 \u00e9\u20ac"}`,
	`{"event":"\ud83d\ude00\\\/\b\f\n\r\t\"","channel":"a\\b","user_id":"\u0000"}`,
	`{"event":"e","data":"\"quoted\""}`,
	`{"event":"e","data":"[1,\n2]"}`,
	`{"event":"e","data":"{\"a\":\n1"}`,
	`{"event":"e","data":{"a":` + "\n" + `1}}`,
	`{"event":"e","data":"  {\"a\":1}  "}`,
	`{"event":"e","data":"` + strings.Repeat(`\\`, 100) + `"}`,
	`{"event":"e","data":12.5e3}`,
	`{"event":"e","data":-0}`,
	`{"event":"e","data":"null"}`,
	`{"event":"e","channel":"` + strings.Repeat("c", 300) + `"}`,
	`{}`,
	`{"data":"x"}`,
	`{"event":"e"}x`,
	`{"event":"e",}`,
	`"event"`,
	`  `,
}

// checkSameAsGJSON fails when the reusing parser p (and ParseFrame)
// decode msg other than the reference does.
func checkSameAsGJSON(t *testing.T, p *frameParser, msg []byte) {
	t.Helper()
	want, wantErr := parseFrameGJSON(msg)
	for _, got := range []func() (Frame, error){
		func() (Frame, error) { return ParseFrame(msg) },
		func() (Frame, error) { return p.parse(msg) },
	} {
		f, err := got()
		if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
			t.Fatalf("error %v, want %v\nframe: %.300q", err, wantErr, msg)
		}
		if f.Event != want.Event || f.Channel != want.Channel || f.UserID != want.UserID ||
			!bytes.Equal(f.Data, want.Data) || (f.Data == nil) != (want.Data == nil) {
			t.Fatalf("decoded %+v\nwant    %+v\nframe: %.300q", f, want, msg)
		}
	}
}

func TestFrameParserAgreesWithGJSON(t *testing.T) {
	t.Parallel()
	p := newFrameParser()
	for _, s := range append(fuzzFrames(), parserFrames...) {
		checkSameAsGJSON(t, p, []byte(s))
	}
}

// FuzzFrameParser checks the reusing parser against the gjson reference on
// any frame, with one parser for the whole run (its scratch buffers and its
// intern table carry over from frame to frame, as in a session).
//
//	go test ./internal/pusher -run '^$' -fuzz '^FuzzFrameParser$' -fuzztime 30s
func FuzzFrameParser(f *testing.F) {
	for _, s := range append(fuzzFrames(), parserFrames...) {
		if seedWanted(s) {
			f.Add([]byte(s))
		}
	}
	p := newFrameParser()
	f.Fuzz(func(t *testing.T, msg []byte) {
		checkSameAsGJSON(t, p, msg)
	})
}

// TestFrameParserNamesOutliveTheFrame: the names of a frame are strings of
// their own, unchanged by the frames parsed after it and by the reuse of
// the frame's buffer; only Data is the parser's (and valid until the next
// parse).
func TestFrameParserNamesOutliveTheFrame(t *testing.T) {
	t.Parallel()
	p := newFrameParser()
	msg := []byte(`{"event":"App\\Events\\MessageSent","channel":"private-chat.42","data":"{\"a\":1}","user_id":"8"}`)
	first, err := p.parse(msg)
	require.NoError(t, err)
	assert.Equal(t, `{"a":1}`, string(first.Data))
	// The buffer is reused for another frame, as the reader does.
	copy(msg, bytes.Repeat([]byte("x"), len(msg)))
	n := copy(msg, `{"event":"client-typing","channel":"presence-room","data":{"b":22},"user_id":"9"}`)
	_, err = p.parse(msg[:n])
	require.NoError(t, err)
	assert.Equal(t, `App\Events\MessageSent`, first.Event)
	assert.Equal(t, "private-chat.42", first.Channel)
	assert.Equal(t, "8", first.UserID)

	// A name seen again is the same string, from the table.
	again, err := p.parse([]byte(`{"event":"App\\Events\\MessageSent","channel":"private-chat.42"}`))
	require.NoError(t, err)
	assert.Equal(t, first.Event, again.Event)
	assert.Equal(t, first.Channel, again.Channel)
}

// TestFrameParserBoundsItsNames: a server sending ever new names cannot
// grow the intern table past maxInterned, nor put a long name in it.
func TestFrameParserBoundsItsNames(t *testing.T) {
	t.Parallel()
	p := newFrameParser()
	for i := range 3 * maxInterned {
		f, err := p.parse([]byte(`{"event":"e` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + `","channel":"c` + strings.Repeat("y", i) + `"}`))
		require.NoError(t, err)
		require.Len(t, f.Channel, i+1)
		require.LessOrEqual(t, len(p.names), maxInterned)
	}
	for name := range p.names {
		assert.LessOrEqual(t, len(name), maxInternLen)
	}
}

// TestParseFrameOwnsItsData: what ParseFrame returns is the caller's, not
// shared with another call.
func TestParseFrameOwnsItsData(t *testing.T) {
	t.Parallel()
	a, err := ParseFrame([]byte(`{"event":"e","data":"{\"a\":1}"}`))
	require.NoError(t, err)
	b, err := ParseFrame([]byte(`{"event":"e","data":"{\"b\":2}"}`))
	require.NoError(t, err)
	assert.Equal(t, `{"a":1}`, string(a.Data))
	assert.Equal(t, `{"b":2}`, string(b.Data))
}

// TestFrameParserLetsGoOfLargeBuffers: a large frame's data does not stay
// in the parser for the rest of the connection.
func TestFrameParserLetsGoOfLargeBuffers(t *testing.T) {
	t.Parallel()
	p := newFrameParser()
	// One frame grows every buffer (a data key may come twice): data that
	// is no JSON (quoted into alt), data that spans lines (compacted into
	// cbuf), a channel name of escapes (unescaped into str).
	big := `{"event":"e","data":"` + strings.Repeat("x", keepBuffer+1) + `","data":"[` + strings.Repeat(`1,\n`, keepBuffer/2) + `1]","channel":"` + strings.Repeat(`\"`, keepBuffer+1) + `"}`
	f, err := p.parse([]byte(big))
	require.NoError(t, err)
	require.Greater(t, len(f.Data), keepBuffer/2)
	require.Greater(t, cap(p.alt), keepBuffer, "the test grows every buffer")
	require.Greater(t, cap(p.str), keepBuffer, "the test grows every buffer")
	require.Greater(t, p.cbuf.Cap(), keepBuffer, "the test grows every buffer")
	_, err = p.parse([]byte(`{"event":"e","data":"{}"}`))
	require.NoError(t, err)
	assert.LessOrEqual(t, cap(p.data), keepBuffer)
	assert.LessOrEqual(t, cap(p.alt), keepBuffer)
	assert.LessOrEqual(t, cap(p.str), keepBuffer)
	assert.LessOrEqual(t, p.cbuf.Cap(), keepBuffer)
}
