#!/usr/bin/python3
"""websocket_listener.py: the Python peer of scripts/bench's live benchmark.

In the style of the mobile team's original websocket_listener.py: an asyncio
`websockets` client that connects to a Pusher server, signs its private
channel subscription itself with the app secret, and prints one coloured,
tagged line per event:

    \\033[32m[MessageSent]\\033[0m private-bench: {"message": {...}}

Only the standard library and `websockets` (Debian's python3-websockets
10.4). Settings come from the environment: BENCH_HOST BENCH_PORT BENCH_KEY
BENCH_SECRET BENCH_CHANNEL BENCH_N. It exits 0 after BENCH_N events, 1 on a
usage or subscription error, 2 after 120 s.
"""

import asyncio
import hashlib
import hmac
import json
import os
import sys

import websockets

TIMEOUT = 120

RESET = "\033[0m"
COLOURS = {
    "MessageSent": "\033[32m",  # green
    "UserIsTyping": "\033[33m",  # yellow
    "MessagesRead": "\033[36m",  # cyan
}
OTHER = "\033[35m"  # magenta


def env(name):
    value = os.environ.get(name, "")
    if not value:
        print(f"websocket_listener: {name} is not set", file=sys.stderr)
        sys.exit(1)
    return value


def sign(secret, socket_id, channel):
    digest = hmac.new(secret.encode(), f"{socket_id}:{channel}".encode(), hashlib.sha256)
    return digest.hexdigest()


async def listen(host, port, key, secret, channel, want):
    url = f"ws://{host}:{port}/app/{key}?protocol=7&client=python&version=1.0"
    received = 0
    async with websockets.connect(url, max_size=None) as ws:
        async for frame in ws:
            message = json.loads(frame)
            event = message.get("event", "")
            data = message.get("data")
            if isinstance(data, str):
                try:
                    data = json.loads(data)
                except ValueError:
                    pass

            if event == "pusher:connection_established":
                auth = f"{key}:{sign(secret, data['socket_id'], channel)}"
                await ws.send(json.dumps({"event": "pusher:subscribe", "data": {"auth": auth, "channel": channel}}))
            elif event == "pusher_internal:subscription_succeeded":
                print(f"subscribed to {channel}", file=sys.stderr)
            elif event in ("pusher:subscription_error", "pusher:error"):
                print(f"websocket_listener: {event}: {json.dumps(data)}", file=sys.stderr)
                return 1
            elif event == "pusher:ping":
                await ws.send(json.dumps({"event": "pusher:pong", "data": {}}))
            elif not event.startswith("pusher"):
                kind = event.rsplit("\\", 1)[-1]
                colour = COLOURS.get(kind, OTHER)
                print(f"{colour}[{kind}]{RESET} {message.get('channel', '')}: {json.dumps(data, ensure_ascii=False)}")
                received += 1
                if received == want:
                    return 0
    print(f"websocket_listener: the server closed the connection after {received} of {want} events", file=sys.stderr)
    return 1


def main():
    host, port, key = env("BENCH_HOST"), env("BENCH_PORT"), env("BENCH_KEY")
    secret, channel = env("BENCH_SECRET"), env("BENCH_CHANNEL")
    try:
        want = int(env("BENCH_N"))
    except ValueError:
        want = 0
    if want <= 0:
        print("websocket_listener: BENCH_N must be a positive number of events", file=sys.stderr)
        return 1
    try:
        return asyncio.run(asyncio.wait_for(listen(host, port, key, secret, channel, want), TIMEOUT))
    except asyncio.TimeoutError:
        print(f"websocket_listener: timed out after {TIMEOUT} s", file=sys.stderr)
        return 2
    except (OSError, websockets.exceptions.WebSocketException) as err:
        print(f"websocket_listener: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
