#!/usr/bin/env python3
"""Import and directory-search figures against a running switchboard (see bench/admin.sh)."""
import argparse, http.client, json, random, statistics, subprocess, time, urllib.parse

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--bin", required=True)
ap.add_argument("--db", required=True)
args = ap.parse_args()

conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=120)


def call(method, path, body=None, token=None, ctype="application/json"):
    headers = {"Content-Type": ctype}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
    conn.request(method, path, body=data, headers=headers)
    r = conn.getresponse()
    raw = r.read()
    return r.status, (json.loads(raw) if raw else None)


def new_org(name, mobile):
    out = subprocess.run([args.bin, "org", "create", "--name", name, "--admin-name", "Admin",
                          "--admin-mobile", mobile, "--admin-password", "bench-admin"],
                         check=True, capture_output=True, text=True).stdout
    org = json.loads(out)["org"]
    st, r = call("POST", "/v1/auth/login", {"org": org, "mobile": mobile, "password": "bench-admin"})
    assert st == 200, r
    return org, r["token"]


first = ["Li", "Wang", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Anna", "Ben",
         "Carla", "David", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jon"]
depts = ["Sales/East", "Sales/West", "Sales/North", "Engineering/Platform", "Engineering/Apps",
         "Support/Tier1", "Support/Tier2", "Finance", "People", "Operations/Logistics"]


def csv_rows(base, n):
    lines = ["name,mobile,department,title"]
    for i in range(n):
        k = base + i
        lines.append(f"{random.choice(first)} {k:06d},+8615{k:09d},{depts[k % len(depts)]},Staff")
    return "\r\n".join(lines) + "\r\n"


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


random.seed(7)
# --- Import: 10,000 rows into an empty organization, three times -----------------------------
times = []
for run in range(3):
    org, token = new_org(f"Import {run}", f"+861390000000{run}")
    body = csv_rows(run * 10000, 10000)
    t0 = time.perf_counter()
    st, r = call("POST", "/v1/admin/users/import", body, token, "text/csv")
    times.append(time.perf_counter() - t0)
    assert st == 200 and r["created"] == 10000 and r["failed"] == 0, (st, r and {k: r[k] for k in r if k != "results"})
print(json.dumps({"bench": "import_10k_csv", "bytes": len(body), "runs_s": [round(t, 3) for t in times],
                  "median_s": round(statistics.median(times), 3),
                  "rows_per_s": round(10000 / statistics.median(times))}))

# Updating the same 10,000 again (every row an update).
t0 = time.perf_counter()
st, r = call("POST", "/v1/admin/users/import", body, token, "text/csv")
t_upd = time.perf_counter() - t0
assert st == 200 and r["updated"] == 10000, r
print(json.dumps({"bench": "import_10k_csv_updates", "s": round(t_upd, 3)}))

# --- Directory: an organization of 100,000 members -------------------------------------------
org, admin = new_org("Directory", "+8613900009999")
t0 = time.perf_counter()
for chunk in range(10):
    st, r = call("POST", "/v1/admin/users/import", csv_rows(1000000 + chunk * 10000, 10000), admin, "text/csv")
    assert st == 200 and r["created"] == 10000, r
seed_s = time.perf_counter() - t0
subprocess.run(["psql", "-qX", args.db, "-c", "VACUUM ANALYZE users", "-c", "VACUUM ANALYZE user_departments"],
               check=True)
# A member to search as (given a password through the admin API).
st, page = call("GET", "/v1/directory/users?q=%2B8615001000123", token=admin)
member = page["items"][0]
st, _ = call("PATCH", "/v1/admin/users/" + member["user"], {"password": "member-password"}, admin)
st, r = call("POST", "/v1/auth/login", {"org": org, "mobile": member["mobile"], "password": "member-password"})
mtoken = r["token"]


def timed(paths, token, n=300):
    lat = []
    for i in range(n):
        p = paths[i % len(paths)]
        t0 = time.perf_counter()
        st, r = call("GET", p, token=token)
        lat.append((time.perf_counter() - t0) * 1000)
        assert st == 200, (st, r)
    return {"p50_ms": round(pct(lat, 50), 2), "p95_ms": round(pct(lat, 95), 2), "p99_ms": round(pct(lat, 99), 2)}


def prefix_paths(k):
    return ["/v1/directory/users?limit=50&q=" + urllib.parse.quote(random.choice(first)[:k]) for _ in range(50)]


mobile_paths = ["/v1/directory/users?limit=50&q=%2B86150010" + f"{random.randint(0, 9999):04d}" for _ in range(50)]
results = {}
for mode in ["all", "department"]:
    call("PUT", "/v1/admin/policy", {"directory_visibility": mode}, admin)
    time.sleep(0.1)
    results[mode] = {
        "name_prefix_2": timed(prefix_paths(2), mtoken),
        "name_prefix_full_word": timed(prefix_paths(10), mtoken),
        "mobile_prefix": timed(mobile_paths, mtoken),
        "first_page_no_q": timed(["/v1/directory/users?limit=50"], mtoken),
    }
# A deep page: walk 20 pages of 50 with the cursor, timing each.
call("PUT", "/v1/admin/policy", {"directory_visibility": "all"}, admin)
lat, cursor = [], ""
for _ in range(20):
    t0 = time.perf_counter()
    st, r = call("GET", "/v1/directory/users?limit=50" + ("&cursor=" + cursor if cursor else ""), token=mtoken)
    lat.append((time.perf_counter() - t0) * 1000)
    cursor = r["next_cursor"]
results["all"]["cursor_walk_20_pages"] = {"p50_ms": round(pct(lat, 50), 2), "max_ms": round(max(lat), 2)}
print(json.dumps({"bench": "directory_100k", "members": 100001, "seed_import_s": round(seed_s, 1),
                  "results": results}, indent=1))

# The plan of a name-prefix search as the server runs it (custom plan: the values inlined).
plan = subprocess.run(["psql", "-qXAt", args.db, "-c",
    "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT u.id, lower(u.name) FROM users u WHERE u.org_id = "
    f"{org} AND u.status <> 'removed' AND lower(u.name) COLLATE \"C\" LIKE 'zh%' "
    "ORDER BY lower(u.name) COLLATE \"C\", u.id LIMIT 51"], check=True, capture_output=True, text=True).stdout
print("plan (name prefix 'zh', visibility all):\n" + plan)
plan = subprocess.run(["psql", "-qXAt", args.db, "-c",
    "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT u.id FROM users u WHERE u.org_id = "
    f"{org} AND u.status <> 'removed' AND u.mobile COLLATE \"C\" LIKE '+86150010012%' "
    "ORDER BY lower(u.name) COLLATE \"C\", u.id LIMIT 51"], check=True, capture_output=True, text=True).stdout
print("plan (mobile prefix):\n" + plan)
