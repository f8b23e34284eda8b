import ZAB

/// One server's data dir: snapshots, a txn log whose tail is volatile until an fsync covers it,
/// and the two epoch files. What survives a crash is exactly what a real disk would keep.
struct SimDisk {
    /// Each snapshot holds the applied state when it was written (written and synced at once),
    /// oldest first. Nothing is ever purged.
    private(set) var snapshots: [[LoggedTxn]] = []
    private(set) var log: [LoggedTxn] = []
    /// log[..<durableCount] survives a crash.
    private(set) var durableCount = 0
    /// How much of the log the fsync in flight covers, if one is in flight.
    private(set) var syncingCount: Int?
    /// The epoch files are written and synced before the engine goes on (ZooKeeper writes them
    /// atomically), so they are durable as soon as they are written.
    var acceptedEpoch: Int64 = 0
    var currentEpoch: Int64 = 0

    /// What a restart (or reloadFromDisk) reads: the newest snapshot, then the log after it (log
    /// txns the snapshot covers are skipped, as ZooKeeper's recovery does); with no snapshot, the
    /// whole log.
    var history: [LoggedTxn] {
        let snapshot = snapshots.last ?? []
        let snapshotZxid = snapshot.last?.zxid ?? Int64.min
        return snapshot + log.filter { $0.zxid > snapshotZxid }
    }

    mutating func writeSnapshot(_ applied: [LoggedTxn]) { snapshots.append(applied) }

    /// Appends; returns whether the caller must start an fsync (none is in flight: group commit
    /// batches everything appended meanwhile into the next one).
    mutating func append(_ txn: LoggedTxn) -> Bool {
        log.append(txn)
        return startSync()
    }

    mutating func startSync() -> Bool {
        guard syncingCount == nil, log.count > durableCount else { return false }
        syncingCount = log.count
        return true
    }

    /// The fsync in flight finished. Returns the zxid now durable if it moved.
    mutating func syncCompleted() -> Int64? {
        guard let covered = syncingCount else { return nil }
        syncingCount = nil
        guard covered > durableCount else { return nil }
        durableCount = covered
        return log[covered - 1].zxid
    }

    /// Truncation (Storage's LogTruncation) deletes the snapshots past `zxid`, then cuts the log,
    /// and syncs before the engine goes on; an fsync in flight can no longer cover what was cut.
    mutating func truncate(after zxid: Int64) {
        snapshots.removeAll { ($0.last?.zxid ?? 0) > zxid }
        log.removeAll { $0.zxid > zxid }
        durableCount = min(durableCount, log.count)
        syncingCount = syncingCount.map { min($0, log.count) }
    }

    /// Power loss: the volatile tail is gone, except that a torn write may have left any prefix
    /// of it on the platter (recovery reads it as whole records).
    mutating func crash(keepingVolatile kept: Int) {
        precondition(kept >= 0 && durableCount + kept <= log.count)
        log.removeLast(log.count - durableCount - kept)
        durableCount = log.count
        syncingCount = nil
    }

    var volatileCount: Int { log.count - durableCount }

    /// Whether a crash now would keep this logged txn.
    func isDurable(_ zxid: Int64) -> Bool { log[..<durableCount].contains { $0.zxid == zxid } }
}
