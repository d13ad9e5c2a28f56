#!/usr/bin/env python3
"""Event callback deliveries per second against a running switchboard (see bench/callbacks.sh)."""
import argparse, hashlib, hmac, http.client, json, subprocess, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--bin", required=True)
ap.add_argument("--members", type=int, default=4000)
args = ap.parse_args()

secrets, counts, bad = {}, {}, [0]
lock = threading.Lock()


class Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        app = self.path.rsplit("/", 1)[1]
        ts = self.headers.get("X-Switchboard-Timestamp", "")
        want = "sha256=" + hmac.new(secrets[app].encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        event = json.loads(body)
        out = b""
        if event["type"] == "url_verification":
            out = event["challenge"].encode()
        with lock:
            if not hmac.compare_digest(want, self.headers.get("X-Switchboard-Signature", "")):
                bad[0] += 1
            elif event["type"] != "url_verification":
                counts[app] = counts.get(app, 0) + 1
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a):
        pass


rx = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
rx.daemon_threads = True
threading.Thread(target=rx.serve_forever, daemon=True).start()
rx_port = rx.server_address[1]


def call(method, path, body=None, token=None, ctype="application/json"):
    c = http.client.HTTPConnection("127.0.0.1", args.port, timeout=120)
    headers = {"Content-Type": ctype}
    if token:
        headers["Authorization"] = "Bearer " + token
    c.request(method, path, body=body if isinstance(body, str) or body is None else json.dumps(body), headers=headers)
    r = c.getresponse()
    raw = r.read()
    return r.status, (json.loads(raw) if raw else None)


def run(n_apps, base):
    mobile = f"+86139{base:08d}"
    out = subprocess.run([args.bin, "org", "create", "--name", f"Bench {n_apps}", "--admin-name", "Admin",
                          "--admin-mobile", mobile, "--admin-password", "bench-admin"],
                         check=True, capture_output=True, text=True).stdout
    org = json.loads(out)["org"]
    st, login = call("POST", "/v1/auth/login", {"org": org, "mobile": mobile, "password": "bench-admin"})
    admin = login["token"]
    apps = []
    for k in range(n_apps):
        st, app = call("POST", "/v1/admin/apps", {"name": f"Sync {k}", "scopes": ["events", "contacts:read"]}, admin)
        assert st == 201, app
        secrets[app["app"]] = app["secret"]
        st, r = call("PUT", f"/v1/admin/apps/{app['app']}/callback",
                     {"url": f"http://127.0.0.1:{rx_port}/hook/{app['app']}"}, admin)
        assert st == 200, r
        apps.append(app["app"])
    rows = ["name,mobile,title"] + [f"Member {base + i},+8615{base + i:09d},Staff" for i in range(args.members)]
    want = args.members * n_apps
    t0 = time.monotonic()
    st, r = call("POST", "/v1/admin/users/import", "\r\n".join(rows) + "\r\n", admin, "text/csv")
    assert st == 200 and r["created"] == args.members, r
    t_import = time.monotonic() - t0
    while sum(counts.get(a, 0) for a in apps) < want:
        time.sleep(0.01)
        assert time.monotonic() - t0 < 600, "deliveries stalled"
    wall = time.monotonic() - t0
    print(f"{n_apps} app(s): {want:,} events delivered in {wall:.2f} s = {want / wall:,.0f} deliveries/s "
          f"(the import that queued them took {t_import:.2f} s); bad signatures: {bad[0]}")


run(1, 1000000)
run(8, 2000000)
