#!/usr/bin/env python3
"""Side-by-side benchmark of Paddock against Apache ZooKeeper 3.8 (issue 7, item 5). Not a test.

Both servers run on the same ports, with the same configuration (tickTime=2000, forceSync=yes,
data on the same disk), one after the other in every round (Paddock, ZooKeeper, Paddock, ...),
and are driven by the same `paddock bench` loads: standalone and a 3-node loopback ensemble;
get, set, create-delete and 90/10 mixed with 100-byte values; 1x1 and 8x32 clients x in-flight.
It also measures the resident memory of a standalone server holding 1M znodes of 100 bytes,
its start-up time with that tree, and the ensemble's failover time (kill -9 of the leader until
the next acknowledged write). Medians and Paddock/ZooKeeper ratios go to
Benchmarks/results/<date>-<host>.md, next to a description of the machine.

    python3 Benchmarks/compare.py --build     # release build (~4 min), then the full run (~25 min on 2 cores)
    python3 Benchmarks/compare.py --quick     # smoke check, about 2 minutes
"""
import argparse
import asyncio
import datetime
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts", "bench"))
# The bench's ensemble.py first: importing durable_writes puts Tests/Integration (which has an
# ensemble.py of its own) ahead on sys.path.
import ensemble as ensemble_bench  # noqa: E402
import durable_writes  # noqa: E402
import restart_million  # noqa: E402

KINDS = ("paddock", "zookeeper")
DEPLOYMENTS = (("standalone", 1), ("ensemble", 3))
LOADS = (("get", []), ("set", []), ("create-delete", []), ("mixed", ["--read-percent", "90"]))
SHAPES = ((1, 1), (8, 32))  # clients x requests in flight per client
BUILD = ["swift", "build", "-c", "release", "--scratch-path", ".build-release", "--product", "paddock"]

# Memory, start-up and failover rows: key, label, unit, and the target as words and as a
# test of (Paddock's median, Paddock/ZooKeeper ratio).
EXTRAS = (
    ("rss_filled", "Resident memory (VmRSS) right after filling {znodes} znodes", "MB",
     "≤ 0.25×", lambda paddock, share: share <= 0.25),
    ("rss_started", "Resident memory (VmRSS) after a restart with that tree", "MB",
     "≤ 0.25×", lambda paddock, share: share <= 0.25),
    ("startup_log", "Start-up with that tree, replaying the txn log (first start)", "s", "", None),
    ("startup_snapshot", "Start-up with that tree, from the snapshot", "s", "", None),
    ("fill", "Time to fill the tree (1000-op multis, 8 in flight)", "s", "", None),
    ("failover", "Ensemble failover: kill -9 of the leader to the next acknowledged write", "s",
     "Paddock under 1 s", lambda paddock, share: paddock < 1),
)


def main():
    args = parse_args()
    # SystemExit unwinds through the finally below, so a plain `kill` also stops every server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.build:
        log("building the release binary: " + " ".join(BUILD))
        subprocess.run(BUILD, cwd=REPO, check=True)
    if not os.access(args.paddock, os.X_OK):
        sys.exit(f"no Paddock binary at {args.paddock}; run with --build")
    root = tempfile.mkdtemp(prefix="paddock-compare-", dir=args.data_root)
    try:
        machine = describe_machine(root)
        ports = pick_ports(9)
        loads, extras, failures = {}, {}, []
        for deployment, size in DEPLOYMENTS:
            if deployment == "ensemble" and args.skip_ensemble:
                continue
            for round_ in range(args.rounds):
                for kind in KINDS:
                    attempt(failures, f"{deployment} {kind} round {round_ + 1}",
                            lambda: run_round(args, root, ports, deployment, size, kind, round_, loads))
        if not args.skip_ensemble:
            # Failover reuses scripts/bench/ensemble.py, whose ensembles pick their own ports:
            # the figure is dominated by election timing, not by which ports are used.
            for round_ in range(args.rounds):
                for kind in KINDS:
                    seconds = attempt(failures, f"failover {kind} round {round_ + 1}", lambda: ensemble_bench.failover_seconds(
                        kind, args.paddock, os.path.join(root, f"failover-{kind}-{round_}")))
                    if seconds is not None:
                        extras.setdefault("failover", {k: [] for k in KINDS})[kind].append(seconds)
                        log(f"failover {kind}: {seconds:.3f} s")
        if not args.skip_memory:
            attempt(failures, "1M-znode memory and start-up", lambda: measure_big_tree(args, root, ports[0], extras))
        machine.append(("Load average (1 min) at the end", f"{os.getloadavg()[0]:.2f}"))
        report = render(args, machine, loads, extras, failures)
        results = os.path.join(REPO, "Benchmarks", "results")
        os.makedirs(results, exist_ok=True)
        name = f"{datetime.date.today().isoformat()}-{socket.gethostname()}{'-quick' if args.quick else ''}.md"
        with open(os.path.join(results, name), "w") as f:
            f.write(report)
        print(report)
        log(f"written to {os.path.relpath(os.path.join(results, name), REPO)}")
    finally:
        kill_children()
        shutil.rmtree(root, ignore_errors=True)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", action="store_true", help="build Paddock in release mode first")
    parser.add_argument("--paddock", type=os.path.abspath, default=os.path.join(REPO, ".build-release", "release", "paddock"),
                        help="Paddock executable (default: the release build)")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the two servers per measurement")
    parser.add_argument("--duration", type=float, default=10, help="measured seconds per load")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds before each load")
    parser.add_argument("--znodes", type=int, default=1_000_000, help="tree size for the memory and start-up rows")
    parser.add_argument("--data-root", type=os.path.abspath, default=default_data_root(),
                        help="where the servers' data dirs go (default: a temp dir on the repository's disk)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke check: 1 round of 2 s loads, no 1M-znode part; writes a -quick result file")
    parser.add_argument("--skip-ensemble", action="store_true", help="no ensemble loads and no failover")
    parser.add_argument("--skip-memory", action="store_true", help="no 1M-znode memory and start-up part")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.duration, args.warmup, args.skip_memory = 1, 2, 0.5, True
    return args


def default_data_root():
    # /tmp is often a tmpfs, where fsync costs nothing; the data must be on a real disk.
    tmp = tempfile.gettempdir()
    return tmp if os.stat(tmp).st_dev == os.stat(REPO).st_dev else REPO


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def attempt(failures, label, step):
    """Runs step() and returns its result; a failure is recorded rather than raised, so one broken
    measurement does not void a long run, and whatever the step left running is killed so it
    cannot hold the ports the next step needs."""
    try:
        return step()
    except Exception as error:  # Ctrl-C and SIGTERM are not Exceptions: they still end the run.
        failures.append(f"{label}: {str(error).strip()[-1500:]}")
        log(f"FAILED {label}: {error}")
        kill_children()
        return None


def kill_children():
    """SIGKILLs and reaps every child of this process: the servers started here or by the imported
    helpers (which hold no handle we could reach after an exception), and bench runs."""
    me = str(os.getpid())
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = f.read().rsplit(")", 1)[1].split()[1]  # the name in (...) may hold spaces
        except (OSError, IndexError):
            continue
        if parent == me:
            try:
                os.kill(int(entry), signal.SIGKILL)
                os.waitpid(int(entry), 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def pick_ports(count):
    """Distinct free ports below the ephemeral range (32768+), so that no outgoing connection can
    take one of them between the rounds that reuse them."""
    ports = []
    while len(ports) < count:
        port = random.randrange(10000, 32768)
        if port not in ports and port_free(port, reuse=False):
            ports.append(port)
    return ports


def port_free(port, reuse):
    with socket.socket() as s:
        if reuse:  # as the servers bind: sockets of the previous run in TIME_WAIT do not count
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def wait_ports_free(ports, seconds=30):
    deadline = time.monotonic() + seconds
    while not all(port_free(p, reuse=True) for p in ports):
        if time.monotonic() > deadline:
            raise RuntimeError(f"ports {ports} still in use after {seconds} s")
        time.sleep(0.1)


def server_command(kind, binary, cfg):
    if kind == "paddock":
        return [binary, "server", "--config", cfg]
    return ["java", "-cp", durable_writes.ZK_CLASSPATH, "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg]


class Servers:
    """A fresh standalone server (size 1) or ensemble (size 3) of one kind, on fixed ports:
    ports[0:3] client ports, ports[3:6] quorum ports, ports[6:9] election ports."""

    def __init__(self, kind, binary, workdir, ports, size):
        self.client_ports = ports[:size]
        used = ports[:1] if size == 1 else ports[:9]
        wait_ports_free(used)
        peers = "" if size == 1 else "initLimit=10\nsyncLimit=5\n" + "".join(
            f"server.{i + 1}=127.0.0.1:{ports[3 + i]}:{ports[6 + i]}\n" for i in range(size))
        self.procs, self.logs = [], []
        for i in range(size):
            node = os.path.join(workdir, f"n{i + 1}")
            os.makedirs(node)
            if size > 1:
                with open(os.path.join(node, "myid"), "w") as f:
                    f.write(f"{i + 1}\n")
            cfg = os.path.join(node, "zoo.cfg")
            with open(cfg, "w") as f:
                f.write(f"tickTime=2000\ndataDir={node}\nclientPort={ports[i]}\nclientPortAddress=127.0.0.1\n"
                        "forceSync=yes\nmaxClientCnxns=0\nadmin.enableServer=false\n4lw.commands.whitelist=*\n" + peers)
            self.logs.append(os.path.join(node, "server.log"))
            with open(self.logs[-1], "w") as log_file:
                self.procs.append(subprocess.Popen(server_command(kind, binary, cfg), stdout=log_file,
                                                   stderr=subprocess.STDOUT, cwd=node))
        # srvr, not ruok: ZooKeeper answers ruok before it has loaded its database or found a leader.
        expected = ["standalone"] if size == 1 else ["follower"] * (size - 1) + ["leader"]
        deadline = time.monotonic() + 60
        while sorted(ensemble_bench.mode(p) or "" for p in self.client_ports) != expected:
            if time.monotonic() > deadline or any(proc.poll() is not None for proc in self.procs):
                tails = "".join(f"--- {path}\n{open(path, errors='replace').read()[-800:]}" for path in self.logs)
                raise RuntimeError(f"{kind} {'ensemble' if size > 1 else 'server'} did not come up\n{tails}")
            time.sleep(0.1)
        roles = [ensemble_bench.mode(p) for p in self.client_ports]
        if size > 1 and roles[0] != "follower":
            log(f"warning: {kind} member 1 is {roles[0]}, so this round's 1×1 loads meet a {roles[0]}")

    @property
    def hosts(self):
        return ",".join(f"127.0.0.1:{p}" for p in self.client_ports)

    def stop(self):
        for proc in self.procs:
            proc.kill()
            proc.wait()


def run_round(args, root, ports, deployment, size, kind, round_, loads):
    """All loads against one fresh server or ensemble of `kind`. One server serves every load of
    the round, as in production, so ZooKeeper's JIT is warm after the first few seconds instead of
    restarting cold for each load."""
    workdir = os.path.join(root, f"{deployment}-{kind}-{round_}")
    servers = Servers(kind, args.paddock, workdir, ports, size)
    try:
        for op, extra in LOADS:
            for clients, inflight in SHAPES:
                before = cpu_ticks()
                summary = bench(args, servers.hosts, op, clients, inflight, extra)
                # Kept with each sample, as a sign of noise: CPU time the hypervisor gave to other
                # guests, and the load average (which also counts this run's threads in fsync).
                summary["steal"] = steal_share(before, cpu_ticks())
                summary["load"] = os.getloadavg()[0]
                loads.setdefault((deployment, op, clients, inflight), {k: [] for k in KINDS})[kind].append(summary)
                log(f"{deployment:10} {kind:9} {op:13} {clients}x{inflight:<3} {summary['ops_per_s']:>9.0f} ops/s "
                    f"p50 {summary['p50_us']:>6.0f} µs  p99 {summary['p99_us']:>7.0f} µs")
    finally:
        servers.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def cpu_ticks():
    """The machine's CPU time so far, per state, from the first line of /proc/stat."""
    with open("/proc/stat") as f:
        return [int(field) for field in f.readline().split()[1:]]


def steal_share(before, after):
    # Fields: user nice system idle iowait irq softirq steal guest guest_nice; guests are in user.
    spent = [b - a for a, b in zip(before, after)][:8]
    return spent[7] / max(1, sum(spent))


def bench(args, hosts, op, clients, inflight, extra):
    """One `paddock bench` run; the fields of its BENCH line, as numbers."""
    cmd = [args.paddock, "bench", "--hosts", hosts, "--clients", str(clients), "--inflight", str(inflight),
           "--duration", str(args.duration), "--warmup", str(args.warmup), "--op", op, "--value-bytes", "100", *extra]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.warmup + args.duration + 120)
    line = next((line for line in out.stdout.splitlines() if line.startswith("BENCH ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"paddock bench {op} {clients}x{inflight} exited {out.returncode}: {out.stderr[-1000:]}")
    fields = dict(field.split("=", 1) for field in line.split()[1:])
    return {key: float(value) for key, value in fields.items() if key != "op"}


def measure_big_tree(args, root, port, extras):
    """Resident memory and start-up time of a standalone server holding args.znodes znodes of 100
    bytes, with the fill and the launch of scripts/bench/restart_million.py (its config has no
    snapshots during the fill, and gives ZooKeeper -Xmx4g)."""
    def record(key, kind, value):
        extras.setdefault(key, {k: [] for k in KINDS})[kind].append(value)
        log(f"{key} {kind}: {value:.2f}")

    def start(kind):
        wait_ports_free([port])
        return restart_million.launch(kind, args.paddock, workdirs[kind], port, "none")

    workdirs = {kind: os.path.join(root, f"tree-{kind}") for kind in KINDS}
    for kind in KINDS:
        os.makedirs(workdirs[kind])
        proc, _ = start(kind)
        started = time.monotonic()
        asyncio.run(restart_million.fill(port, args.znodes))
        record("fill", kind, time.monotonic() - started)
        record("rss_filled", kind, resident_mb(proc.pid))
        stop_gracefully(proc)
    # The first start replays the whole txn log; like ZooKeeper, Paddock then writes a snapshot
    # before serving, which every later start loads. The two kinds of start are reported apart.
    for restart in range(1 + args.rounds):
        for kind in KINDS:
            proc, seconds = start(kind)
            if restart == 0:
                record("startup_log", kind, seconds)
            else:
                record("startup_snapshot", kind, seconds)
                record("rss_started", kind, resident_mb(proc.pid))
            stop_gracefully(proc)


def resident_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return kb / 1024


def stop_gracefully(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)


def describe_machine(root):
    def first_line(cmd, stream="stdout"):
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
        return (getattr(out, stream).strip().splitlines() or ["?"])[0]

    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), platform.machine())
    with open("/proc/meminfo") as f:
        memory_kb = next(int(line.split()[1]) for line in f if line.startswith("MemTotal:"))
    disk = shutil.disk_usage(root)
    device = subprocess.run(["df", "--output=source,fstype", root], capture_output=True, text=True).stdout.split()[-2:]
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True,
                           cwd=REPO).stdout.strip()
    log("measuring the disk's fdatasync rate")
    return [
        ("Host", socket.gethostname()),
        ("CPUs (nproc)", str(len(os.sched_getaffinity(0)))),
        ("CPU model", cpu),
        ("Memory", f"{memory_kb / 1024 ** 2:.1f} GiB"),
        ("Kernel", f"{platform.system()} {platform.release()}"),
        ("Data disk", f"{' '.join(device)}, {disk.free / 1e9:.0f} GB free of {disk.total / 1e9:.0f} GB ({root})"),
        ("Raw fdatasync rate (512-byte appends)", f"{durable_writes.fsync_rate(root, seconds=2):.0f}/s"),
        ("Paddock", f"{first_line(['git', 'rev-parse', '--short', 'HEAD'])}{' with uncommitted changes' if dirty else ''}"),
        ("ZooKeeper", "Debian package " + first_line(["dpkg-query", "-W", "-f", "${Version}", "zookeeper"])),
        ("Java", first_line(["java", "-version"], "stderr")),
        ("Load average (1 min) at the start", f"{os.getloadavg()[0]:.2f}"),
    ]


def median(samples):
    return statistics.median(samples) if samples else None


def number(value, digits=0):
    return "—" if value is None else f"{value:,.{digits}f}"


def ratio(paddock, zookeeper):
    return paddock / zookeeper if paddock is not None and zookeeper else None


def load_keys(loads):
    """The measured (deployment, load, clients, in-flight) cells in table order."""
    return [(deployment, op, clients, inflight) for deployment, _ in DEPLOYMENTS for op, _ in LOADS
            for clients, inflight in SHAPES if (deployment, op, clients, inflight) in loads]


def render(args, machine, loads, extras, failures):
    lines = [f"# Paddock vs Apache ZooKeeper 3.8: {datetime.date.today().isoformat()} on {socket.gethostname()}", ""]
    lines += [f"- {key}: {value}" for key, value in machine]
    lines += ["", f"Rounds: {args.rounds} (Paddock and ZooKeeper alternating on the same ports); each load "
              f"{args.warmup:g} s warm-up + {args.duration:g} s measured; 100-byte values; tickTime=2000, forceSync=yes, "
              "data dirs on the disk above. `paddock bench` runs on the same machine as the servers; ensemble "
              "session i connects to member i mod 3, so the 1×1 loads always meet member 1 (a follower; the log warns of any round where it was not). Cells are medians over the rounds; p99 in µs.", ""]

    if loads:
        lines += ["## Throughput and latency", "",
                  "| Deployment | Load | Clients×in-flight | Paddock ops/s | ZooKeeper ops/s | Paddock/ZK | "
                  "Paddock p99 | ZooKeeper p99 | Paddock/ZK p99 | Target (≥2×, p99 no worse) |",
                  "|---|---|---|--:|--:|--:|--:|--:|--:|---|"]
        for key in load_keys(loads):
            deployment, op, clients, inflight = key
            by_kind = loads[key]
            ops = {k: median([s["ops_per_s"] for s in by_kind[k]]) for k in KINDS}
            p99 = {k: median([s["p99_us"] for s in by_kind[k]]) for k in KINDS}
            throughput, latency = ratio(ops["paddock"], ops["zookeeper"]), ratio(p99["paddock"], p99["zookeeper"])
            misses = ([] if throughput is None or throughput >= 2 else ["throughput below 2×"]) + \
                     ([] if latency is None or latency <= 1 else ["p99 worse"])
            verdict = "—" if throughput is None or latency is None else "; ".join(misses) or "met"
            lines.append(f"| {deployment} | {op} | {clients}×{inflight} | {number(ops['paddock'])} | {number(ops['zookeeper'])} "
                         f"| {number(throughput, 2)} | {number(p99['paddock'])} | {number(p99['zookeeper'])} "
                         f"| {number(latency, 2)} | {verdict} |")
        lines.append("")

    if extras:
        lines += ["## Memory, start-up and failover", "",
                  "| Measure | Paddock | ZooKeeper | Paddock/ZK | Target |", "|---|--:|--:|--:|---|"]
        for key, label, unit, target, met in EXTRAS:
            if key not in extras:
                continue
            paddock, zookeeper = (median(extras[key][k]) for k in KINDS)
            share = ratio(paddock, zookeeper)
            verdict = ""
            if met is not None:
                verdict = "—" if share is None else f"{'met' if met(paddock, share) else 'missed'} ({target})"
            lines.append(f"| {label.format(znodes=f'{args.znodes:,}')} ({unit}) | {number(paddock, 2)} | "
                         f"{number(zookeeper, 2)} | {number(share, 2)} | {verdict} |")
        lines.append("")

    if loads or extras:
        lines += ["## Every sample", "", "Values by round, in run order; latencies in µs; steal is the share of CPU time the "
                  "hypervisor gave elsewhere during the sample, load the 1-minute load average after it.", "",
                  "| Measure | Server | Samples |", "|---|---|---|"]
        for key in load_keys(loads):
            deployment, op, clients, inflight = key
            for kind in KINDS:
                samples = " · ".join(f"{s['ops_per_s']:,.0f} ops/s p50 {s['p50_us']:,.0f} p99 {s['p99_us']:,.0f} "
                                     f"p99.9 {s['p999_us']:,.0f} max {s['max_us']:,.0f} (steal {s['steal']:.0%}, load {s['load']:.1f})"
                                     for s in loads[key][kind])
                lines.append(f"| {deployment} {op} {clients}×{inflight} | {kind} | {samples or '—'} |")
        for key, label, unit, *_ in EXTRAS:
            for kind in KINDS:
                if key in extras:
                    samples = " · ".join(f"{v:.2f}" for v in extras[key][kind])
                    lines.append(f"| {label.format(znodes=f'{args.znodes:,}')} ({unit}) | {kind} | {samples or '—'} |")
        lines.append("")

    if failures:
        lines += ["## Failures", "", "```"] + failures + ["```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
