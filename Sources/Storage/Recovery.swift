import DataTree
import Jute
import Logging
import ModuleAPI

/// Rebuilds the state from a data dir: the newest snapshot that loads (older ones if it is
/// damaged), then every logged txn after it.
public struct Recovery {
    public let directory: DataDirectory
    /// Codecs by file suffix ("" for none, ".gz", ...), so a dir with mixed files loads.
    public let codecs: [String: any SnapshotCodec]
    public let frameBytesMax: Int
    public let logger: Logger

    public init(directory: DataDirectory, codecs: [any SnapshotCodec], frameBytesMax: Int, logger: Logger) {
        self.directory = directory
        self.codecs = Dictionary(codecs.map { ($0.fileSuffix, $0) }, uniquingKeysWith: { first, _ in first })
        self.frameBytesMax = frameBytesMax
        self.logger = logger
    }

    /// nil when the dir holds nothing yet (a fresh server).
    public func loadNewestSnapshot() throws -> LoadedSnapshot? {
        let snapshots = try directory.snapshotFiles()
        for file in snapshots.reversed() {
            guard let codec = codecs[file.suffix] else {
                logger.warning("\(file.path): no snapshot codec for '\(file.suffix)'; skipping")
                continue
            }
            do {
                let loaded = try SnapshotReader(path: file.path, codec: codec).load(zxid: file.zxid, logger: logger)
                logger.info("loaded snapshot \(file.path)")
                return loaded
            } catch {
                logger.warning("cannot load snapshot \(file.path): \(error); trying an older one")
            }
        }
        if !snapshots.isEmpty { throw StorageError("no snapshot in \(directory.snapshotDirectory) could be loaded") }
        return nil
    }

    /// Replays every logged txn after `zxid` through `apply`, returning the last zxid seen.
    public func replayLogs(after zxid: Int64, _ apply: (TxnHeader, Txn) throws -> Void) throws -> Int64 {
        let logs = DataDirectory.logs(try directory.logFiles(), after: zxid)
        var last = zxid
        var count = 0
        try TxnLogReader(files: logs, frameBytesMax: frameBytesMax, logger: logger).replay(after: zxid) { header, txn in
            try apply(header, txn)
            last = header.zxid
            count += 1
        }
        logger.info("replayed \(count) txns from \(logs.count) log files; last zxid 0x\(DataDirectory.hex(last))")
        return last
    }
}
