import DataTree
import Jute
import ModuleAPI

/// ZooKeeper 3.8's snapshot stream (FileSnap): header, sessions, ACL cache, nodes in pre-order
/// from the root (written as ""), the "/" terminator, then two Adler-32 seals over everything
/// before them with a ZxidDigest between. The codec (none, gz) wraps the whole stream.
public enum SnapshotFormat {
    public static let magic: Int32 = 0x5A4B_534E // "ZKSN"
    public static let version: Int32 = 2
    static let digestVersion: Int32 = 2
    static let terminator = "/"

    /// File header and the session table.
    public static func head(sessions: [(id: Int64, timeoutMs: Int32)]) -> [UInt8] {
        var w = JuteWriter(capacity: 16)
        w.writeInt32(magic)
        w.writeInt32(version)
        w.writeInt64(-1) // dbid: ZooKeeper writes -1
        return w.bytes + Self.sessions(sessions)
    }

    /// The session table: count, then id and timeout of each (ZooKeeper's
    /// SerializeUtils.serializeSnapshot, shared by snapshot files and the SNAP stream).
    static func sessions(_ sessions: [(id: Int64, timeoutMs: Int32)]) -> [UInt8] {
        var w = JuteWriter(capacity: 4 + sessions.count * 12)
        w.writeInt32(Int32(sessions.count))
        for session in sessions {
            w.writeInt64(session.id)
            w.writeInt32(session.timeoutMs)
        }
        return w.bytes
    }

    /// The ACL cache: ids and their lists (world:anyone/ALL, id -1, is never stored).
    public static func acls(_ cache: ACLCache) -> [UInt8] {
        var w = JuteWriter(capacity: 64)
        w.writeInt32(Int32(cache.aclByID.count))
        for (id, acl) in cache.aclByID.sorted(by: { $0.key < $1.key }) {
            w.writeInt64(id)
            w.writeVector(acl) { $0.writeRecord($1) }
        }
        return w.bytes
    }

    public static func appendNode(path: String, _ node: Znode, to w: inout JuteWriter) {
        w.writeString(path == "/" ? "" : path)
        w.writeBuffer(node.data)
        w.writeInt64(node.aclID)
        node.persisted.write(to: &w)
    }

    /// Writes up to `nodesMax` nodes in pre-order, popping paths from `pending` (a stack that
    /// starts as ["/"]) and skipping nodes created after `zxid` (a fuzzy walk's replay makes them).
    static func appendNodes(of tree: DataTree, pending: inout [String], createdBy zxid: Int64, nodesMax: Int,
                            to w: inout JuteWriter) {
        var written = 0
        while written < nodesMax, let path = pending.popLast() {
            guard let node = tree.node(path), node.czxid <= zxid else { continue }
            appendNode(path: path, node, to: &w)
            // Reverse order so the stack pops children in sorted order: stable bytes for tests.
            for child in node.children.sorted(by: >) { pending.append(PathValidation.join(path, child)) }
            written += 1
        }
    }
}

/// Writes one snapshot file through a codec, streaming: bytes are checksummed, compressed and
/// written as they arrive. Use from one thread at a time.
public final class SnapshotFileWriter {
    public let path: String
    public let zxid: Int64
    private let file: StorageFile
    private let directory: String
    private let compressor: any ByteStreamTransform
    private var checksum = Adler32()

    public init(directory: String, zxid: Int64, codec: any SnapshotCodec) throws {
        self.directory = directory
        self.zxid = zxid
        path = directory + "/snapshot." + DataDirectory.hex(zxid) + codec.fileSuffix
        file = try StorageFile(path: path, flags: O_WRONLY | O_CREAT | O_TRUNC)
        compressor = codec.makeCompressor()
    }

    /// Appends uncompressed snapshot bytes.
    public func append(_ bytes: [UInt8]) throws {
        checksum.update(bytes)
        try bytes.withUnsafeBytes { raw in
            try compressor.update(raw) { try file.write($0) }
        }
    }

    /// Writes the terminator, seals and digest, then makes the file durable.
    public func finish() throws {
        var w = JuteWriter()
        w.writeString(SnapshotFormat.terminator)
        try append(w.bytes)
        try appendSeal()
        var digest = JuteWriter()
        // An empty ZxidDigest: ZooKeeper then skips its digest comparison.
        digest.writeInt64(0)
        digest.writeInt32(SnapshotFormat.digestVersion)
        digest.writeInt64(0)
        try append(digest.bytes)
        try appendSeal()
        try compressor.finish { try file.write($0) }
        try file.sync()
        file.close()
        try Directory.sync(directory)
    }

    private func appendSeal() throws {
        var w = JuteWriter()
        w.writeInt64(Int64(checksum.value))
        w.writeString(SnapshotFormat.terminator)
        try append(w.bytes)
    }

    /// Removes a snapshot that will not be finished.
    public func abandon() {
        file.close()
        try? Directory.remove(path)
    }
}

#if canImport(Glibc)
import Glibc
#endif
