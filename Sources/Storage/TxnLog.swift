import Dispatch
import Jute
import Logging
import Synchronization

/// The transaction log writer. Appends are queued from the kernel executor and written by one
/// background queue that batches them: every txn queued while the previous batch was being
/// fsynced goes out in the next write and shares its fsync (group commit), so throughput grows
/// with concurrency instead of being capped at one write per fsync.
///
/// Why @unchecked Sendable is safe: `pending` and `draining` are guarded by `state`'s Mutex; the
/// file and its counters are touched only on `queue`, which is serial.
public final class TxnLog: @unchecked Sendable {
    enum Entry {
        case txn(TxnHeader, Txn)
        /// Start a new file at the next txn (after a snapshot, as ZooKeeper's rollLog).
        case roll
    }

    private struct State {
        var pending: [Entry] = []
        var draining = false
    }

    private let directory: String
    private let preAllocBytes: Int
    private let forceSync: Bool
    private let logger: Logger
    private let queue = DispatchQueue(label: "paddock.txnlog")
    private let state = Mutex(State())
    private let onDurable: @Sendable (Int64) -> Void
    private let onFailure: @Sendable (any Error) -> Void

    // Queue-only state.
    private var file: StorageFile?
    private var writtenBytes = 0
    private var allocatedBytes = 0
    private var rollRequested = false
    private var batch: [UInt8] = []

    /// `onDurable(zxid)` runs on the log's queue once every txn up to `zxid` is on disk.
    /// `onFailure` runs if the log cannot be written; nothing more will be acknowledged.
    public init(directory: String, preAllocBytes: Int, forceSync: Bool, logger: Logger,
                onDurable: @escaping @Sendable (Int64) -> Void, onFailure: @escaping @Sendable (any Error) -> Void) {
        precondition(preAllocBytes > 0)
        self.directory = directory
        self.preAllocBytes = preAllocBytes
        self.forceSync = forceSync
        self.logger = logger
        self.onDurable = onDurable
        self.onFailure = onFailure
        if !forceSync { logger.warning("forceSync=no: acknowledged writes can be lost on power failure") }
    }

    public func append(_ header: TxnHeader, _ txn: Txn) { enqueue(.txn(header, txn)) }

    public func roll() { enqueue(.roll) }

    private func enqueue(_ entry: Entry) {
        let startDrain = state.withLock { state -> Bool in
            state.pending.append(entry)
            if state.draining { return false }
            state.draining = true
            return true
        }
        if startDrain { queue.async { self.drain() } }
    }

    /// Drops every txn after `zxid` from the log, and the snapshots past it (LogTruncation), for
    /// a follower's TRUNC. Like `close`, it first waits for everything queued so far to be written
    /// (the queue is serial); the next append starts a new file. `dataDirectory` is the dir whose
    /// log directory this log writes: truncation must reach its snapshots too.
    public func truncate(after zxid: Int64, in dataDirectory: DataDirectory) throws {
        precondition(dataDirectory.logDirectory == directory, "truncating another data dir than this log's")
        try queue.sync {
            file?.close()
            file = nil
            rollRequested = false
            try LogTruncation.truncate(dataDirectory, after: zxid, logger: logger)
        }
    }

    /// Waits for everything queued so far to be written, then closes the file.
    public func close() {
        queue.sync {
            file?.close()
            file = nil
        }
    }

    private func drain() {
        while true {
            let entries = state.withLock { state -> [Entry] in
                if state.pending.isEmpty { state.draining = false }
                defer { state.pending.removeAll(keepingCapacity: true) }
                return state.pending
            }
            if entries.isEmpty { return }
            do {
                try write(entries)
            } catch {
                logger.critical("txn log write failed: \(error)")
                onFailure(error)
                return
            }
        }
    }

    private func write(_ entries: [Entry]) throws {
        var lastZxid: Int64?
        for entry in entries {
            switch entry {
            case .roll:
                try flush()
                rollRequested = true
            case .txn(let header, let txn):
                if file == nil || rollRequested {
                    try flush()
                    try openFile(startingAt: header.zxid)
                }
                TxnLogFormat.appendRecord(header, txn, to: &batch)
                lastZxid = header.zxid
            }
        }
        try flush()
        if let lastZxid { onDurable(lastZxid) }
    }

    /// One write and one fsync for the whole batch.
    private func flush() throws {
        guard let file, !batch.isEmpty else { return }
        try preallocate(file, for: batch.count)
        try file.write(batch)
        writtenBytes += batch.count
        batch.removeAll(keepingCapacity: true)
        if forceSync { try file.sync() }
    }

    /// Grows the file in preAllocSize steps so most fsyncs need no size update (ZooKeeper's
    /// padding; the zeros read as the end of the log).
    private func preallocate(_ file: StorageFile, for count: Int) throws {
        guard writtenBytes + count + 4096 >= allocatedBytes else { return }
        allocatedBytes = (writtenBytes + count + 4096) / preAllocBytes * preAllocBytes + preAllocBytes
        try file.truncate(to: allocatedBytes)
    }

    private func openFile(startingAt zxid: Int64) throws {
        file?.close()
        let path = directory + "/log." + DataDirectory.hex(zxid)
        let newFile = try StorageFile(path: path, flags: O_WRONLY | O_CREAT | O_TRUNC)
        try newFile.write(TxnLogFormat.fileHeader())
        writtenBytes = TxnLogFormat.headerBytes
        allocatedBytes = 0
        try preallocate(newFile, for: 0)
        try newFile.sync()
        try Directory.sync(directory)
        file = newFile
        rollRequested = false
        logger.info("new txn log \(path)")
    }
}

#if canImport(Glibc)
import Glibc
#endif
