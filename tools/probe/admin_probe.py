#!/usr/bin/env python3
"""Sends odd values (nulls, huge numbers, wrong types, NUL, emoji, long strings) to every field of
the organization-admin routes of a running switchboard and reports any 5xx answer. Usage:
    tools/probe/admin_probe.py PORT      (the server needs auth.signup_enabled = true)
Run it against an ASan build and check the server log for sanitizer reports afterwards."""
import http.client, json, sys
PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 18777
def call(m, p, body=None, tok=None, ctype="application/json"):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    h = {"Content-Type": ctype}
    if tok: h["Authorization"] = "Bearer " + tok
    data = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
    c.request(m, p, body=data, headers=h)
    r = c.getresponse(); raw = r.read(); c.close()
    return r.status, raw
st, raw = call("POST", "/v1/orgs", {"name": "P", "admin": {"name": "O", "mobile": "+8613800000001", "password": "password1"}})
d = json.loads(raw); tok = d["token"]; org = d["org"]
st, raw = call("POST", "/v1/admin/users", {"name": "M", "mobile": "+8613800000002", "password": "password2"}, tok)
uid = json.loads(raw)["user"]
weird = [None, True, -1, 0, 2**63, -2**63, 1.5, 1e308, "", "x"*5000, "😀", "\u0000", [], {}, ["1"], [1], {"a": 1}, "9999999999999999999", "-1", "0"]
bad = []
def probe(m, p, mk):
    for w in weird:
        body = mk(w)
        st, raw = call(m, p, body, tok)
        if st >= 500: bad.append((m, p, json.dumps(body)[:120], st, raw[:200]))
for key in ["name", "mobile", "title", "email", "avatar", "role", "password", "departments"]:
    probe("PATCH", "/v1/admin/users/" + uid, lambda w: {key: w})
    probe("PATCH", "/v1/me", lambda w: {key: w})
for key in ["reason", "until"]:
    probe("POST", f"/v1/admin/users/{uid}/suspend", lambda w: {"reason": "r", key: w})
    call("POST", f"/v1/admin/users/{uid}/restore", None, tok)
for key in ["features", "until"]:
    probe("POST", f"/v1/admin/users/{uid}/restrict", lambda w: {"features": [], key: w})
for key in ["directory_visibility", "visibility_rules", "retention_days", "recall_window_s", "min_client_version", "storage_quota_mb"]:
    probe("PUT", "/v1/admin/policy", lambda w: {key: w})
probe("PUT", "/v1/admin/policy", lambda w: {"visibility_rules": {"1": w}})
for key in ["title", "body"]:
    probe("POST", "/v1/admin/notices", lambda w: {"title": "t", "body": "b", key: w})
for key in ["mobile", "name", "title", "role", "departments"]:
    probe("POST", "/v1/admin/invitations", lambda w: {"mobile": "+8613800000099", "name": "n", key: w})
for key in ["org", "mobile", "purpose"]:
    probe("POST", "/v1/auth/code", lambda w: {"org": org, "mobile": "+8613800000002", key: w})
for key in ["code", "mobile", "sms_code", "password"]:
    probe("POST", "/v1/invitations/accept", lambda w: {"code": "c", "mobile": "+8613800000002", "sms_code": "1", key: w})
for key in ["org", "mobile", "code", "password"]:
    probe("POST", "/v1/auth/login", lambda w: {"org": org, "mobile": "+8613800000002", "code": "123456", key: w})
probe("POST", "/v1/admin/users/import", lambda w: [w, {"name": w, "mobile": "+8613800000077"}, {"name": "n", "mobile": "+8613800000078", "department": w}, {"name": "n", "mobile": "+8613800000079", "departments": w}])
for q in ["%", "%ff", "%00", "%zz", "a%", "\\", "'", "%E7%8E", "+", "0", "x"*200]:
    for path in ["/v1/directory/users?q=" + q, "/v1/directory/users?cursor=" + q, "/v1/directory/users?department=" + q, "/v1/directory/users?limit=" + q, "/v1/notices?cursor=" + q, "/v1/admin/audit?cursor=" + q, "/v1/admin/invitations?cursor=" + q]:
        st, raw = call("GET", path, None, tok)
        if st >= 500: bad.append(("GET", path, "", st, raw[:200]))
for body in ["name,mobile,department\n" + "a,+8613800000055," + "/".join(["x"]*40) + "\n", "name,mobile,department\na,+8613800000056," + "é"*300 + "\n", "name,mobile\n" + "\"\"\"\n", "\ufeffname,mobile\n"]:
    st, raw = call("POST", "/v1/admin/users/import", body.encode(), tok, "text/csv")
    if st >= 500: bad.append(("POST", "import csv", body[:60], st, raw[:200]))
print("probes done; 5xx:", len(bad))
for b in bad[:30]: print(b)
sys.exit(1 if bad else 0)
