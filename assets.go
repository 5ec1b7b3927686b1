// Package tmsws holds the files embedded in the tmsws binary. The code is
// under cmd/ and internal/; see README.md.
package tmsws

import _ "embed"

// DemoRecording is the chat session `tmsws demo` plays: JSON records of a
// realistic TMS chat (messages with temp ids, typing on and off, read
// receipts, members joining and leaving).
//
//go:embed testdata/demo/chat-session.jsonl
var DemoRecording []byte
