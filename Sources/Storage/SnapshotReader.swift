import DataTree
import Jute
import Logging
import ModuleAPI

/// What a snapshot file held.
public struct LoadedSnapshot {
    public var zxid: Int64
    public var sessions: [(id: Int64, timeoutMs: Int32)]
    public var tree: DataTree
    public var path: String
}

/// Reads a snapshot through its codec a chunk at a time, so a large tree is never held twice:
/// records are parsed from a small buffer refilled from the decompressor.
public final class SnapshotReader {
    static let fileChunkBytes = 64 * 1024

    private let file: StorageFile
    private let decompressor: any ByteStreamTransform
    private var buffer: [UInt8] = []
    private var offset = 0
    private var checksum = Adler32()
    private var sourceDone = false
    /// The most decompressed bytes buffered at once: a snapshot streams, so this stays near
    /// one file chunk's worth whatever the tree's size.
    public private(set) var bufferedBytesMax = 0
    let path: String

    public init(path: String, codec: any SnapshotCodec) throws {
        self.path = path
        file = try StorageFile(path: path, flags: O_RDONLY)
        decompressor = codec.makeDecompressor()
    }

    /// Parses one record; the bytes it covers join the running checksum.
    func parse<T>(_ body: (inout JuteReader) throws -> T) throws -> T {
        while true {
            var reader = JuteReader(buffer, offset: offset)
            do {
                let value = try body(&reader)
                buffer.withUnsafeBytes { checksum.update(UnsafeRawBufferPointer(rebasing: $0[offset..<reader.offset])) }
                offset = reader.offset
                return value
            } catch let error as JuteError {
                guard !sourceDone else { throw StorageError("\(path): snapshot ends early or is corrupt (\(error))") }
                try refill()
            }
        }
    }

    private func refill() throws {
        if offset > 0 {
            buffer.removeFirst(offset)
            offset = 0
        }
        let chunk = try file.read(Self.fileChunkBytes)
        try chunk.withUnsafeBytes { raw in
            try decompressor.update(raw) { buffer.append(contentsOf: $0) }
        }
        if chunk.count < Self.fileChunkBytes {
            try decompressor.finish { buffer.append(contentsOf: $0) }
            sourceDone = true
        }
        bufferedBytesMax = max(bufferedBytesMax, buffer.count)
    }

    /// Loads and validates the whole file: magic, every record, the terminator and both seals.
    public func load(zxid: Int64, logger: Logger) throws -> LoadedSnapshot {
        let (magic, _, _) = try parse { r in (try r.readInt32(), try r.readInt32(), try r.readInt64()) }
        guard magic == SnapshotFormat.magic else { throw StorageError("\(path) is not a snapshot (bad magic)") }
        let sessionCount = try parse { try $0.readInt32() }
        guard sessionCount >= 0 else { throw StorageError("\(path): negative session count") }
        var sessions: [(id: Int64, timeoutMs: Int32)] = []
        for _ in 0..<sessionCount { sessions.append(try parse { (try $0.readInt64(), try $0.readInt32()) }) }
        let tree = DataTree()
        tree.beginRestore()
        let aclCount = try parse { try $0.readInt32() }
        // Found by the snapshot fuzzer: a negative count used to trap in the range below.
        guard aclCount >= 0 else { throw StorageError("\(path): negative ACL cache size") }
        for _ in 0..<aclCount {
            let (id, acl) = try parse { r in (try r.readInt64(), try r.readVector(elementSizeMin: 12) { try ACL(from: &$0) } ?? []) }
            tree.restoreACL(id: id, acl: acl)
        }
        while true {
            let path = try parse { try $0.readString() ?? "" }
            if path == SnapshotFormat.terminator { break }
            let (data, aclID, stat) = try parse { r in (try r.readBuffer(), try r.readInt64(), try StatPersisted(from: &r)) }
            if try !tree.restoreNode(path: path, data: data, aclID: aclID, stat: stat) {
                logger.info("\(path): ACL id \(aclID) is not in the snapshot's cache; the log replay sets it")
            }
        }
        try checkSeal()
        _ = try? parse { r in (try r.readInt64(), try r.readInt32(), try r.readInt64()) } // ZxidDigest, absent before 3.6
        if offset < buffer.count || !sourceDone { try checkSeal() }
        tree.finishRestore(zxid: zxid)
        return LoadedSnapshot(zxid: zxid, sessions: sessions, tree: tree, path: path)
    }

    private func checkSeal() throws {
        let expected = Int64(checksum.value)
        let (value, marker) = try parse { r in (try r.readInt64(), try r.readString()) }
        guard value == expected, marker == SnapshotFormat.terminator else {
            throw StorageError("\(path): checksum mismatch (stored \(value), computed \(expected))")
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
