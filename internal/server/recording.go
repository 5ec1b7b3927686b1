package server

import "time"

// Item is one recorded record the server plays to subscribers of its
// channel: an event, or a presence member_added / member_removed.
type Item struct {
	Offset  time.Duration // since the start of the recording
	Type    string        // record.TypeEvent, record.TypeMemberAdded or record.TypeMemberRemoved
	Channel string
	Event   string // events only
	Data    []byte // raw JSON: event data, or the member's user_info
	UserID  string // members (and client events that carried one)
}

// Recording is what `replay --serve` and `demo` play: items in recording
// order, offsets measured from the first record.
type Recording struct {
	Items []Item
}
