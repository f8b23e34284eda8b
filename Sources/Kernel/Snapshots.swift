import Dispatch
import DataTree
import Jute
import ModuleAPI
import Storage

/// When to snapshot and the snapshot under way. ZooKeeper's rule: after more than
/// snapCount/2 + a random share of snapCount/2 txns (so an ensemble's servers do not all
/// snapshot at once), roll the log and snapshot in the background; one snapshot at a time.
struct SnapshotPolicy {
    let snapCount: Int
    private var txnsSinceRoll = 0
    private var randomRoll: Int
    var job: SnapshotJob?

    init(snapCount: Int) {
        self.snapCount = max(snapCount, 2)
        randomRoll = Int.random(in: 0..<max(self.snapCount / 2, 1))
    }

    /// Counts a logged txn; true when it is time to roll the log and snapshot.
    mutating func txnLogged() -> Bool {
        txnsSinceRoll += 1
        guard txnsSinceRoll > snapCount / 2 + randomRoll else { return false }
        txnsSinceRoll = 0
        randomRoll = Int.random(in: 0..<max(snapCount / 2, 1))
        return true
    }
}

/// A fuzzy snapshot in progress: the walk runs on the executor a chunk per turn, the file
/// writing (compression, I/O) on the snapshot queue; one chunk is in flight at a time, so memory
/// stays bounded however large the tree.
///
/// Why @unchecked Sendable is safe: `writer` is used by the snapshot queue only, while the
/// executor only hands it chunks through that queue; `walk` is used by the executor only.
final class SnapshotJob: @unchecked Sendable {
    var walk: FuzzySnapshot
    let writer: SnapshotFileWriter
    /// Queue-only: the file is complete, or the job was called off.
    var finished = false
    var cancelled = false
    static let queue = DispatchQueue(label: "paddock.snapshot")
    /// Nodes serialized per executor turn: small enough that writes wait at most a few ms.
    static let nodesPerChunk = 2000

    init(walk: FuzzySnapshot, writer: SnapshotFileWriter) {
        self.walk = walk
        self.writer = writer
    }
}

extension KernelState {
    var sessionTimeouts: [(id: Int64, timeoutMs: Int32)] {
        sessions.sessions.values.map { ($0.id, Int32($0.timeoutMs)) }.sorted { $0.id < $1.id }
    }

    func startSnapshot() {
        guard snapshotPolicy.job == nil else {
            logger.warning("too busy to snapshot: the previous snapshot is still being written")
            return
        }
        let walk = FuzzySnapshot(tree: tree, sessions: sessionTimeouts)
        do {
            let writer = try SnapshotFileWriter(directory: dataDirectory.snapshotDirectory, zxid: walk.zxid, codec: snapshotCodec)
            snapshotPolicy.job = SnapshotJob(walk: walk, writer: writer)
            logger.info("snapshotting at 0x\(String(walk.zxid, radix: 16)) to \(writer.path)")
            snapshotStep()
        } catch {
            logger.error("cannot start a snapshot: \(error)")
        }
    }

    /// Serializes the next chunk here, writes it on the snapshot queue, and comes back for more.
    func snapshotStep() {
        guard let job = snapshotPolicy.job else { return }
        let chunk = job.walk.nextChunk(tree: tree, nodesMax: SnapshotJob.nodesPerChunk)
        let post = self.post
        SnapshotJob.queue.async {
            guard !job.cancelled else { return }
            do {
                if let chunk {
                    try job.writer.append(chunk)
                    post { $0.snapshotStep() }
                } else {
                    try job.writer.finish()
                    job.finished = true
                    post { $0.snapshotFinished(job.writer.path) }
                }
            } catch {
                job.writer.abandon()
                post { $0.snapshotFailed(error) }
            }
        }
    }

    /// Calls off a snapshot under way: a walk that spans a role change could capture txns the
    /// next leader has this server truncate.
    func cancelSnapshot() {
        guard let job = snapshotPolicy.job else { return }
        snapshotPolicy.job = nil
        SnapshotJob.queue.async {
            job.cancelled = true
            if !job.finished { job.writer.abandon() }
        }
        logger.info("snapshot \(job.writer.path) abandoned")
    }

    private func snapshotFinished(_ path: String) {
        snapshotPolicy.job = nil
        logger.info("snapshot \(path) written")
    }

    private func snapshotFailed(_ error: any Error) {
        snapshotPolicy.job = nil
        logger.error("snapshot failed: \(error)")
    }
}
