import Jute
import ZAB

/// What happened in a run, kept as data and turned into text only when someone reads it (a
/// failure), so recording costs little.
public struct TraceEntry {
    public enum Item {
        case input(ZabInput)
        case effect(ZabEffect)
        /// Something the world did: a crash, a partition, a client write.
        case note(String)
    }

    public let timeMs: Int64
    /// 0 for world-wide notes.
    public let peer: Int64
    public let item: Item
}

extension TraceEntry: CustomStringConvertible {
    public var description: String {
        let time = String(timeMs).leftPadded(to: 7)
        switch item {
        case .input(let input): return "\(time) p\(peer) <- \(Self.describe(input))"
        case .effect(let effect): return "\(time) p\(peer) -> \(Self.describe(effect))"
        case .note(let text): return "\(time) \(peer == 0 ? "**" : "p\(peer)") \(text)"
        }
    }

    static func describe(_ input: ZabInput) -> String {
        switch input {
        case .start: return "start"
        case .tick: return "tick"
        case .timerFired(let timer): return "timer \(timer)"
        case .election(let n): return "election \(describe(n))"
        case .connectedToLeader(let id): return "connected to leader \(id)"
        case .packet(let from, let packet): return "from \(from): \(describe(packet))"
        case .disconnected(let id): return "disconnected \(id)"
        case .durable(let zxid): return "durable through \(zxidText(zxid))"
        case .propose(let txn): return "propose \(describe(txn))"
        case .reloaded(let zxid): return "reloaded through \(zxidText(zxid))"
        }
    }

    static func describe(_ effect: ZabEffect) -> String {
        switch effect {
        case .sendElection(let to, let n): return "election to \(to): \(describe(n))"
        case .armTimer(let timer, let ms): return "arm \(timer) \(ms)ms"
        case .connectToLeader(let id): return "connect to leader \(id)"
        case .send(let to, let packet): return "send \(to): \(describe(packet))"
        case .sendSnapshot(let to): return "send snapshot to \(to)"
        case .disconnect(let id): return "disconnect \(id)"
        case .persist(let txn): return "persist \(describe(txn))"
        case .truncateLog(let zxid): return "truncate log after \(zxidText(zxid))"
        case .reloadFromDisk: return "reload from disk"
        case .takeSnapshot: return "take snapshot"
        case .persistAcceptedEpoch(let epoch): return "acceptedEpoch := \(epoch)"
        case .persistCurrentEpoch(let epoch): return "currentEpoch := \(epoch)"
        case .commit(let txn): return "commit \(describe(txn))"
        case .roleChanged(let state, let leader): return "role \(state)\(leader.map { " (leader \($0))" } ?? "")"
        case .serving(let epoch): return "serving epoch \(epoch)"
        case .toKernel(let from, let packet): return "to kernel from \(from): \(describe(packet))"
        case .log(let text): return "log \"\(text)\""
        }
    }

    static func describe(_ n: ElectionNotification) -> String {
        "\(n.sender) \(n.state) votes \(n.vote.leader) (zxid \(zxidText(n.vote.zxid)), epoch \(n.vote.peerEpoch)) round \(n.electionEpoch)"
    }

    static func describe(_ packet: QuorumPacket) -> String {
        "\(packetNames[packet.type] ?? "type \(packet.type)") \(zxidText(packet.zxid))"
    }

    static func describe(_ txn: LoggedTxn) -> String { "\(zxidText(txn.zxid)) #\(txn.header.cxid)" }

    /// epoch.counter reads better than ZooKeeper's hex in a long trace.
    static func zxidText(_ zxid: Int64) -> String {
        zxid < 0 ? String(zxid) : "\(Zxid.epoch(of: zxid)).\(Zxid.counter(of: zxid))"
    }

    static let packetNames: [Int32: String] = [
        QuorumPacketType.request: "REQUEST", QuorumPacketType.proposal: "PROPOSAL", QuorumPacketType.ack: "ACK",
        QuorumPacketType.commit: "COMMIT", QuorumPacketType.ping: "PING", QuorumPacketType.sync: "SYNC",
        QuorumPacketType.newLeader: "NEWLEADER", QuorumPacketType.followerInfo: "FOLLOWERINFO",
        QuorumPacketType.upToDate: "UPTODATE", QuorumPacketType.diff: "DIFF", QuorumPacketType.trunc: "TRUNC",
        QuorumPacketType.snap: "SNAP", QuorumPacketType.leaderInfo: "LEADERINFO", QuorumPacketType.ackEpoch: "ACKEPOCH",
        QuorumPacketType.inform: "INFORM", QuorumPacketType.observerInfo: "OBSERVERINFO",
    ]
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
