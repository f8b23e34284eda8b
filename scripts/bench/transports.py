"""Benchmark (not a test): paddock's client-port transports (paddock.transport=libuv and =nio)
next to Apache ZooKeeper 3.8, standalone on loopback, on the same load:

- reads/s: --sessions raw-protocol sessions, each keeping --depth getData requests of a 100-byte
  node pipelined, spread over --clients client processes (one asyncio loop each), so that the
  transport (framing, batching of replies) is loaded rather than the client's round trips;
- creates/s: the same sessions, each with --depth durable creates of persistent sequential
  100-byte nodes under one parent outstanding;
- ruok connections/s: --churn loops each opening a connection, sending ruok, reading imok until
  the server closes (connection setup and teardown, no session: a session is a durable
  transaction, which would measure the disk instead).

Each phase has a --warmup seconds unmeasured lead-in (for every server alike; the JVM needs it),
then --seconds measured. Next to each rate is the server's CPU time (user+system, from
/proc/<pid>/stat) per 1000 requests in the measured window, which does not depend on how fast
the Python clients are. One fresh server per run and column; each cell is the median of --runs.

    python scripts/bench/transports.py --paddock .build-release/release/paddock --runs 3

--transports libuv,libuv runs the script before the nio module exists (default libuv,nio).
"""
import argparse
import asyncio
import multiprocessing
import os
import platform
import shutil
import statistics
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
# The bench's ensemble.py first: importing durable_writes puts Tests/Integration (which has an
# ensemble.py of its own) ahead on sys.path.
import ensemble  # noqa: E402
import durable_writes  # noqa: E402
from durable_writes import jute  # noqa: E402

PHASES = ("reads", "creates", "churn")


class Session(asyncio.Protocol):
    """One session; from go() on, keeps `depth` requests outstanding until its window ends."""

    def __init__(self, op, body):
        self.op, self.body, self.xid, self.buffer = op, body, 0, b""
        loop = asyncio.get_running_loop()
        self.connected, self.drained = loop.create_future(), loop.create_future()
        self.outstanding = self.count = 0

    def connection_made(self, transport):
        self.transport = transport
        transport.write(jute.frame(jute.connect_request(30000)))

    def send(self, n):
        frames = []
        for _ in range(n):
            self.xid += 1
            frames.append(struct.pack(">iii", 8 + len(self.body), self.xid, self.op) + self.body)
        self.transport.write(b"".join(frames))

    def go(self, depth, window):
        self.window, self.outstanding = window, depth
        self.send(depth)

    def data_received(self, data):
        self.buffer += data
        offset = replies = 0
        while len(self.buffer) - offset >= 4:
            end = offset + 4 + struct.unpack_from(">i", self.buffer, offset)[0]
            if len(self.buffer) < end:
                break
            if not self.connected.done():
                self.connected.set_result(None)
            else:
                xid, _, err = struct.unpack_from(">iqi", self.buffer, offset + 4)
                if err != 0 and not self.drained.done():
                    self.drained.set_exception(RuntimeError(f"xid {xid} failed with error {err}"))
                replies += 1
            offset = end
        self.buffer = self.buffer[offset:]
        if not replies:
            return
        now = time.monotonic()
        if self.window[0] <= now < self.window[1]:
            self.count += replies
        if now < self.window[1]:
            self.send(replies)
        else:
            self.outstanding -= replies
            if self.outstanding == 0 and not self.drained.done():
                self.drained.set_result(None)

    def connection_lost(self, exc):
        for future in (self.connected, self.drained):
            if not future.done():
                future.set_exception(ConnectionError(f"server closed the connection: {exc}"))


async def ruok_loop(port, window):
    count = 0
    while time.monotonic() < window[1]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"ruok")
        answer = await reader.read()
        writer.close()
        assert answer == b"imok", answer
        count += time.monotonic() >= window[0]
    return count


async def drive(port, phase, n, depth, warmup, seconds, barrier):
    loop = asyncio.get_running_loop()
    sessions = []
    if phase != "churn":
        op, body = ((jute.Op.GET_DATA, jute.path_watch_body("/read", False)) if phase == "reads" else
                    (jute.Op.CREATE, jute.create_body("/bench/n-", b"x" * 100, jute.CreateMode.PERSISTENT_SEQUENTIAL)))
        for _ in range(n):
            sessions.append((await loop.create_connection(lambda: Session(op, body), "127.0.0.1", port))[1])
        await asyncio.gather(*(s.connected for s in sessions))
    barrier.wait(60)
    start = time.monotonic() + warmup
    window = (start, start + seconds)
    if phase == "churn":
        return sum(await asyncio.gather(*(ruok_loop(port, window) for _ in range(n))))
    for s in sessions:
        s.go(depth, window)
    await asyncio.gather(*(s.drained for s in sessions))
    for s in sessions:
        s.transport.close()
    return sum(s.count for s in sessions)


def client(results, barrier, *args):
    try:
        results.put(asyncio.run(drive(*args, barrier)))
    except BaseException as e:
        barrier.abort()
        results.put(f"client process failed: {e!r}")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(proc, port, phase, args):
    """(requests per second, server CPU seconds per 1000 requests) over the measured window."""
    total = args.churn if phase == "churn" else args.sessions
    barrier, results = multiprocessing.Barrier(args.clients + 1), multiprocessing.Queue()
    clients = [multiprocessing.Process(target=client, args=(
        results, barrier, port, phase, total // args.clients + (i < total % args.clients),
        args.depth, args.warmup, args.seconds)) for i in range(args.clients)]
    for c in clients:
        c.start()
    try:
        barrier.wait(60)
        start = time.monotonic() + args.warmup
        time.sleep(max(0, start - time.monotonic()))
        before = cpu_seconds(proc.pid)
        time.sleep(max(0, start + args.seconds - time.monotonic()))
        used = cpu_seconds(proc.pid) - before
        counts = [results.get(timeout=60) for _ in clients]
    except threading.BrokenBarrierError:
        counts = [results.get(timeout=5)]
    finally:
        for c in clients:
            c.join(5)
            c.kill()
    if failures := [c for c in counts if isinstance(c, str)]:
        raise RuntimeError(f"{phase}: {failures[0]}")
    return sum(counts) / args.seconds, used / max(sum(counts), 1) * 1000


def run_server(kind, transport, binary, workdir, args):
    extra = f"paddock.transport={transport}\n" if kind == "paddock" else ""
    proc, port = durable_writes.start_server(kind, binary, workdir, extra)
    try:
        version = ensemble.four_letter(port, "srvr").splitlines()[0]
        setup = jute.connected_client("127.0.0.1", port)
        assert setup.create("/read", b"x" * 100)[0].err == 0 and setup.create("/bench")[0].err == 0
        setup.close()
        return version, {phase: measure(proc, port, phase, args) for phase in PHASES}
    finally:
        proc.kill()
        proc.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--paddock", required=True, type=os.path.abspath)  # servers run in their own dirs
    parser.add_argument("--transports", default="libuv,nio", help="comma-separated paddock.transport values")
    parser.add_argument("--zookeeper", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--sessions", type=int, default=32)
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--churn", type=int, default=8, help="concurrent ruok connection loops")
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    transports = args.transports.split(",")
    columns = [("paddock", t, f"paddock-{t}" + (str(i + 1) if transports.count(t) > 1 else ""))
               for i, t in enumerate(transports)] + ([("zookeeper", None, "zookeeper")] if args.zookeeper else [])
    with open("/proc/cpuinfo") as f:
        model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    root = tempfile.mkdtemp(prefix="paddock-transports-bench-")
    try:
        print(f"machine: {os.cpu_count()} x {model}, Linux {platform.release()}, "
              f"raw fdatasync rate {durable_writes.fsync_rate(root):.0f}/s")
        print(f"load: {args.sessions} sessions over {args.clients} client processes, depth {args.depth}, "
              f"100-byte nodes; {args.churn} ruok loops; {args.warmup:g} s warm-up + {args.seconds:g} s measured "
              f"per phase; median of {args.runs} runs, a fresh server each", flush=True)
        samples = {(label, phase): [] for _, _, label in columns for phase in PHASES}
        for run in range(args.runs):
            for kind, transport, label in columns:  # interleaved, so drift hits every column alike
                workdir = os.path.join(root, f"{label}-{run}")
                os.makedirs(workdir)
                version, results = run_server(kind, transport, args.paddock, workdir, args)
                for phase, sample in results.items():
                    samples[(label, phase)].append(sample)
                print(f"run {run + 1} {label:15} ({version}) " + "  ".join(
                    f"{phase} {rate:.0f}/s {cpu:.4f} cpu-s/1k" for phase, (rate, cpu) in results.items()), flush=True)
        ratios = [(columns[1][2], columns[0][2])] if len(transports) > 1 else []
        ratios += [(label, "zookeeper") for kind, _, label in columns if args.zookeeper and kind == "paddock"]
        labels = [label for _, _, label in columns]
        print("\n" + f"{'median':22}" + "".join(f"{x:>16}" for x in labels)
              + "".join(f"{a + '/' + b:>30}" for a, b in ratios))
        for phase in PHASES:
            for index, unit in ((0, "/s"), (1, " cpu-s/1k")):
                cell = {label: statistics.median(s[index] for s in samples[(label, phase)]) for label in labels}
                print(f"{phase + unit:22}" + "".join(f"{cell[x]:>16.{4 * index}f}" for x in labels)
                      + "".join(f"{cell[a] / cell[b]:>30.2f}" for a, b in ratios))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
