"""Writes the fuzzers' seed corpus (Tests/Fuzz/Corpus/<target>/); run once, results committed.

client-stream: the bytes kazoo sends, captured by a proxy in front of a running server (every op
  kind, watches, multi, auth, close). quorum-stream: packets of every type a leader and a learner
  exchange, encoded as ZooKeeper 3.8 writes them. txn-log, snapshot, snapshot-gz: files of a
  server's data dir after kazoo writes, the zero padding of preallocated logs cut off.
config: the shipped conf/ files.

    python3 Tests/Fuzz/make_corpus.py --paddock .build/debug/paddock
"""

import argparse
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "Tests", "Integration"))
CORPUS = os.path.join(HERE, "Corpus")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(paddock, workdir, port, compression):
    os.makedirs(workdir)
    cfg = os.path.join(workdir, "zoo.cfg")
    with open(cfg, "w") as f:
        f.write("tickTime=2000\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\nsnapCount=40\n"
                "snapshot.compression.method=%s\n" % (os.path.join(workdir, "data"), port, compression))
    proc = subprocess.Popen([paddock, "server", "--config", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def proxy(listen_port, target_port, captured):
    """Accepts one connection at a time and forwards both ways, keeping what clients sent."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", listen_port))
    server.listen()

    def pump(src, dst, keep):
        try:
            while chunk := src.recv(65536):
                if keep is not None:
                    keep.extend(chunk)
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def serve():
        while True:
            client, _ = server.accept()
            upstream = socket.create_connection(("127.0.0.1", target_port))
            sent = bytearray()
            captured.append(sent)
            threading.Thread(target=pump, args=(client, upstream, sent), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client, None), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()


def kazoo_session(port):
    from kazoo.client import KazooClient
    from kazoo.security import make_digest_acl

    zk = KazooClient(hosts="127.0.0.1:%d" % port)
    zk.start(timeout=10)
    zk.add_auth("digest", "fuzz:secret")
    zk.create("/seed", b"value")
    zk.create("/seed/child", b"x" * 100, ephemeral=True)
    zk.create("/seed/seq-", b"", sequence=True)
    zk.create("/seed/acl", b"", acl=[make_digest_acl("fuzz", "secret", all=True)])
    zk.get("/seed", watch=lambda event: None)
    zk.get_children("/seed", watch=lambda event: None)
    zk.exists("/missing", watch=lambda event: None)
    zk.set("/seed", b"new value", version=0)
    zk.get_acls("/seed")
    zk.sync("/seed")
    transaction = zk.transaction()
    transaction.create("/seed/m1", b"1")
    transaction.check("/seed", 1)
    transaction.set_data("/seed/m1", b"2")
    transaction.delete("/seed/m1")
    transaction.commit()
    for i in range(50):
        zk.set("/seed", b"v%d" % i)
    zk.delete("/seed/child")
    zk.stop()
    zk.close()


def capture_client_streams(paddock, workdir):
    port, proxy_port = free_port(), free_port()
    server = start_server(paddock, os.path.join(workdir, "client"), port, "none")
    try:
        captured = []
        proxy(proxy_port, port, captured)
        kazoo_session(proxy_port)
        time.sleep(0.5)
        return [bytes(c) for c in captured if c]
    finally:
        server.kill()


def data_dir_files(paddock, workdir, compression):
    port = free_port()
    root = os.path.join(workdir, "files-" + compression)
    server = start_server(paddock, root, port, compression)
    try:
        kazoo_session(port)
        time.sleep(0.5)
    finally:
        server.terminate()
        server.wait()
    version2 = os.path.join(root, "data", "version-2")
    logs, snapshots = [], []
    for name in sorted(os.listdir(version2)):
        with open(os.path.join(version2, name), "rb") as f:
            data = f.read()
        if name.startswith("log."):
            logs.append(data.rstrip(b"\0"))
        elif name.startswith("snapshot."):
            snapshots.append(data)
    return logs, snapshots


def string(text):
    raw = text.encode()
    return struct.pack(">i", len(raw)) + raw


def buffer(raw):
    return struct.pack(">i", len(raw)) + raw


def packet(kind, zxid, data=None, auth=()):
    body = struct.pack(">iq", kind, zxid) + (struct.pack(">i", -1) if data is None else buffer(data))
    body += struct.pack(">i", len(auth)) + b"".join(string(scheme) + string(ident) for scheme, ident in auth)
    return body


def quorum_streams():
    """A learner's and a leader's side of a sync and a broadcast (QuorumPacket types of
    ZooKeeper 3.8's Leader.java)."""
    epoch = 1 << 32
    create_txn = (struct.pack(">qiqqi", 0x100, 1, epoch + 1, 1_700_000_000_000, 1)
                  + string("/a") + buffer(b"data") + struct.pack(">i", 1) + struct.pack(">i", 31)
                  + string("world") + string("anyone") + struct.pack(">?i", False, 1))
    learner_info = struct.pack(">qiq", 2, 0x10000, 0)
    request = struct.pack(">qii", 0x100, 1, 1) + string("/a") + buffer(b"") + struct.pack(">i", 0) + struct.pack(">i", 0)
    learner = (packet(11, epoch, learner_info) + packet(18, epoch, struct.pack(">i", 0)) + packet(3, epoch)
               + packet(3, epoch + 1) + packet(5, epoch + 1, struct.pack(">qi", 0x100, 4000))
               + packet(1, 0, request, auth=[("ip", "127.0.0.1")]) + packet(7, 0, struct.pack(">qi", 0x100, 2)))
    leader = (packet(17, epoch, struct.pack(">i", 0x10000)) + packet(13, 0) + packet(2, epoch + 1, create_txn)
              + packet(10, epoch) + packet(12, 0) + packet(4, epoch + 1) + packet(5, 0)
              + packet(8, epoch + 1, create_txn) + packet(14, epoch) + packet(6, 0, struct.pack(">qi", 0x100, 4000)))
    observer = packet(16, epoch, learner_info) + packet(15, epoch)
    return [learner, leader, observer]


def write(target, seeds):
    directory = os.path.join(CORPUS, target)
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    for i, seed in enumerate(seeds):
        with open(os.path.join(directory, "seed-%02d" % i), "wb") as f:
            f.write(seed)
    print("%s: %d seeds, %d bytes" % (target, len(seeds), sum(map(len, seeds))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paddock", required=True, type=os.path.abspath)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp()
    try:
        write("client-stream", capture_client_streams(args.paddock, workdir))
        write("quorum-stream", quorum_streams())
        logs, snapshots = data_dir_files(args.paddock, workdir, "none")
        write("txn-log", logs)
        write("snapshot", snapshots)
        write("snapshot-gz", data_dir_files(args.paddock, workdir, "gz")[1])
        configs = []
        for folder, _, names in os.walk(os.path.join(REPO, "conf")):
            configs += [open(os.path.join(folder, n), "rb").read() for n in sorted(names) if n.endswith(".cfg")]
        write("config", configs)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
