#!/usr/bin/env python3
"""What a benchmark run cost each process: CPU seconds of the server, of PostgreSQL (the postmaster,
its live backends, and the backends that exited during the run, which the kernel adds to the
postmaster's cutime/cstime when reaped) and WAL bytes written, between two snapshots.

  proc_cpu.py snapshot SERVER_PID PG_PID DATABASE_URL            prints a snapshot (JSON)
  proc_cpu.py annotate RESULTS SNAPSHOT SERVER_PID PG_PID URL    adds the costs since SNAPSHOT to the
                                                                 last line of RESULTS (a switchboard-load
                                                                 line, or a pgbench one)
Per message: `sends` (durable messages) when the line has them, else `rows` (pgbench), else `opened`
(the connect storm's hellos: the costs are then per hello).
"""
import json, os, subprocess, sys

HZ = os.sysconf("SC_CLK_TCK")


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # after the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    return int(fields[1]), sum(int(x) for x in fields[11:15])


def tree_cpu(root):
    """CPU seconds of `root` and its children, reaped ones included."""
    total = stat(root)[1]
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == root:
            continue
        try:
            ppid, ticks = stat(int(entry))
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if ppid == root:
            total += ticks
    return total / HZ


def own_cpu(pid):
    return stat(pid)[1] / HZ


def wal_lsn(url):
    out = subprocess.run(["psql", url, "-qAtX", "-c", "SELECT pg_current_wal_lsn()"], capture_output=True,
                         text=True, check=True).stdout.strip()
    hi, lo = out.split("/")
    return (int(hi, 16) << 32) + int(lo, 16)


def snapshot(server_pid, pg_pid, url):
    return {"server_cpu_s": own_cpu(server_pid) if server_pid else 0.0, "pg_cpu_s": tree_cpu(pg_pid),
            "wal_lsn": wal_lsn(url)}


def main():
    if sys.argv[1] == "snapshot":
        print(json.dumps(snapshot(int(sys.argv[2] or 0), int(sys.argv[3]), sys.argv[4])))
        return
    results, before = sys.argv[2], json.loads(sys.argv[3])
    after = snapshot(int(sys.argv[4] or 0), int(sys.argv[5]), sys.argv[6])
    lines = open(results).read().splitlines()
    line = json.loads(lines[-1])
    cost = {"server_cpu_s": after["server_cpu_s"] - before["server_cpu_s"],
            "pg_cpu_s": after["pg_cpu_s"] - before["pg_cpu_s"],
            "wal_bytes": after["wal_lsn"] - before["wal_lsn"]}
    messages = line.get("sends") or line.get("rows") or line.get("opened") or 0
    if messages:
        cost["server_cpu_us_per_message"] = cost["server_cpu_s"] * 1e6 / messages
        cost["pg_cpu_us_per_message"] = cost["pg_cpu_s"] * 1e6 / messages
        cost["wal_bytes_per_message"] = cost["wal_bytes"] / messages
        if "client_cpu_s" in line:
            cost["client_cpu_us_per_message"] = line["client_cpu_s"] * 1e6 / messages
    line["cost"] = cost
    lines[-1] = json.dumps(line, separators=(",", ":"))  # as switchboard-load writes it (run.sh greps it)
    with open(results, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
