import Logging

/// Drops every txn after a zxid from a data dir: what a follower does on the leader's TRUNC
/// (ZooKeeper's FileTxnLog.truncate) and before it installs a leader's snapshot.
public enum LogTruncation {
    /// Leaves no txn and no snapshot after `zxid`. The steps run in an order that keeps the dir
    /// a prefix of its old history at every point, so a crash part-way leaves a dir that
    /// recovers to a state the logs back, and the truncation can run again:
    /// 1. snapshots after `zxid` (cutting the logs first would let recovery load a snapshot
    ///    holding dropped txns);
    /// 2. logs starting after `zxid`, newest first (ZooKeeper cuts first and deletes after,
    ///    which leaves a gap if it stops between);
    /// 3. the log holding `zxid`, cut after it, so the reader finds a clean end there.
    /// With no log at all there is nothing to cut (ZooKeeper throws; a fresh follower about to
    /// install a snapshot has none).
    public static func truncate(_ directory: DataDirectory, after zxid: Int64, logger: Logger) throws {
        let snapshots = try directory.snapshotFiles().filter { $0.zxid > zxid }
        let logs = try directory.logFiles()
        let laterLogs = logs.filter { $0.zxid > zxid }
        try remove(snapshots, from: directory.snapshotDirectory)
        try remove(laterLogs, from: directory.logDirectory)
        var dropped = (snapshots + laterLogs).map(\.path)
        if let holding = logs.last(where: { $0.zxid <= zxid }), let cut = try cut(holding, after: zxid, logger: logger) {
            dropped.append("\(cut.txns) txns of \(holding.path) from offset \(cut.offset)")
        }
        let summary = dropped.isEmpty ? "nothing to drop" : "dropped " + dropped.joined(separator: ", ")
        logger.info("truncated the data dir after 0x\(DataDirectory.hex(zxid)): \(summary)")
    }

    private static func remove(_ files: [DataDirectory.File], from directory: String) throws {
        guard !files.isEmpty else { return }
        for file in files.reversed() { try Directory.remove(file.path) }
        try Directory.sync(directory)
    }

    /// Cuts `file` where its first txn after `zxid` starts; nil when it holds none. Damage met
    /// before such a txn stops the truncation, as ZooKeeper's CRC error does: records past the
    /// damage may be history up to `zxid`, which recovery refuses to lose.
    private static func cut(_ file: DataDirectory.File, after zxid: Int64, logger: Logger) throws -> (offset: Int, txns: Int)? {
        // Lengths are bounded by the file here; checksums keep garbage from passing as records.
        let (records, damage) = try TxnLogReader.records(of: file.path, frameBytesMax: Int(Int32.max), logger: logger)
        guard let first = records.firstIndex(where: { $0.header.zxid > zxid }) else {
            if let damage { throw StorageError("cannot truncate \(file.path) after 0x\(DataDirectory.hex(zxid)): damaged \(damage)") }
            return nil
        }
        let offset = records[first].offset
        let handle = try StorageFile(path: file.path, flags: O_WRONLY)
        try handle.truncate(to: offset)
        try handle.sync()
        return (offset, records.count - first)
    }
}

#if canImport(Glibc)
import Glibc
#endif
