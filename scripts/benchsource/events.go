package main

import (
	"encoding/json"
	"strconv"
	"time"
)

// The event names, as Laravel broadcasts App\Events\* classes.
const (
	eventMessageSent  = `App\Events\MessageSent`
	eventUserIsTyping = `App\Events\UserIsTyping`
	eventMessagesRead = `App\Events\MessagesRead`
)

// mix is the fixed interleaving of every ten events: seven messages sent,
// two typing, one read receipt.
var mix = [10]string{
	eventMessageSent, eventUserIsTyping, eventMessageSent, eventMessageSent, eventMessagesRead,
	eventMessageSent, eventUserIsTyping, eventMessageSent, eventMessageSent, eventMessageSent,
}

var names = []string{
	"Alice", "Bob", "Carol", "Dilshod", "Eve", "Farrukh", "Gulnora", "Hasan", "Iroda", "Jasur",
	"Kamola", "Laylo", "Malika", "Nodir", "Oybek", "Pavel", "Rustam", "Sevara", "Timur", "Umida",
}

// phrases are message contents between 40 and 110 bytes, so that the
// MessageSent data stays near 300 bytes.
var phrases = []string{
	"Morning! Is the release still on for today, or did QA find something?",
	"Yes, 16:00. QA signed off on build 4.2.1 🎉 see you in the channel",
	"I'll post the changelog in #releases once the tag is pushed",
	"Can someone check why the push notifications are late on Android?",
	"The \"typing\" indicator flickers when I switch chats on the tablet",
	"Meeting moved to 15:30, same room, bring the retro notes please",
	"Привет! Документы отправил вчера, проверьте пожалуйста",
	"Salom, hisobotni ertaga yuboraman, hozir mijoz bilan uchrashuvdaman",
	"Lunch at the usual place? I can book a table for six at 13:00",
	"Deploying to staging now, expect a few reconnects over the next minutes",
	"Here is the log:\nERROR 2026-11-26 09:16 websocket closed 1006",
	"Thanks! That fixed it, the badge count is right again on my phone",
}

// base is the time of the first event; event i happens i*250 ms later.
var base = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

type user struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

type message struct {
	ID        int    `json:"id"`
	ChatID    int    `json:"chat_id"`
	UserID    int    `json:"user_id"`
	Content   string `json:"content"`
	TempID    string `json:"temp_id"`
	ReplyTo   *int   `json:"reply_to"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
	User      user   `json:"user"`
}

// eventData returns event i's name and its data, the JSON a Laravel
// broadcast event serializes to (before Pusher encodes it as a string).
func eventData(i int) (name string, data []byte) {
	name = mix[i%len(mix)]
	uid := 1 + (i*7)%len(names)
	u := user{ID: uid, Name: names[uid-1]}
	at := base.Add(time.Duration(i) * 250 * time.Millisecond).Format("2006-01-02T15:04:05.000000Z")
	var v any
	switch name {
	case eventMessageSent:
		v = struct {
			Message message `json:"message"`
		}{message{
			ID:        100000 + i,
			ChatID:    42,
			UserID:    uid,
			Content:   phrases[(i/3)%len(phrases)],
			TempID:    "tmp-" + strconv.FormatInt(base.Unix(), 10) + "-" + strconv.Itoa(i),
			CreatedAt: at,
			UpdatedAt: at,
			User:      u,
		}}
	case eventUserIsTyping:
		v = struct {
			ChatID int  `json:"chat_id"`
			User   user `json:"user"`
			Typing bool `json:"typing"`
		}{42, u, i%20 != 11}
	default:
		v = struct {
			ChatID     int    `json:"chat_id"`
			UserID     int    `json:"user_id"`
			MessageIDs []int  `json:"message_ids"`
			ReadAt     string `json:"read_at"`
		}{42, uid, []int{100000 + i - 3, 100000 + i - 2, 100000 + i - 1}, at}
	}
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs always marshal
	}
	return name, data
}

// pusherFrame is the Pusher message for an event: data double-encoded,
// as a JSON string, the way Pusher, Soketi and Reverb relay it.
func pusherFrame(event, channel string, data []byte) []byte {
	b := make([]byte, 0, len(data)+len(data)/8+len(event)+len(channel)+40)
	b = append(b, `{"event":`...)
	b = appendJSONString(b, event)
	b = append(b, `,"channel":`...)
	b = appendJSONString(b, channel)
	b = append(b, `,"data":`...)
	b = appendJSONString(b, string(data))
	return append(b, '}')
}

func appendJSONString(b []byte, s string) []byte {
	q, err := json.Marshal(s)
	if err != nil {
		panic(err) // a string always marshals
	}
	return append(b, q...)
}

// WebSocket opcodes the source writes (RFC 6455 §5.2).
const (
	opText  = 0x1
	opClose = 0x8
	opPong  = 0xA
)

// appendFrame appends one final, unmasked (server-to-client) WebSocket
// frame.
func appendFrame(b []byte, opcode byte, payload []byte) []byte {
	b = append(b, 0x80|opcode)
	switch n := len(payload); {
	case n < 126:
		b = append(b, byte(n))
	case n < 1<<16:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, payload...)
}

// framesPerChunk is how many event frames one write carries: about 200 KB,
// so a stream of 100,000 events costs a few hundred write calls.
const framesPerChunk = 512

// stream is every event frame, encoded before any client connects: the
// bytes as they go on the wire, and where each chunk of framesPerChunk
// frames ends.
type stream struct {
	wire   []byte
	chunks []int // end offsets in wire
}

func encodeStream(n int, channel string) stream {
	// Frames average about 350 bytes: one allocation, no regrowth copies.
	s := stream{wire: make([]byte, 0, n*400)}
	for i := range n {
		name, data := eventData(i)
		s.wire = appendFrame(s.wire, opText, pusherFrame(name, channel, data))
		if (i+1)%framesPerChunk == 0 || i == n-1 {
			s.chunks = append(s.chunks, len(s.wire))
		}
	}
	return s
}

// frames is how many frames chunk c carries.
func (s stream) frames(c, n int) int {
	if c == len(s.chunks)-1 && n%framesPerChunk != 0 {
		return n % framesPerChunk
	}
	return framesPerChunk
}
