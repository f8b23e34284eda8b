"""Benchmark (not a test): restart time and snapshot size for a tree of N znodes of 100 bytes
(default 1M), for paddock and Apache ZooKeeper 3.8 side by side, with snapshot compression
none and gz. Restart time is from exec until `srvr` reports a mode (serving).

    python scripts/bench/restart_million.py --paddock .build-release/release/paddock --nodes 1000000
"""
import argparse
import asyncio
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Integration"))
import jute  # noqa: E402
from durable_writes import free_port, read_frame  # noqa: E402

ZK_CLASSPATH = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar"


def launch(kind, binary, workdir, port, compression):
    cfg = os.path.join(workdir, "zoo.cfg")
    with open(cfg, "w") as f:
        f.write(f"tickTime=2000\ndataDir={workdir}/data\nclientPort={port}\nclientPortAddress=127.0.0.1\n"
                f"admin.enableServer=false\n4lw.commands.whitelist=*\nsnapCount=10000000\n")
        if kind == "paddock":
            f.write(f"snapshot.compression.method={compression}\n")
    log = open(os.path.join(workdir, f"server-{time.time()}.log"), "w")
    if kind == "paddock":
        cmd = [binary, "server", "--config", cfg]
    else:
        cmd = ["java", "-Xmx4g", f"-Dzookeeper.snapshot.compression.method={'' if compression == 'none' else compression}",
               "-cp", ZK_CLASSPATH, "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    import socket
    while time.monotonic() - started < 600:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                # ZooKeeper answers ruok before its database is loaded; srvr says when it serves.
                s.sendall(b"srvr")
                if b"Mode:" in s.recv(4096):
                    return proc, time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{kind} did not start")


async def fill(port, nodes, per_multi=1000, inflight=8):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(jute.frame(jute.connect_request(30000)))
    await read_frame(reader)
    value = b"v" * 100
    parents = max(1, nodes // 1000)
    xid = 0
    pending = 0

    async def send(body, op):
        nonlocal xid, pending
        xid += 1
        writer.write(jute.frame(struct.pack(">ii", xid, op) + body))
        pending += 1
        if pending >= inflight:
            await drain_one()

    async def drain_one():
        nonlocal pending
        reply = await read_frame(reader)
        err = struct.unpack(">iqi", reply[:16])[2]
        assert err == 0, err
        pending -= 1

    for p in range(parents):
        await send(jute.create_body(f"/p{p}"), jute.Op.CREATE)
    batch = []
    for i in range(nodes - parents):
        batch.append((jute.Op.CREATE, jute.create_body(f"/p{i % parents}/n{i}", value)))
        if len(batch) == per_multi:
            await send(jute.multi_body(batch), jute.Op.MULTI)
            batch = []
    if batch:
        await send(jute.multi_body(batch), jute.Op.MULTI)
    while pending:
        await drain_one()
    writer.close()


def snapshot_bytes(workdir):
    directory = os.path.join(workdir, "data", "version-2")
    snaps = sorted((f for f in os.listdir(directory) if f.startswith("snapshot.")),
                   key=lambda f: int(f.split(".")[1], 16))
    newest = snaps[-1]
    return newest, os.path.getsize(os.path.join(directory, newest))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--paddock", required=True, type=os.path.abspath)  # servers run in their own dirs
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--restarts", type=int, default=3)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="paddock-restart-")
    try:
        for compression in ("none", "gz"):
            for kind in ("paddock", "zookeeper"):
                workdir = os.path.join(root, f"{kind}-{compression}")
                os.makedirs(workdir)
                port = free_port()
                proc, _ = launch(kind, args.paddock, workdir, port, compression)
                t0 = time.monotonic()
                asyncio.run(fill(port, args.nodes))
                fill_seconds = time.monotonic() - t0
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=120)
                times = []
                for _ in range(args.restarts):
                    proc, seconds = launch(kind, args.paddock, workdir, port, compression)
                    times.append(seconds)
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(timeout=120)
                name, size = snapshot_bytes(workdir)
                times.sort()
                print(f"{kind:9} compression={compression:4} nodes={args.nodes} fill={fill_seconds:.1f}s "
                      f"restart median={times[len(times) // 2]:.2f}s runs={[round(t, 2) for t in times]} "
                      f"snapshot {name} {size / 1e6:.1f} MB", flush=True)
                shutil.rmtree(workdir, ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
