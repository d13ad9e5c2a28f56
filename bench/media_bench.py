#!/usr/bin/env python3
"""Upload and download throughput of 50 MiB media, and the server's RSS meanwhile (bench/media.sh)."""
import argparse, http.client, json, os, statistics, subprocess, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--bin", required=True)
ap.add_argument("--pid", type=int, required=True)
ap.add_argument("--work", required=True)
ap.add_argument("--mib", type=int, default=50)
ap.add_argument("--runs", type=int, default=3)
args = ap.parse_args()
base = f"http://127.0.0.1:{args.port}"
size = args.mib * 1024 * 1024


def rss_kib():
    with open(f"/proc/{args.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Sampler:
    """Peak RSS while a phase runs."""
    def __enter__(self):
        self.peak, self.stop = rss_kib(), False
        self.t = threading.Thread(target=self.run)
        self.t.start()
        return self

    def run(self):
        while not self.stop:
            self.peak = max(self.peak, rss_kib())
            time.sleep(0.02)

    def __exit__(self, *a):
        self.stop = True
        self.t.join()


def token():
    mobile = "+8613900000001"
    out = subprocess.run([args.bin, "org", "create", "--name", "Bench", "--admin-name", "Admin",
                          "--admin-mobile", mobile, "--admin-password", "bench-admin"],
                         check=True, capture_output=True, text=True).stdout
    c = http.client.HTTPConnection("127.0.0.1", args.port)
    c.request("POST", "/v1/auth/login", json.dumps({"org": json.loads(out)["org"], "mobile": mobile,
                                                    "password": "bench-admin"}))
    return json.loads(c.getresponse().read())["token"]


tok = token()
auth = f"Authorization: Bearer {tok}"


def upload(path):
    # -T streams the file (curl sends Expect: 100-continue for it); -X POST as the route wants.
    out = subprocess.run(["curl", "-sS", "-X", "POST", "-T", path, "-H", auth, "-H",
                          "Content-Type: application/octet-stream", "-w", "\n%{http_code} %{time_total}",
                          base + "/v1/media"], check=True, capture_output=True, text=True).stdout
    body, tail = out.rsplit("\n", 1)
    code, secs = tail.split()
    assert code == "201", out
    return json.loads(body)["media_id"], float(secs)


def download(media_id):
    out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-H", auth, "-w", "%{http_code} %{size_download} %{time_total}",
                          f"{base}/v1/media/{media_id}"], check=True, capture_output=True, text=True).stdout
    code, got, secs = out.split()
    assert code == "200" and int(got) == size, out
    return float(secs)


files = []
for i in range(4):
    p = os.path.join(args.work, f"blob{i}.bin")
    with open(p, "wb") as f:
        f.write(os.urandom(size))
    files.append(p)

mib = size / 1048576
print(f"file: {args.mib} MiB of random bytes; server RSS at rest: {rss_kib() / 1024:.1f} MiB")
ids, up, down = [], [], []
with Sampler() as s_up:
    for i in range(args.runs):
        mid, secs = upload(files[i % len(files)])
        ids.append(mid)
        up.append(secs)
with Sampler() as s_down:
    for i in range(args.runs):
        down.append(download(ids[i]))
print(f"upload, one at a time:   {', '.join(f'{mib / s:.0f}' for s in up)} MiB/s "
      f"(median {mib / statistics.median(up):.0f} MiB/s); peak RSS {s_up.peak / 1024:.1f} MiB")
print(f"download, one at a time: {', '.join(f'{mib / s:.0f}' for s in down)} MiB/s "
      f"(median {mib / statistics.median(down):.0f} MiB/s); peak RSS {s_down.peak / 1024:.1f} MiB")

# Four at once.
def parallel(fn, items):
    res, ts = [None] * len(items), []
    t0 = time.monotonic()
    for i, it in enumerate(items):
        ts.append(threading.Thread(target=lambda i=i, it=it: res.__setitem__(i, fn(it))))
        ts[-1].start()
    for t in ts:
        t.join()
    return res, time.monotonic() - t0

with Sampler() as s4u:
    res, wall = parallel(upload, files)
with Sampler() as s4d:
    _, wall_d = parallel(download, [r[0] for r in res])
print(f"4 uploads at once:   {4 * mib / wall:.0f} MiB/s together ({wall:.2f} s); peak RSS {s4u.peak / 1024:.1f} MiB")
print(f"4 downloads at once: {4 * mib / wall_d:.0f} MiB/s together ({wall_d:.2f} s); peak RSS {s4d.peak / 1024:.1f} MiB")
print(f"server RSS after: {rss_kib() / 1024:.1f} MiB")
