"""Captures client<->server frames of a scripted kazoo session through a loopback proxy.

Run against Apache ZooKeeper 3.8 to (re)make zookeeper-3.8-session.json, the vectors JuteTests
decode and re-encode byte for byte:

    python capture.py <zookeeper-host:port> zookeeper-3.8-session.json

Needs kazoo. Each entry is {"dir": "c2s"|"s2c", "hex": <frame without its length prefix>}.
"""
import json
import socket
import sys
import threading

from kazoo.client import KazooClient


def pump(src, dst, direction, log, lock):
    buf = b""
    while True:
        data = src.recv(65536)
        if not data:
            break
        dst.sendall(data)
        buf += data
        while len(buf) >= 4:
            n = int.from_bytes(buf[:4], "big")
            if len(buf) < 4 + n:
                break
            with lock:
                log.append({"dir": direction, "hex": buf[4:4 + n].hex()})
            buf = buf[4 + n:]
    dst.close()


def main():
    host, port = sys.argv[1].split(":")
    out = sys.argv[2]
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    proxy_port = listener.getsockname()[1]
    log, lock = [], threading.Lock()

    def accept():
        client, _ = listener.accept()
        upstream = socket.create_connection((host, int(port)))
        threading.Thread(target=pump, args=(client, upstream, "c2s", log, lock), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client, "s2c", log, lock), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    zk = KazooClient(f"127.0.0.1:{proxy_port}")
    zk.start()
    fired = threading.Event()
    zk.create("/vec", b"hello")
    zk.create("/vec/seq-", b"", sequence=True, ephemeral=True)
    zk.create("/vec/stat", b"x", include_data=True)
    zk.get("/vec", watch=lambda e: fired.set())
    zk.set("/vec", b"world", version=0)
    fired.wait(10)
    zk.exists("/vec/missing")
    zk.get_children("/vec", include_data=True)
    zk.get_acls("/vec")
    zk.set_acls("/vec", zk.get_acls("/vec")[0])
    zk.sync("/vec")
    tx = zk.transaction()
    tx.create("/vec/m1", b"1")
    tx.set_data("/vec", b"m", version=-1)
    tx.check("/vec/stat", 0)
    tx.delete("/vec/m1")
    tx.commit()
    tx = zk.transaction()
    tx.create("/vec/m2")
    tx.create("/vec")
    tx.commit()
    try:
        zk.delete("/vec")
    except Exception:
        pass
    zk.stop()
    with lock:
        json.dump(log, open(out, "w"), indent=0)


if __name__ == "__main__":
    main()
