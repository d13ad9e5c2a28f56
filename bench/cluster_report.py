#!/usr/bin/env python3
"""Writes bench/cluster.sh's results as the "Clusters" section of BENCHMARKS.md (between the
cluster markers; appended with them the first time)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from doc_block import replace_block  # noqa: E402


def fmt(v, digits=1):
    return "-" if v is None else f"{v:,.{digits}f}"


def main(results_path, doc_path):
    rows = [json.loads(l) for l in open(results_path) if l.strip()]
    by = {r["case"]: r for r in rows}
    rev = rows[0].get("revision", "?") if rows else "?"
    out = ["## Clusters (bench/cluster.sh)", "",
           f"Revision {rev}; every run verified by switchboard-load (no gap, duplicate or reorder unless "
           "the last column says so). Latency is send to the recipient's `message` event, end to end.", "",
           "| case | offered/s | sends/s | deliveries/s | delivery p50 ms | delivery p99 ms | ack p99 ms | verified |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        d = r.get("delivery_latency", {})
        a = r.get("ack_latency", {})
        offered = r.get("params", {}).get("offered_rate") or None
        out.append(f"| {r['case']} | {fmt(offered, 0)} | {fmt(r.get('sends_per_s'), 0)} | "
                   f"{fmt(r.get('deliveries_per_s'), 0)} | {fmt(d.get('p50_ms'), 2)} | {fmt(d.get('p99_ms'), 2)} | "
                   f"{fmt(a.get('p99_ms'), 2)} | {'yes' if r.get('verified') else 'NO'} |")
    replace_block(doc_path, "cluster", out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
