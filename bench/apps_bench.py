#!/usr/bin/env python3
"""POST /v1/app/messages throughput against a running switchboard (see bench/apps.sh)."""
import argparse, http.client, json, os, statistics, subprocess, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--bin", required=True)
ap.add_argument("--work", required=True)
ap.add_argument("--users", type=int, default=1000)
ap.add_argument("--seconds", type=float, default=10)
ap.add_argument("--clients", type=int, default=8)
args = ap.parse_args()


def call(conn, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    r = conn.getresponse()
    raw = r.read()
    return r.status, (json.loads(raw) if raw else None)


conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
mobile = "+8613900000001"
out = subprocess.run([args.bin, "org", "create", "--name", "Bench", "--admin-name", "Admin",
                      "--admin-mobile", mobile, "--admin-password", "bench-admin"],
                     check=True, capture_output=True, text=True).stdout
org = json.loads(out)["org"]
subprocess.run([args.bin, "org", "seed", "--org", org, "--count", str(args.users), "--first-mobile",
                "+8615000000000", "--tokens-out", args.work + "/tokens.txt"], check=True, capture_output=True)
users = [line.split()[0] for line in open(args.work + "/tokens.txt")]
st, login = call(conn, "POST", "/v1/auth/login", {"org": org, "mobile": mobile, "password": "bench-admin"})
admin = login["token"]
st, app = call(conn, "POST", "/v1/admin/apps", {"name": "Bench", "scopes": ["messages:send"]}, admin)
assert st == 201, app
st, tok = call(conn, "POST", "/v1/app/token", {"app_id": app["app"], "secret": app["secret"]})
token = tok["access_token"]

# Open every direct conversation once (not measured).
for i in range(0, len(users), 100):
    st, r = call(conn, "POST", "/v1/app/messages", {"to_users": users[i:i + 100], "client_msg_id": "warm",
                                                     "type": "text", "body": {"text": "hello"}}, token)
    assert st == 200, r


def wal_syncs():
    """PostgreSQL's WAL flushes so far (pg_stat_wal): each is a commit waiting for the disk."""
    return int(subprocess.run(["psql", os.environ["SB_TEST_DATABASE_URL"], "-tAc", "SELECT wal_sync FROM pg_stat_wal"],
                              check=True, capture_output=True, text=True).stdout.strip())


def run(per_call, label):
    syncs_before = wal_syncs()
    stop = time.monotonic() + args.seconds
    counts, lat = [0] * args.clients, []
    lock = threading.Lock()

    def worker(k):
        c = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
        n = 0
        while time.monotonic() < stop:
            start = (k * 7919 + n * per_call) % len(users)
            to = [users[(start + j) % len(users)] for j in range(per_call)]
            t0 = time.monotonic()
            st, r = call(c, "POST", "/v1/app/messages", {"to_users": sorted(set(to)), "client_msg_id": f"{label}-{k}-{n}",
                                                         "type": "text", "body": {"text": "build passed"}}, token)
            assert st == 200, r
            with lock:
                lat.append((time.monotonic() - t0) * 1000)
            counts[k] += len(r["results"])
            n += 1

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(args.clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = time.monotonic() - t0
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    print(f"{label}: {len(lat) / wall:,.0f} calls/s, {sum(counts) / wall:,.0f} messages/s stored and acked "
          f"({args.clients} clients, {per_call} recipient(s) per call); call p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms; "
          f"{(wal_syncs() - syncs_before) / len(lat):.1f} WAL flushes per call")


run(1, "one recipient per call")
run(100, "100 recipients per call")
