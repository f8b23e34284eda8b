import ZAB

/// The safety properties a run must keep, checked while it runs and once more at the end.
/// Txns are told apart by their whole content (the simulator gives every proposal its own cxid),
/// so two different txns with one zxid count as divergence.
struct InvariantChecker {
    private(set) var violations: [String] = []
    /// (a) The one server that served as leader in each epoch.
    private var leaderOfEpoch: [Int64: Int64] = [:]
    /// Writes acknowledged to a client, by zxid, and their zxids in order. ZAB's total order is
    /// zxid order, even across epochs (a deposed leader may acknowledge an older zxid late).
    private var acknowledged: [Int64: LoggedTxn] = [:]
    private var acknowledgedZxids: [Int64] = []
    private var acknowledgedCxids: Set<Int32> = []

    var acknowledgedCount: Int { acknowledgedZxids.count }

    func isAcknowledged(cxid: Int32) -> Bool { acknowledgedCxids.contains(cxid) }

    mutating func fail(_ message: String) { violations.append(message) }

    /// (a) At most one server serves as leader for a given epoch.
    mutating func leaderServes(_ peer: Int64, epoch: Int64) {
        if let other = leaderOfEpoch[epoch], other != peer {
            fail("(a) p\(peer) serves as leader of epoch \(epoch), which p\(other) already led")
        }
        leaderOfEpoch[epoch] = peer
    }

    /// A leader committed this write while leading: the client hears it succeeded.
    mutating func acknowledge(_ txn: LoggedTxn, by peer: Int64) {
        if let earlier = acknowledged[txn.zxid] {
            if earlier != txn { fail("(e) p\(peer) acknowledged \(TraceEntry.describe(txn)), another txn than the acknowledged \(TraceEntry.describe(earlier))") }
            return
        }
        acknowledged[txn.zxid] = txn
        acknowledgedCxids.insert(txn.header.cxid)
        let index = acknowledgedZxids.firstIndex { $0 > txn.zxid } ?? acknowledgedZxids.endIndex
        acknowledgedZxids.insert(txn.zxid, at: index)
    }

    /// (b) A server's applied state ascends strictly in zxid.
    mutating func checkAscending(_ applied: [LoggedTxn], peer: Int64, after what: String) {
        for (earlier, later) in zip(applied, applied.dropFirst()) where earlier.zxid >= later.zxid {
            fail("(b) p\(peer) applied \(TraceEntry.describe(later)) after \(TraceEntry.describe(earlier)) (\(what))")
            return
        }
    }

    /// (e) Restricted to acknowledged writes, every server's applied state is a prefix of the
    /// acknowledged order: no acknowledged write is missing before one it holds, none is replaced.
    mutating func checkCommittedPrefix(_ applied: [LoggedTxn], peer: Int64) {
        var position = 0
        for txn in applied {
            guard let acked = acknowledged[txn.zxid] else { continue }
            guard acked == txn else {
                fail("(e) p\(peer) applied \(TraceEntry.describe(txn)) where \(TraceEntry.describe(acked)) was acknowledged")
                return
            }
            guard acknowledgedZxids[position] == txn.zxid else {
                fail("(e) p\(peer) applied acknowledged \(TraceEntry.describe(txn)) but lacks the acknowledged \(TraceEntry.describe(acknowledged[acknowledgedZxids[position]]!)) before it")
                return
            }
            position += 1
        }
    }

    /// (c) and (d), once the world has healed and gone quiet: every server holds the same state,
    /// and it holds every acknowledged write, in acknowledged order.
    mutating func checkHealed(_ applied: [[LoggedTxn]]) {
        for (index, state) in applied.enumerated().dropFirst() where state != applied[0] {
            let peer = index + 1
            let common = min(state.count, applied[0].count)
            let diverges = (0..<common).first { state[$0] != applied[0][$0] } ?? common
            fail("(d) after healing p\(peer) holds \(state.count) txns and p1 \(applied[0].count); they differ from position \(diverges)")
        }
        for (index, state) in applied.enumerated() {
            let held = Set(state.map(\.zxid))
            if let missing = acknowledgedZxids.first(where: { !held.contains($0) }) {
                fail("(c) after healing p\(index + 1) lacks the acknowledged write \(TraceEntry.describe(acknowledged[missing]!))")
            }
            checkCommittedPrefix(state, peer: Int64(index + 1))
        }
    }
}
