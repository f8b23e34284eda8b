/// How a leader brings a learner up to date (ZooKeeper 3.8's LearnerHandler.syncFollower):
/// DIFF sends the committed txns the learner lacks, TRUNC makes it drop txns only an old leader
/// had, SNAP replaces its state with the leader's snapshot.
public enum LearnerSync: Equatable, Sendable {
    /// Send the committed txns after `from` (exclusive) up to `through` as PROPOSAL+COMMIT pairs.
    case diff(from: Int64, through: Int64)
    /// The learner truncates its log back to `to`, then gets a DIFF from there.
    case trunc(to: Int64)
    case snap

    /// Chooses for a learner whose last logged zxid is `peer`, given the leader's committed zxids
    /// in memory (ascending) and its last processed zxid.
    public static func choose(peer: Int64, committed: [Int64], lastProcessed: Int64) -> LearnerSync {
        precondition(zip(committed, committed.dropFirst()).allSatisfy { $0 < $1 }, "committed zxids ascend")
        if peer == lastProcessed { return .diff(from: peer, through: peer) }
        guard let min = committed.first, let max = committed.last else { return .snap }
        if peer > max {
            // A learner ahead of us holds txns no quorum committed; an epoch-start zxid holds none.
            return Zxid.counter(of: peer) == 0 ? .snap : .trunc(to: max)
        }
        if peer < min { return .snap }
        if committed.contains(peer) || Zxid.counter(of: peer) == 0 { return .diff(from: peer, through: max) }
        // peer is inside our range but not ours: it has txns of an old leader after the last
        // one we share; truncate to that, unless that crosses into an older epoch.
        guard let shared = committed.last(where: { $0 < peer }), Zxid.epoch(of: shared) == Zxid.epoch(of: peer) else {
            return .snap
        }
        return .trunc(to: shared)
    }
}
