/// ZooKeeper 3.8's data-dir layout: files under `<dir>/version-2/`, named `log.<zxid>` and
/// `snapshot.<zxid>[.gz|...]` with the zxid in lowercase hex without padding.
public struct DataDirectory: Sendable {
    public let snapshotDirectory: String
    public let logDirectory: String

    public init(dataDir: String, dataLogDir: String) {
        snapshotDirectory = dataDir + "/version-2"
        logDirectory = dataLogDir + "/version-2"
    }

    public func create() throws {
        try Directory.create(snapshotDirectory)
        try Directory.create(logDirectory)
    }

    public struct File: Equatable, Sendable {
        public var path: String
        public var zxid: Int64
        /// What follows the zxid (".gz"), which picks the snapshot codec.
        public var suffix: String
    }

    /// `prefix.<hex zxid>[suffix]` files, oldest first; names that do not parse are ignored.
    static func files(in directory: String, prefix: String) throws -> [File] {
        try Directory.list(directory).compactMap { name -> File? in
            let parts = name.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2, parts[0] == prefix, let zxid = UInt64(parts[1], radix: 16) else { return nil }
            return File(path: directory + "/" + name, zxid: Int64(bitPattern: zxid),
                        suffix: parts.count == 3 ? "." + parts[2] : "")
        }.sorted { $0.zxid < $1.zxid }
    }

    public func logFiles() throws -> [File] { try Self.files(in: logDirectory, prefix: "log") }
    public func snapshotFiles() throws -> [File] { try Self.files(in: snapshotDirectory, prefix: "snapshot") }

    public static func hex(_ zxid: Int64) -> String { String(UInt64(bitPattern: zxid), radix: 16) }

    /// The logs that hold every txn after `zxid`: the newest starting at or before it and all later.
    static func logs(_ all: [File], after zxid: Int64) -> [File] {
        let start = all.lastIndex { $0.zxid <= zxid } ?? 0
        return Array(all[start...])
    }
}
