package render

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/amusoft/tmsws/internal/jsonscan"
)

// The TMS chat payloads are read tolerantly: each field is the first of
// several likely paths that is present, and an event whose payload matches
// none of them is shown as compact JSON instead.

// first returns the first of paths present in data with a value that is
// neither null nor the empty string.
func first(data string, paths ...string) (gjson.Result, bool) {
	for _, p := range paths {
		v := gjson.Get(data, p)
		if v.Exists() && v.Type != gjson.Null && (v.Type != gjson.String || v.Str != "") {
			return v, true
		}
	}
	return gjson.Result{}, false
}

func firstString(data string, paths ...string) string {
	if v, ok := first(data, paths...); ok && v.Type == gjson.String {
		return v.Str
	}
	return ""
}

func firstInt(data string, paths ...string) int64 {
	if v, ok := first(data, paths...); ok && v.Type == gjson.Number {
		return v.Int()
	}
	return 0
}

// appendStringValue appends the text of data, a JSON string literal.
func (p *Pretty) appendStringValue(b []byte, data string) []byte {
	if t := strings.TrimSpace(data); jsonscan.StringEnd(t, 0) == len(t) {
		return appendSafe(b, p.value(t).Str)
	}
	return appendSafe(b, gjson.Parse(data).Str)
}

// appendMessage renders MessageSent and its kin:
//
//	Alice: hi there (id 7, temp_id tmp-1)
//
// It needs the content; without it the caller falls back to JSON.
func (p *Pretty) appendMessage(b []byte, data string) ([]byte, bool) {
	f := scanMessage(data)
	content, ok := p.findMessage(&f, data, "message.content", "message.body", "message.text", "content")
	if !ok {
		return b, false
	}
	start := len(b)
	b = append(b, p.st.bold.pre...)
	if name, ok := p.findMessage(&f, data, "message.user.name", "user.name", "message.sender.name", "message.user_name"); ok {
		b = appendValue(b, name)
	} else if id, ok := p.findMessage(&f, data, "message.user_id"); ok {
		b = append(b, "user "...)
		b = appendValue(b, id)
	} else {
		b = b[:start]
	}
	if len(b) > start {
		b = append(b, p.st.bold.post...)
		b = append(b, ": "...)
	}
	b = appendValue(b, content)

	id, hasID := p.findMessage(&f, data, "message.id", "id")
	temp, hasTemp := p.findMessage(&f, data, "message.temp_id", "temp_id")
	if hasID || hasTemp {
		b = append(b, ' ')
		b = append(b, p.st.faint.pre...)
		b = append(b, '(')
		if hasID {
			b = append(b, "id "...)
			b = appendValue(b, id)
		}
		if hasTemp {
			if hasID {
				b = append(b, ", "...)
			}
			b = append(b, "temp_id "...)
			b = appendValue(b, temp)
		}
		b = append(b, ')')
		b = append(b, p.st.faint.post...)
	}
	return b, true
}

// appendWho appends who did it: a name, else "user ID" from the payload or
// from the frame's user_id (client events carry one). found is false when
// it had to say "someone".
func (p *Pretty) appendWho(b []byte, data, userID string) (_ []byte, found bool) {
	b = append(b, p.st.bold.pre...)
	if name, ok := p.find(data, "user.name", "user_name", "name"); ok {
		b = appendValue(b, name)
		found = true
	} else if id, ok := p.find(data, "user_id", "user.id"); ok {
		b = append(b, "user "...)
		b = appendValue(b, id)
		found = true
	} else if userID != "" {
		b = append(b, "user "...)
		b = appendSafe(b, userID)
		found = true
	} else {
		b = append(b, "someone"...)
	}
	return append(b, p.st.bold.post...), found
}

// appendTyping renders UserIsTyping and client-typing:
//
//	Alice is typing…
//	Alice stopped typing
//
// A missing typing flag means typing.
func (p *Pretty) appendTyping(b []byte, data, userID string) ([]byte, bool) {
	b, _ = p.appendWho(b, data, userID)
	if v, ok := p.find(data, "typing", "is_typing"); ok && !v.Bool() {
		return append(b, " stopped typing"...), true
	}
	return append(b, " is typing…"...), true
}

// appendRead renders MessagesRead:
//
//	Alice read 3, 4, 5
func (p *Pretty) appendRead(b []byte, data, userID string) ([]byte, bool) {
	ids, hasIDs := p.find(data, "message_ids", "ids", "message_id")
	start := len(b)
	b, found := p.appendWho(b, data, userID)
	if !found && !hasIDs {
		return b[:start], false
	}
	b = append(b, " read"...)
	if !hasIDs {
		return append(b, " messages"...), true
	}
	b = append(b, ' ')
	if ids.IsArray() {
		n := 0
		ids.ForEach(func(_, v gjson.Result) bool {
			if n > 0 {
				b = append(b, ", "...)
			}
			b = appendValue(b, v)
			n++
			return true
		})
		return b, true
	}
	return appendValue(b, ids), true
}

// maxMembersShown limits the names listed for a presence subscription.
const maxMembersShown = 10

// appendSubscribed shows who is there on a presence channel:
//
//	3 members: Alice, Bob, user 9
func (p *Pretty) appendSubscribed(b []byte, data string) []byte {
	if len(data) == 0 {
		return b
	}
	count := gjson.Get(data, "presence.count")
	if !count.Exists() {
		if isEmptyJSON(data) {
			return b
		}
		return appendCompactJSON(b, data)
	}
	n := count.Int()
	b = strconv.AppendInt(b, n, 10)
	if n == 1 {
		b = append(b, " member"...)
	} else {
		b = append(b, " members"...)
	}
	shown := 0
	gjson.Get(data, "presence.hash").ForEach(func(id, info gjson.Result) bool {
		if shown == maxMembersShown {
			b = append(b, ", …"...)
			return false
		}
		if shown == 0 {
			b = append(b, ": "...)
		} else {
			b = append(b, ", "...)
		}
		if name, ok := first(info.Raw, "name"); ok {
			b = appendValue(b, name)
		} else {
			b = append(b, "user "...)
			b = appendValue(b, id)
		}
		shown++
		return true
	})
	return b
}
