"""Benchmark (not a test): a 3-node ensemble of paddock next to one of Apache ZooKeeper 3.8, on
loopback, with ZooKeeper's default timing (tickTime=2000, initLimit=10, syncLimit=5).

1. Failover: kill -9 the leader, then time until a new client session's create is acknowledged
   by one of the survivors (polled every 10 ms). Median of --runs runs, each on a fresh ensemble.
2. Durable creates per second with --sessions raw-protocol sessions spread over the three
   nodes (one request outstanding each, writes through followers are forwarded), next to a
   standalone server of the same kind. Median of --runs runs.

    python scripts/bench/ensemble.py --paddock .build-release/release/paddock --runs 5
"""
import argparse
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

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Integration"))
import durable_writes  # noqa: E402
import jute  # noqa: E402


def distinct_free_ports(count):
    """Ports the kernel hands out while all are held open, so no two are the same."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def four_letter(port, word):
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(word.encode())
        out = b""
        while chunk := s.recv(4096):
            out += chunk
        return out.decode(errors="replace")


def mode(port):
    try:
        for line in four_letter(port, "srvr").splitlines():
            if line.startswith("Mode: "):
                return line[6:]
    except OSError:
        pass
    return None


class Ensemble:
    """`size` voters plus `observers` observers (the last ids), started and settled."""

    def __init__(self, kind, binary, workdir, size=3, observers=0):
        self.kind, self.binary, self.workdir = kind, binary, workdir
        total = size + observers
        ports = distinct_free_ports(3 * total)
        self.client_ports = ports[:total]
        servers = "".join(f"server.{i + 1}=127.0.0.1:{ports[total + i]}:{ports[2 * total + i]}"
                          + (":observer" if i >= size else "") + "\n" for i in range(total))
        self.procs = {}
        for i in range(total):
            node = os.path.join(workdir, f"n{i + 1}")
            os.makedirs(node)
            with open(os.path.join(node, "myid"), "w") as f:
                f.write(f"{i + 1}\n")
            with open(os.path.join(node, "zoo.cfg"), "w") as f:
                f.write(f"tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={node}\nclientPort={self.client_ports[i]}\n"
                        "clientPortAddress=127.0.0.1\nmaxClientCnxns=0\nadmin.enableServer=false\n"
                        "4lw.commands.whitelist=*\n" + servers + ("peerType=observer\n" if i >= size else ""))
            self.start(i)
        try:
            self.wait_for(lambda: self.leader() is not None
                      and all(mode(p) in ("leader", "follower", "observer") for p in self.client_ports))
        except RuntimeError:
            self.stop()
            tails = "".join(f"--- n{i + 1}\n" + open(os.path.join(workdir, f"n{i + 1}", "server.log")).read()[-800:]
                            for i in range(total))
            raise RuntimeError(f"{kind} ensemble in {workdir} did not settle\n{tails}")

    def start(self, i):
        node = os.path.join(self.workdir, f"n{i + 1}")
        cfg = os.path.join(node, "zoo.cfg")
        if self.kind == "paddock":
            cmd = [self.binary, "server", "--config", cfg]
        else:
            cmd = ["java", "-cp", durable_writes.ZK_CLASSPATH, "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg]
        log = open(os.path.join(node, "server.log"), "a")
        self.procs[i] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=node)

    def leader(self):
        for i, port in enumerate(self.client_ports):
            if i in self.procs and mode(port) == "leader":
                return i
        return None

    @staticmethod
    def wait_for(condition, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.05)
        raise RuntimeError("ensemble did not settle")

    def kill9(self, i):
        self.procs.pop(i).send_signal(signal.SIGKILL)

    def stop(self):
        for proc in self.procs.values():
            proc.send_signal(signal.SIGKILL)
            proc.wait()


def try_write(port, path):
    """One new session and one create; True once the create is acknowledged."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.settimeout(1)
            s.sendall(jute.frame(jute.connect_request(10000)))
            if len(read_frame(s)) < 20:
                return False
            s.sendall(jute.frame(struct.pack(">ii", 1, jute.Op.CREATE) + jute.create_body(path, b"x")))
            _, _, err = struct.unpack(">iqi", read_frame(s)[:16])
            return err == 0
    except (OSError, struct.error, ConnectionError):
        return False


def read_frame(s):
    head = recv_exactly(s, 4)
    return recv_exactly(s, struct.unpack(">i", head)[0])


def recv_exactly(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed")
        out += chunk
    return out


def failover_seconds(kind, binary, workdir):
    ensemble = Ensemble(kind, binary, workdir)
    try:
        leader = ensemble.leader()
        survivors = [p for i, p in enumerate(ensemble.client_ports) if i != leader]
        assert try_write(survivors[0], "/before")
        started = time.monotonic()
        ensemble.kill9(leader)
        attempt = 0
        while time.monotonic() - started < 120:
            attempt += 1
            if try_write(survivors[attempt % 2], f"/after-{attempt}"):
                return time.monotonic() - started
            time.sleep(0.01)
        raise RuntimeError(f"{kind}: no write acknowledged within 120 s of the leader's death")
    finally:
        ensemble.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--paddock", required=True, type=os.path.abspath)  # servers run in their own dirs
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sessions", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="paddock-ensemble-bench-")
    try:
        failover = {}
        for kind in ("paddock", "zookeeper"):
            samples = [failover_seconds(kind, args.paddock, os.path.join(root, f"failover-{kind}-{run}"))
                       for run in range(args.runs)]
            failover[kind] = statistics.median(samples)
            print(f"{kind:9} failover (kill -9 leader -> next acknowledged write) median={failover[kind]:.3f}s "
                  f"runs={[round(s, 3) for s in samples]}", flush=True)
        rates = {}
        for kind in ("paddock", "zookeeper"):
            for shape in ("standalone", "ensemble"):
                samples = []
                for run in range(args.runs):
                    workdir = os.path.join(root, f"rate-{kind}-{shape}-{run}")
                    os.makedirs(workdir)
                    if shape == "standalone":
                        proc, port = durable_writes.start_server(kind, args.paddock, workdir)
                        try:
                            samples.append(durable_writes.measure(port, args.sessions, args.seconds))
                        finally:
                            proc.send_signal(signal.SIGKILL)
                            proc.wait()
                    else:
                        ensemble = Ensemble(kind, args.paddock, workdir)
                        try:
                            samples.append(measure_spread(ensemble.client_ports, args.sessions, args.seconds))
                        finally:
                            ensemble.stop()
                rates[(kind, shape)] = statistics.median(samples)
                print(f"{kind:9} {shape:10} sessions={args.sessions} durable creates/s median={rates[(kind, shape)]:.0f} "
                      f"runs={[round(s) for s in samples]}", flush=True)
        print(f"failover paddock/zookeeper = {failover['paddock'] / failover['zookeeper']:.2f}")
        for shape in ("standalone", "ensemble"):
            print(f"{shape} creates/s paddock/zookeeper = {rates[('paddock', shape)] / rates[('zookeeper', shape)]:.2f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def measure_spread(ports, sessions, seconds):
    import asyncio
    counts = [0] * sessions

    async def run():
        await asyncio.gather(*(durable_writes.session(ports[i % len(ports)], seconds, i, counts) for i in range(sessions)))

    started = time.monotonic()
    asyncio.run(run())
    return sum(counts) / (time.monotonic() - started)


if __name__ == "__main__":
    main()
