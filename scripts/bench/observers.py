"""Benchmark (not a test): what observers buy. A 3-voter ensemble with 0, 1 and 2 observers, for
paddock and Apache ZooKeeper 3.8 side by side on loopback (all servers on this one machine):

- reads/s: --sessions raw-protocol sessions spread over every server (observers included), each
  with one getData of a small node outstanding at a time;
- durable creates/s: the same sessions spread over the voters only, with the observers up
  (so the figure shows what feeding observers costs the write path).

Each cell is the median of --runs runs on fresh ensembles.

    python scripts/bench/observers.py --paddock .build-release/release/paddock --runs 3
"""
import argparse
import asyncio
import os
import shutil
import statistics
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
# The bench's ensemble.py first: importing durable_writes puts Tests/Integration (which has an
# ensemble.py of its own) ahead on sys.path.
import ensemble  # noqa: E402
from durable_writes import jute, read_frame  # noqa: E402


async def reader(port, seconds, index, counts):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(jute.frame(jute.connect_request(30000)))
    await read_frame(r)
    deadline = time.monotonic() + seconds
    xid = done = 0
    while time.monotonic() < deadline:
        xid += 1
        w.write(jute.frame(struct.pack(">ii", xid, jute.Op.GET_DATA) + jute.path_watch_body("/read", False)))
        rxid, _, err = struct.unpack(">iqi", (await read_frame(r))[:16])
        assert rxid == xid and err == 0, (rxid, err)
        done += 1
    counts[index] = done
    w.close()


def read_rate(ports, sessions, seconds):
    counts = [0] * sessions

    async def run():
        await asyncio.gather(*(reader(ports[i % len(ports)], seconds, i, counts) for i in range(sessions)))

    started = time.monotonic()
    asyncio.run(run())
    return sum(counts) / (time.monotonic() - started)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--paddock", required=True, type=os.path.abspath)  # servers run in their own dirs
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="paddock-observers-bench-")
    results = {}
    try:
        for kind in ("paddock", "zookeeper"):
            for observers in (0, 1, 2):
                reads, writes = [], []
                for run in range(args.runs):
                    workdir = os.path.join(root, f"{kind}-{observers}-{run}")
                    os.makedirs(workdir)
                    ens = ensemble.Ensemble(kind, args.paddock, workdir, observers=observers)
                    try:
                        assert ensemble.try_write(ens.client_ports[0], "/read")
                        reads.append(read_rate(ens.client_ports, args.sessions, args.seconds))
                        writes.append(ensemble.measure_spread(ens.client_ports[:3], args.sessions, args.seconds))
                    finally:
                        ens.stop()
                results[(kind, observers)] = (statistics.median(reads), statistics.median(writes))
                print(f"{kind:9} observers={observers} reads/s median={results[(kind, observers)][0]:.0f} "
                      f"runs={[round(x) for x in reads]}  creates/s median={results[(kind, observers)][1]:.0f} "
                      f"runs={[round(x) for x in writes]}", flush=True)
        for observers in (0, 1, 2):
            p, z = results[("paddock", observers)], results[("zookeeper", observers)]
            print(f"observers={observers} paddock/zookeeper reads {p[0] / z[0]:.2f}  creates {p[1] / z[1]:.2f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
