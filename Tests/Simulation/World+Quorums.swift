import Jute
import ZAB

/// Observers follow the leader but must never weigh in:
/// (g) an observer only ever looks or observes (never leads, never follows), no vote names it,
///     and once synced it gets txns only as INFORM (no PROPOSAL, no COMMIT);
/// (h) every quorum decision a leader takes (fixing its epoch, serving, each commit) rests on a
///     quorum of voters, judged by what reached it from voters, not by the engine's own counts;
///     observers send no proposal ACK, and no server ACKs a txn before its disk holds it.
extension World {
    /// What a leader hears from voters, and what an observer hears from its leader, before the
    /// engine acts on it.
    func audit(_ input: ZabInput, at id: Int64) {
        let h = host(id)
        switch input {
        case .durable(let zxid) where h.role == .leading:
            withHost(id) { host in
                for outstanding in host.outstanding.keys where outstanding <= zxid { host.outstanding[outstanding]!.insert(id) }
            }
        case .packet(let from, let packet) where h.role == .leading && !isObserver(from):
            withHost(id) { host in
                if packet.type == QuorumPacketType.ackEpoch {
                    host.epochAckers.insert(from)
                } else if packet.type == QuorumPacketType.ack && Zxid.counter(of: packet.zxid) == 0 {
                    host.newLeaderAckers[packet.zxid, default: []].insert(from)
                } else if packet.type == QuorumPacketType.ack {
                    // Only the ACK of this very txn counts: the check must not share the
                    // engine's reading of ACKs as cumulative.
                    host.outstanding[packet.zxid]?.insert(from)
                }
            }
        case .packet(_, let packet) where isObserver(id):
            if packet.type == QuorumPacketType.newLeader { withHost(id) { $0.observerSynced = true } }
            if h.observerSynced && (packet.type == QuorumPacketType.proposal || packet.type == QuorumPacketType.commit) {
                fail("(g) observer p\(id) got \(TraceEntry.describe(packet)) after its sync")
            }
        default:
            break
        }
    }

    /// (h) `backers` (voters only) must be a quorum of the voters.
    func checkVoterQuorum(_ backers: Set<Int64>, on id: Int64, for decision: String) {
        if backers.count < options.voterCount / 2 + 1 {
            fail("(h) p\(id) \(decision) with only voters \(backers.sorted()) behind it, fewer than a quorum of \(options.voterCount)")
        }
    }

    /// (g) Nobody proposes an observer, and an observer never says it leads or follows.
    func checkVote(_ notification: ElectionNotification) {
        if isObserver(notification.vote.leader) || (isObserver(notification.sender)
            && notification.state != .looking && notification.state != .observing) {
            fail("(g) p\(notification.sender) sends \(TraceEntry.describe(notification))")
        }
    }

    /// (h) A proposal ACK (counter > 0; the epoch's zxid acknowledges NEWLEADER or UPTODATE)
    /// comes only from a voter whose disk holds the txn.
    func checkAck(_ packet: QuorumPacket, from id: Int64) {
        guard packet.type == QuorumPacketType.ack, Zxid.counter(of: packet.zxid) != 0 else { return }
        if isObserver(id) {
            fail("(h) observer p\(id) sends \(TraceEntry.describe(packet))")
        } else if !host(id).disk.isDurable(packet.zxid) {
            fail("(h) p\(id) sends \(TraceEntry.describe(packet)) before its disk holds the txn")
        }
    }
}
