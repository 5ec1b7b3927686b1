// Command genrecording writes a deterministic, realistic recording of TMS
// chat events, as `tmsws listen -o` writes them: messages sent (with temp
// ids) by about twenty users over a few chats, typing on and off, messages
// read, and members joining and leaving the presence channels. The same
// flags always give the same bytes.
//
//	go run ./scripts/genrecording -n 400000 -o /tmp/rec.jsonl
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/amusoft/tmsws/internal/record"
)

var names = []string{
	"Alice", "Bob", "Carol", "Dilshod", "Eve", "Farrukh", "Gulnora", "Hasan", "Iroda", "Jasur",
	"Kamola", "Laylo", "Malika", "Nodir", "Oybek", "Pavel", "Rustam", "Sevara", "Timur", "Umida",
}

var phrases = []string{
	"Morning! Is the release still on for today?",
	"Yes, 16:00. QA signed off on build 4.2.1 🎉",
	"I'll post the changelog in #releases",
	"ok",
	"👍",
	"Can someone check why the push notifications are late on Android?",
	"The \"typing\" indicator flickers when I switch chats",
	"Meeting moved to 15:30, same room",
	"Привет! Документы отправил вчера, проверьте пожалуйста",
	"Salom, hisobotni ertaga yuboraman",
	"Lunch?",
	"Deploying to staging now, expect a few reconnects",
	"Here is the log:\nERROR 2026-11-26 09:16 websocket closed 1006",
	"Thanks!",
	"Does anyone have the Figma link for the new chat screen? The old one points to the archived project and I can't find the updated flows for attachments and voice messages.",
}

func main() {
	n := flag.Int("n", 400000, "number of records")
	out := flag.String("o", "-", "output file (- for stdout)")
	seed := flag.Uint64("seed", 42, "random seed")
	flag.Parse()
	if err := run(*n, *out, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "genrecording:", err)
		os.Exit(1)
	}
}

func run(n int, out string, seed uint64) error {
	var w io.Writer = os.Stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	rw := record.NewWriter(bw)
	if err := generate(rw, n, seed); err != nil {
		return err
	}
	if err := rw.Flush(); err != nil {
		return err
	}
	return bw.Flush()
}

// user is one chat participant; id i+1 has name names[i].
type user struct {
	id   int
	name string
}

func (u user) json() string {
	return `{"id":` + strconv.Itoa(u.id) + `,"name":` + string(record.AppendString(nil, u.name)) + `}`
}

func generate(w *record.Writer, n int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	chats := []int{42, 43, 44, 45}
	users := make([]user, len(names))
	for i, name := range names {
		users[i] = user{id: i + 1, name: name}
	}
	online := map[string]map[int]bool{} // presence channel → user ids in it
	ts := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	msgID := 1200
	var lastMsg = map[int][]int{} // chat → recent message ids
	socket := "48213.9930271"
	for i := 0; i < n; i++ {
		ts = ts.Add(time.Duration(20+rng.IntN(1500)) * time.Millisecond)
		chat := chats[rng.IntN(len(chats))]
		u := users[rng.IntN(len(users))]
		r := record.Record{TS: ts, Type: record.TypeEvent, SocketID: socket,
			Channel: "private-chat." + strconv.Itoa(chat)}
		switch p := rng.IntN(100); {
		case p < 40: // a message
			msgID++
			lastMsg[chat] = append(lastMsg[chat], msgID)
			if len(lastMsg[chat]) > 5 {
				lastMsg[chat] = lastMsg[chat][1:]
			}
			content := record.AppendString(nil, phrases[rng.IntN(len(phrases))])
			r.Event = `App\Events\MessageSent`
			r.Data = []byte(`{"message":{"id":` + strconv.Itoa(msgID) + `,"chat_id":` + strconv.Itoa(chat) +
				`,"user_id":` + strconv.Itoa(u.id) + `,"content":` + string(content) +
				`,"temp_id":"tmp-` + strconv.FormatInt(ts.Unix(), 10) + "-" + strconv.Itoa(u.id) +
				`","created_at":"` + ts.Format("2006-01-02T15:04:05.000000Z") + `","user":` + u.json() + `}}`)
		case p < 75: // typing on or off
			r.Event = `App\Events\UserIsTyping`
			r.Data = []byte(`{"chat_id":` + strconv.Itoa(chat) + `,"user":` + u.json() + `,"typing":` + strconv.FormatBool(rng.IntN(2) == 0) + `}`)
		case p < 95: // messages read
			ids := lastMsg[chat]
			if len(ids) == 0 {
				ids = []int{msgID}
			}
			b := []byte(`{"chat_id":` + strconv.Itoa(chat) + `,"user":` + u.json() + `,"message_ids":[`)
			for j, id := range ids[rng.IntN(len(ids)):] {
				if j > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendInt(b, int64(id), 10)
			}
			r.Event = `App\Events\MessagesRead`
			r.Data = append(b, "]}"...)
		default: // presence
			r.Channel = "presence-chat." + strconv.Itoa(chat)
			in := online[r.Channel]
			if in == nil {
				in = map[int]bool{}
				online[r.Channel] = in
			}
			r.UserID = strconv.Itoa(u.id)
			if in[u.id] {
				delete(in, u.id)
				r.Type = record.TypeMemberRemoved
			} else {
				in[u.id] = true
				r.Type = record.TypeMemberAdded
			}
			r.Data = []byte(`{"name":` + string(record.AppendString(nil, u.name)) + `}`)
		}
		if err := w.Write(&r); err != nil {
			return err
		}
	}
	return nil
}
