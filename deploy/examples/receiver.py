#!/usr/bin/env python3
"""An example event receiver for a Switchboard app, written only from docs/api.md.

It answers the URL verification challenge, checks every event's signature and timestamp, skips
deliveries it has already handled (a retry keeps its delivery_id), and prints each event.

    APP_SECRET=... python3 deploy/examples/receiver.py --port 9000

Then, as an admin: PUT /v1/admin/apps/{id}/callback {"url": "https://your-host/hook"} (or an
http:// URL on this machine when the server runs with callbacks.allow_http and allow_private).
Only Python's standard library is used.
"""
import argparse
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = os.environ.get("APP_SECRET", "").encode()
MAX_SKEW_MS = 5 * 60 * 1000  # refuse replays of old deliveries
seen = set()


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ts = self.headers.get("X-Switchboard-Timestamp", "")
        sig = self.headers.get("X-Switchboard-Signature", "")
        want = "sha256=" + hmac.new(SECRET, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(sig, want):
            return self.answer(401, b"bad signature")
        if not ts.isdigit() or abs(time.time() * 1000 - int(ts)) > MAX_SKEW_MS:
            return self.answer(401, b"stale timestamp")
        event = json.loads(body)
        if event.get("type") == "url_verification":
            return self.answer(200, event["challenge"].encode())
        if event["delivery_id"] not in seen:
            seen.add(event["delivery_id"])
            print(json.dumps(event), flush=True)
        self.answer(200, b"")

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9000)
    args = p.parse_args()
    if not SECRET:
        sys.exit("set APP_SECRET")
    server = ThreadingHTTPServer((args.host, args.port), Hook)
    print(f"listening on http://{args.host}:{server.server_address[1]}/hook", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
