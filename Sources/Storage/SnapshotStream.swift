import DataTree
import Jute

/// The body of ZooKeeper 3.8's SNAP sync. Right after the SNAP quorum packet the leader writes,
/// on the same socket, the session table, the data tree (ACL cache, nodes, the "/" end marker:
/// a snapshot file's records without its header, seals or digest) and the string "BenWasHere"
/// (LearnerHandler's SNAP branch: ZKDatabase.serializeSnapshot, then writeString). Nothing frames
/// it: the learner finds its end only by parsing it (Learner.syncWithLeader).
public enum SnapshotStream {
    public static let signature = "BenWasHere"

    /// The whole tree as it stands at `tree.lastProcessedZxid`: call it on the tree's owner, which
    /// applies nothing until it returns, so the stream is exact, not fuzzy.
    public static func encode(tree: DataTree, sessions: [(id: Int64, timeoutMs: Int32)]) -> [UInt8] {
        var w = JuteWriter(capacity: 64 * 1024)
        w.writeRaw(SnapshotFormat.sessions(sessions))
        w.writeRaw(SnapshotFormat.acls(tree.acls))
        var pending = ["/"]
        // Every node was created at or before lastProcessedZxid, so the filter keeps them all.
        SnapshotFormat.appendNodes(of: tree, pending: &pending, createdBy: tree.lastProcessedZxid, nodesMax: .max, to: &w)
        w.writeString(SnapshotFormat.terminator)
        w.writeString(signature)
        return w.bytes
    }
}

/// Restores a tree from a SNAP stream as its bytes arrive, in chunks of any size.
///
/// Records (a session, an ACL list's header, one ACL, a node, the signature) are parsed one at a
/// time once their bytes are in. A failed attempt learns how many bytes the record needs at least
/// and the next attempt waits for them, so at most one attempt fails per field of a record: a
/// stream arriving a byte at a time costs linear time however large its records are.
/// After a thrown error the decoder is spent; the connection is to be dropped.
public struct SnapshotStreamDecoder {
    public struct Result {
        public var tree: DataTree
        public var sessions: [(id: Int64, timeoutMs: Int32)]
        /// Bytes after the signature: the start of the quorum packets that follow it.
        public var leftover: [UInt8]
    }

    private enum Step: Equatable {
        case sessionCount
        case session(left: Int)
        case aclListCount
        /// The next list's id and length, or the nodes once none is left.
        case aclList(left: Int)
        /// The next ACL of `aclList`.
        case acl(left: Int, listsLeft: Int)
        case node
        case signature
        case done
    }

    /// The zxid the restored tree stands at: the SNAP packet's.
    public let zxid: Int64
    /// The most bytes one record may take. ZooKeeper bounds each string and buffer by
    /// jute.maxbuffer; without a bound a corrupt length would make the decoder wait forever.
    public let recordBytesMax: Int
    private let tree = DataTree()
    private var sessions: [(id: Int64, timeoutMs: Int32)] = []
    private var aclList: (id: Int64, acls: [ACL]) = (0, [])
    private var step = Step.sessionCount
    private var buffer: [UInt8] = []
    /// Where the next record starts in `buffer`.
    private var offset = 0
    /// Bytes dropped from the front of `buffer`, to report stream positions in errors.
    private var droppedBytes = 0
    /// Bytes from `offset` the next record needs at least, learned from the last failed attempt.
    private var neededBytes = 0

    public init(zxid: Int64, recordBytesMax: Int) {
        precondition(recordBytesMax > 0)
        self.zxid = zxid
        self.recordBytesMax = recordBytesMax
        tree.beginRestore()
    }

    /// Takes the next bytes of the stream; nil while the signature has not arrived.
    public mutating func feed(_ bytes: [UInt8]) throws -> Result? {
        precondition(step != .done, "the SNAP stream has ended; later bytes went out as leftover")
        buffer.append(contentsOf: bytes)
        while buffer.count - offset >= neededBytes, try parseNext() {
            if step == .done {
                tree.finishRestore(zxid: zxid)
                return Result(tree: tree, sessions: sessions, leftover: Array(buffer[offset...]))
            }
        }
        // Drop parsed bytes once they are most of the buffer: the bytes moved never outnumber
        // the bytes parsed since the last drop, so this stays linear.
        if offset > buffer.count / 2 {
            buffer.removeFirst(offset)
            droppedBytes += offset
            offset = 0
        }
        return nil
    }

    /// Parses the next record; false when its bytes are not all in yet.
    private mutating func parseNext() throws -> Bool {
        switch step {
        case .sessionCount:
            guard let count = try attempt({ try $0.readInt32() }) else { return false }
            step = .session(left: try checked(count, "session count"))
        case .session(let left):
            guard left > 0 else { step = .aclListCount; return true }
            guard let session = try attempt({ (id: try $0.readInt64(), timeoutMs: try $0.readInt32()) }) else { return false }
            sessions.append(session)
            step = .session(left: left - 1)
        case .aclListCount:
            guard let count = try attempt({ try $0.readInt32() }) else { return false }
            step = .aclList(left: try checked(count, "ACL cache size"))
        case .aclList(let left):
            guard left > 0 else { step = .node; return true }
            guard let (id, count) = try attempt({ (try $0.readInt64(), try $0.readInt32()) }) else { return false }
            aclList = (id, [])
            step = .acl(left: try checked(count, "ACL list length"), listsLeft: left - 1)
        case .acl(let left, let listsLeft):
            guard left > 0 else {
                tree.restoreACL(id: aclList.id, acl: aclList.acls)
                step = .aclList(left: listsLeft)
                return true
            }
            guard let acl = try attempt({ try ACL(from: &$0) }) else { return false }
            aclList.acls.append(acl)
            step = .acl(left: left - 1, listsLeft: listsLeft)
        case .node:
            return try parseNode()
        case .signature:
            guard let signature = try attempt({ try $0.readString() }) else { return false }
            guard signature == SnapshotStream.signature else {
                throw malformed("the signature is '\(signature ?? "null")', not '\(SnapshotStream.signature)'")
            }
            step = .done
        case .done:
            preconditionFailure("nothing follows the signature")
        }
        return true
    }

    /// A node (path, data, ACL id, StatPersisted) or the "/" that ends the nodes.
    private mutating func parseNode() throws -> Bool {
        let parsed = try attempt { r -> (path: String?, node: (data: [UInt8]?, aclID: Int64, stat: StatPersisted)?) in
            let path = try r.readString()
            guard let path, path != SnapshotFormat.terminator else { return (path, nil) }
            return (path, (try r.readBuffer(), try r.readInt64(), try StatPersisted(from: &r)))
        }
        guard let parsed else { return false }
        guard let path = parsed.path else { throw malformed("a node has a null path") }
        guard let node = parsed.node else {
            step = .signature
            return true
        }
        do {
            // An ACL id missing from the cache is tolerated, as ZooKeeper does: its leader's
            // stream is fuzzy, and the txns that follow the snapshot set the node's ACL again.
            try tree.restoreNode(path: path, data: node.data, aclID: node.aclID, stat: node.stat)
        } catch {
            throw malformed("\(error)")
        }
        return true
    }

    /// Runs `body` over the record at `offset`; nil, with `neededBytes` raised, when the record is
    /// not all in yet.
    private mutating func attempt<T>(_ body: (inout JuteReader) throws -> T) throws -> T? {
        var reader = JuteReader(buffer, offset: offset)
        let end: Int
        do {
            let value = try body(&reader)
            guard reader.offset - offset <= recordBytesMax else { throw tooLarge(reader.offset - offset) }
            offset = reader.offset
            neededBytes = 0
            return value
        } catch let error as JuteError {
            // JuteReader checks before it moves, so `reader.offset` is where the short read began
            // (after the length prefix for a length that overruns the input).
            switch error {
            case .truncated(let needed, _): end = reader.offset + needed
            case .invalidLength(let length) where length >= 0: end = reader.offset + Int(length)
            default: throw malformed("\(error)")
            }
        }
        guard end - offset <= recordBytesMax else { throw tooLarge(end - offset) }
        neededBytes = end - offset
        return nil
    }

    private func checked(_ count: Int32, _ what: String) throws -> Int {
        guard count >= 0 else { throw malformed("negative \(what) \(count)") }
        return Int(count)
    }

    private func malformed(_ reason: String) -> StorageError {
        StorageError("SNAP stream is malformed at byte \(droppedBytes + offset): \(reason)")
    }

    private func tooLarge(_ bytes: Int) -> StorageError {
        malformed("a record of \(bytes) bytes or more exceeds the \(recordBytesMax)-byte limit")
    }
}
