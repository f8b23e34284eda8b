import Logging

/// ZooKeeper's PurgeTxnLog: keep the `retain` newest snapshots and the logs needed to replay
/// from the oldest of them; remove everything older.
public enum Purge {
    public static let retainMin = 3

    @discardableResult
    public static func run(_ directory: DataDirectory, retain: Int, logger: Logger) throws -> [String] {
        precondition(retain >= retainMin, "ZooKeeper keeps at least 3 snapshots")
        let snapshots = try directory.snapshotFiles()
        guard snapshots.count > retain else { return [] }
        let oldestKept = snapshots[snapshots.count - retain].zxid
        let logs = try directory.logFiles()
        let keptLogs = Set(DataDirectory.logs(logs, after: oldestKept).map(\.path))
        var removed: [String] = []
        for file in snapshots where file.zxid < oldestKept { removed.append(file.path) }
        for file in logs where file.zxid < oldestKept && !keptLogs.contains(file.path) { removed.append(file.path) }
        for path in removed {
            try Directory.remove(path)
            logger.info("purged \(path)")
        }
        return removed
    }
}
