#!/usr/bin/env python3
# The "Data governance" block of BENCHMARKS.md from bench/governance-results.jsonl (bench/governance.sh).
#   bench/governance_report.py RESULTS REVISION
import json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from doc_block import replace_block  # noqa: E402
path, rev = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(path) if l.strip()]
rows = [r for r in rows if r.get("revision") == rev]
out = [f"`bench/governance.sh` at {rev}: one node, PostgreSQL with fsync on, this 2-core machine (server,",
       "PostgreSQL and load generator share it). The governed organization's messages are inserted in SQL:",
       "1,000 conversations of equal size, about 100 bytes of text each.", ""]
for r in rows:
    if r["part"] == "export":
        out += ["**Export** of an organization: "
                f"{r['messages']:,} messages in {r['seconds']:.1f} s = {r['messages'] / r['seconds']:,.0f} messages/s, "
                f"a {r['bytes'] / 1048576:.1f} MiB `.tar.gz`; server RSS {r['rss_kib_before'] / 1024:.0f} MiB before, "
                f"at most {r['rss_kib_max'] / 1024:.0f} MiB during (pages of 5,000 messages, never the whole export).", ""]
for r in rows:
    if r["part"] == "retention":
        b, d = r["base"], r["during"]
        out += ["**Retention** of those messages (all past a 30-day limit) while `switchboard-load direct` sends "
                f"{b['sends_per_s']:,.0f} messages/s: {r['deleted']:,.0f} deleted in {r['seconds']:.1f} s = "
                f"**{r['deleted_per_s']:,.0f} messages deleted/s** (chunks of 1,000, 5 ms apart).", "",
                "| sends | sends/s | ack p50 ms | ack p99 ms | ack max ms | verified |", "|---|---|---|---|---|---|",
                f"| without retention | {b['sends_per_s']:,.0f} | {b['p50_ms']:.2f} | {b['p99_ms']:.2f} | {b['max_ms']:.1f} | {'yes' if r['verified'] else 'NO'} |",
                f"| while retention runs | {d['sends_per_s']:,.0f} | {d['p50_ms']:.2f} | {d['p99_ms']:.2f} | {d['max_ms']:.1f} | {'yes' if r['verified'] else 'NO'} |", ""]
cipher = [r for r in rows if r["part"] == "cipher"]
enc = [r for r in rows if r["part"] == "encryption"]
if enc:
    out += ["**Bodies encrypted at rest** (AES-256-GCM in the writer, `storage.encryption_key`): the send path with and",
            "without a key, three rounds each, alternating servers; open loop at a fixed rate, then closed loop (window 8).", "",
            "| bodies | round | open-loop sends/s | ack p50 / p99 ms | CPU µs per send | closed-loop sends/s | ack p50 / p99 ms | CPU µs per send | verified |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in enc:
        o, c = r["open_ack"], r["closed_ack"]
        out.append(f"| {r['bodies']} | {r['round']} | {r['open_sends_per_s']:,.0f} | {o['p50_ms']:.2f} / {o['p99_ms']:.2f} | "
                   f"{r['open_cpu_us_per_send']:.0f} | {r['closed_sends_per_s']:,.0f} | {c['p50_ms']:.1f} / {c['p99_ms']:.1f} | "
                   f"{r['closed_cpu_us_per_send']:.0f} | {'yes' if r['verified'] else 'NO'} |")
    def mean(label, key):
        v = [r[key] for r in enc if r["bodies"] == label]
        return sum(v) / len(v) if v else 0
    p, s = mean("plain", "closed_sends_per_s"), mean("sealed", "closed_sends_per_s")
    pc, sc = mean("plain", "open_cpu_us_per_send"), mean("sealed", "open_cpu_us_per_send")
    if p and s:
        closed = [r["closed_sends_per_s"] for r in enc]
        spread = 100 * (max(closed) - min(closed)) / min(closed)
        out += ["", f"Averages, sealed against plain: **server CPU per send at a fixed rate {100 * (sc - pc) / pc:+.1f}%**; "
                f"closed-loop throughput {100 * (s - p) / p:+.1f}%, but closed-loop runs on this shared 2-core machine "
                f"spread over {spread:.0f}% whatever the configuration, so they cannot show a 5% difference."]
    for r in cipher[-1:]:
        m = r["result"]
        out += ["", f"Measured alone (`tools/bench/body_cipher_bench`): sealing a {m['body_bytes']}-byte body takes "
                f"{m['seal_ns']:,.0f} ns and opening it {m['open_ns']:,.0f} ns ({m['stored_bytes']} bytes stored): "
                f"{100 * m['seal_ns'] / 1000 / pc:.1f}% of the {pc:.0f} µs of server CPU a send costs."]
print(replace_block("BENCHMARKS.md", "governance", out, "## Data governance"))
