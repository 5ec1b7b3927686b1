package format

import "testing"

const benchRecord = `{"ts":"2026-11-26T09:16:52.300Z","type":"event","channel":"private-chat.42","event":"App\\Events\\MessageSent","data":{"message":{"id":1201,"chat_id":42,"user_id":8,"content":"Morning! Did the deploy go out?","temp_id":"tmp-1764148612-8","created_at":"2026-11-26T09:16:52.200000Z","user":{"id":8,"name":"Alice"}}},"socket_id":"123.456"}`

// BenchmarkJQ is --jq on one Laravel-shaped record: decoding the record is
// most of it.
func BenchmarkJQ(b *testing.B) {
	for _, expr := range []string{`.data.message.content`, `select(.event == "App\\Events\\MessageSent") | .data.message.user_id`} {
		b.Run(expr, func(b *testing.B) {
			f, err := Compile(expr, "", Options{})
			if err != nil {
				b.Fatal(err)
			}
			doc := []byte(benchRecord)
			var out []byte
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				if out, err = f.Append(out[:0], doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkTemplate(b *testing.B) {
	f, err := Compile("", `{{short .event}} {{.data.message.content}}`, Options{})
	if err != nil {
		b.Fatal(err)
	}
	doc := []byte(benchRecord)
	var out []byte
	b.ReportAllocs()
	for b.Loop() {
		if out, err = f.Append(out[:0], doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	doc := []byte(benchRecord)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decode(doc); err != nil {
			b.Fatal(err)
		}
	}
}
