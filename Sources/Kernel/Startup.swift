import DataTree
import Jute
import Logging
import ModuleAPI
import Storage
import ZAB

/// Recovery at start-up: the newest loadable snapshot, the logged txns after it, and the
/// sessions they leave open.
struct RecoveredState {
    var tree: DataTree
    var sessions: [Int64: Int32]
    /// The last txns replayed, oldest first (at most `recentTxnsMax`): a new leader's DIFF source.
    var recentTxns: [LoggedTxn] = []
    var hadSnapshot = false
    static let recentTxnsMax = 500

    static func load(_ directory: DataDirectory, codecs: [any SnapshotCodec], config: Config, logger: Logger) throws -> RecoveredState {
        let recovery = Recovery(directory: directory, codecs: codecs, frameBytesMax: config.juteMaxBuffer, logger: logger)
        var state: RecoveredState
        if let snapshot = try recovery.loadNewestSnapshot() {
            state = RecoveredState(tree: snapshot.tree,
                                   sessions: Dictionary(snapshot.sessions.map { ($0.id, $0.timeoutMs) }, uniquingKeysWith: { $1 }))
            state.hadSnapshot = true
        } else {
            // ZooKeeper's rule: logs without any snapshot mean the dir lost files.
            guard try directory.logFiles().isEmpty else {
                throw StorageError("no snapshot found in \(directory.snapshotDirectory), but there are txn logs in \(directory.logDirectory)")
            }
            state = RecoveredState(tree: DataTree(), sessions: [:])
        }
        _ = try recovery.replayLogs(after: state.tree.lastProcessedZxid) { header, txn in
            state.tree.replay(header, txn)
            state.recentTxns.append(LoggedTxn(header: header, txn: txn))
            if state.recentTxns.count > 2 * recentTxnsMax { state.recentTxns.removeFirst(recentTxnsMax) }
            switch txn {
            case .createSession(let timeout): state.sessions[header.clientId] = timeout
            case .closeSession: state.sessions[header.clientId] = nil
            default: break
            }
        }
        return state
    }
}

extension KernelState {
    /// Sessions that were open at the crash or shutdown: they expire unless their clients return.
    func restoreSessions(_ recovered: [Int64: Int32]) {
        let now = clock.monotonicMs()
        for (id, timeout) in recovered.sorted(by: { $0.key < $1.key }) {
            sessions.add(Session(id: id, timeoutMs: Int(timeout)), nowMs: now)
        }
    }

    /// Writes a whole snapshot before serving, as ZooKeeper does after loading, so the next
    /// start replays little.
    func writeSnapshotNow() throws {
        var walk = FuzzySnapshot(tree: tree, sessions: sessionTimeouts)
        let writer = try SnapshotFileWriter(directory: dataDirectory.snapshotDirectory, zxid: walk.zxid, codec: snapshotCodec)
        do {
            while let chunk = walk.nextChunk(tree: tree, nodesMax: SnapshotJob.nodesPerChunk) { try writer.append(chunk) }
            try writer.finish()
        } catch {
            writer.abandon()
            throw error
        }
        logger.info("snapshot \(writer.path) written")
    }
}
