"""Benchmark (not a test): durable writes per second against paddock and Apache ZooKeeper 3.8,
side by side, at several session counts, plus the disk's raw fsync rate.

Each session is a raw-protocol client with one request outstanding at a time (a write is
acknowledged only after it is on disk), so the figure shows how far group commit lets many
sessions share fsyncs. Each cell is the median of --runs runs.

    python scripts/bench/durable_writes.py --paddock .build-release/release/paddock \
        --sessions 1 8 64 --seconds 5 --runs 3
"""
import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Integration"))
import jute  # noqa: E402

ZK_CLASSPATH = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(kind, binary, workdir, extra_config=""):
    port = free_port()
    cfg = os.path.join(workdir, "zoo.cfg")
    with open(cfg, "w") as f:
        f.write(f"tickTime=2000\ndataDir={workdir}/data\nclientPort={port}\nclientPortAddress=127.0.0.1\n"
                "maxClientCnxns=0\nadmin.enableServer=false\n4lw.commands.whitelist=*\n" + extra_config)
    log_path = os.path.join(workdir, "server.log")
    log = open(log_path, "w")
    if kind == "paddock":
        cmd = [binary, "server", "--config", cfg]
    else:
        cmd = ["java", "-cp", ZK_CLASSPATH, "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} exited with status {proc.returncode} at start-up:\n{open(log_path).read()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                # ZooKeeper answers ruok before its database is loaded; srvr says when it serves.
                s.sendall(b"srvr")
                if b"Mode:" in s.recv(4096):
                    return proc, port
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{kind} did not start")


async def session(port, seconds, index, counts):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(jute.frame(jute.connect_request(30000)))
    await read_frame(reader)
    deadline = time.monotonic() + seconds
    xid = 0
    done = 0
    while time.monotonic() < deadline:
        xid += 1
        body = jute.create_body(f"/bench-{index}-{xid}", b"x" * 100)
        writer.write(jute.frame(struct.pack(">ii", xid, jute.Op.CREATE) + body))
        reply = await read_frame(reader)
        rxid, _, err = struct.unpack(">iqi", reply[:16])
        assert rxid == xid and err == 0, (rxid, err)
        done += 1
    counts[index] = done
    writer.close()


async def read_frame(reader):
    length = struct.unpack(">i", await reader.readexactly(4))[0]
    return await reader.readexactly(length)


def measure(port, sessions, seconds):
    counts = [0] * sessions

    async def run():
        await asyncio.gather(*(session(port, seconds, i, counts) for i in range(sessions)))

    started = time.monotonic()
    asyncio.run(run())
    return sum(counts) / (time.monotonic() - started)


def fsync_rate(directory, seconds=3):
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    block = b"\0" * 512
    count = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        os.write(fd, block)
        os.fdatasync(fd)
        count += 1
    os.close(fd)
    os.unlink(path)
    return count / seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--paddock", required=True, type=os.path.abspath)  # servers run in their own dirs
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="paddock-bench-")
    try:
        print(f"raw fdatasync rate of {root}: {fsync_rate(root):.0f}/s")
        results = {}
        for kind in ("paddock", "zookeeper"):
            for n in args.sessions:
                samples = []
                for run in range(args.runs):
                    workdir = os.path.join(root, f"{kind}-{n}-{run}")
                    os.makedirs(workdir)
                    proc, port = start_server(kind, args.paddock, workdir)
                    try:
                        samples.append(measure(port, n, args.seconds))
                    finally:
                        proc.send_signal(signal.SIGTERM)
                        proc.wait(timeout=30)
                results[(kind, n)] = statistics.median(samples)
                print(f"{kind:9} sessions={n:3} durable creates/s median={results[(kind, n)]:.0f} runs={[round(s) for s in samples]}",
                      flush=True)
        for n in args.sessions:
            ratio = results[("paddock", n)] / results[("zookeeper", n)]
            print(f"sessions={n:3} paddock/zookeeper = {ratio:.2f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
