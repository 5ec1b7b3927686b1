// Command tmsws listens to a Pusher-protocol WebSocket server the way a
// real app does. See README.md.
package main

import (
	"os"

	"github.com/amusoft/tmsws/internal/app"
)

func main() {
	os.Exit(app.Main())
}
