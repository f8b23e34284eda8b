// Transactions (zookeeper.jute, module txn): what the pipeline commits, the log stores and the tree applies.

public struct TxnHeader: JuteRecord, Equatable {
    public var clientId: Int64
    public var cxid: Int32
    public var zxid: Int64
    public var time: Int64
    public var type: Int32
    public init(clientId: Int64, cxid: Int32, zxid: Int64, time: Int64, type: Int32) {
        self.clientId = clientId
        self.cxid = cxid
        self.zxid = zxid
        self.time = time
        self.type = type
    }
    public init(from r: inout JuteReader) throws {
        clientId = try r.readInt64()
        cxid = try r.readInt32()
        zxid = try r.readInt64()
        time = try r.readInt64()
        type = try r.readInt32()
    }
    public func write(to w: inout JuteWriter) {
        w.writeInt64(clientId)
        w.writeInt32(cxid)
        w.writeInt64(zxid)
        w.writeInt64(time)
        w.writeInt32(type)
    }
}

/// CreateTxn, CreateContainerTxn and CreateTTLTxn in one type; the txn's op code picks the encoding.
public struct CreateTxn: Equatable, Sendable {
    public var path: String
    public var data: [UInt8]?
    public var acl: [ACL]
    public var ephemeral: Bool
    public var parentCVersion: Int32
    /// Only for createTTL.
    public var ttl: Int64
    public init(path: String, data: [UInt8]?, acl: [ACL], ephemeral: Bool, parentCVersion: Int32, ttl: Int64 = 0) {
        self.path = path
        self.data = data
        self.acl = acl
        self.ephemeral = ephemeral
        self.parentCVersion = parentCVersion
        self.ttl = ttl
    }
}

/// A transaction body. The op code that goes in TxnHeader.type is `opCode`, except that
/// create and create2 share the `.create` body (the header keeps which one the client sent).
public enum Txn: Equatable, Sendable {
    case create(CreateTxn)
    case createContainer(CreateTxn)
    case createTTL(CreateTxn)
    case delete(path: String)
    case deleteContainer(path: String)
    case setData(path: String, data: [UInt8]?, version: Int32)
    case setACL(path: String, acl: [ACL], version: Int32)
    case check(path: String, version: Int32)
    case createSession(timeOut: Int32)
    /// The ephemeral paths the close removes (ZooKeeper 3.6+'s CloseSessionTxn).
    case closeSession(paths: [String])
    case error(Int32)
    /// Sub-transactions with their own op codes.
    case multi([SubTxn])

    public func write(to w: inout JuteWriter) {
        switch self {
        case .create(let c):
            w.writeString(c.path); w.writeBuffer(c.data); ACL.writeList(&w, c.acl)
            w.writeBool(c.ephemeral); w.writeInt32(c.parentCVersion)
        case .createContainer(let c):
            w.writeString(c.path); w.writeBuffer(c.data); ACL.writeList(&w, c.acl); w.writeInt32(c.parentCVersion)
        case .createTTL(let c):
            w.writeString(c.path); w.writeBuffer(c.data); ACL.writeList(&w, c.acl)
            w.writeInt32(c.parentCVersion); w.writeInt64(c.ttl)
        case .delete(let path), .deleteContainer(let path):
            w.writeString(path)
        case .setData(let path, let data, let version):
            w.writeString(path); w.writeBuffer(data); w.writeInt32(version)
        case .setACL(let path, let acl, let version):
            w.writeString(path); ACL.writeList(&w, acl); w.writeInt32(version)
        case .check(let path, let version):
            w.writeString(path); w.writeInt32(version)
        case .createSession(let timeOut):
            w.writeInt32(timeOut)
        case .closeSession(let paths):
            w.writeStringList(paths)
        case .error(let err):
            w.writeInt32(err)
        case .multi(let txns):
            // MultiTxn: vector<Txn{int type; buffer data}>
            w.writeVector(txns) { w, sub in
                w.writeInt32(sub.type)
                w.writeBuffer(sub.txn.serialized())
            }
        }
    }

    public func serialized() -> [UInt8] {
        var w = JuteWriter()
        write(to: &w)
        return w.bytes
    }

    /// Decodes a body whose header carried `type`.
    public init(type: Int32, from r: inout JuteReader) throws {
        guard let op = OpCode(rawValue: type) else { throw JuteError.unknownType(type) }
        switch op {
        case .create, .create2:
            let path = try r.readString() ?? "", data = try r.readBuffer(), acl = try ACL.readList(&r)
            let ephemeral = try r.readBool(), parentCVersion = try r.readInt32()
            self = .create(CreateTxn(path: path, data: data, acl: acl, ephemeral: ephemeral, parentCVersion: parentCVersion))
        case .createContainer:
            let path = try r.readString() ?? "", data = try r.readBuffer(), acl = try ACL.readList(&r)
            let parentCVersion = try r.readInt32()
            self = .createContainer(CreateTxn(path: path, data: data, acl: acl, ephemeral: false, parentCVersion: parentCVersion))
        case .createTTL:
            let path = try r.readString() ?? "", data = try r.readBuffer(), acl = try ACL.readList(&r)
            let parentCVersion = try r.readInt32(), ttl = try r.readInt64()
            self = .createTTL(CreateTxn(path: path, data: data, acl: acl, ephemeral: false, parentCVersion: parentCVersion, ttl: ttl))
        case .delete: self = .delete(path: try r.readString() ?? "")
        case .deleteContainer: self = .deleteContainer(path: try r.readString() ?? "")
        case .setData:
            self = .setData(path: try r.readString() ?? "", data: try r.readBuffer(), version: try r.readInt32())
        case .setACL:
            self = .setACL(path: try r.readString() ?? "", acl: try ACL.readList(&r), version: try r.readInt32())
        case .check: self = .check(path: try r.readString() ?? "", version: try r.readInt32())
        case .createSession: self = .createSession(timeOut: try r.readInt32())
        case .closeSession: self = .closeSession(paths: r.isAtEnd ? [] : try r.readStringList())
        case .error: self = .error(try r.readInt32())
        case .multi:
            let subs = try r.readVector(elementSizeMin: 8) { r -> SubTxn in
                let type = try r.readInt32()
                var body = JuteReader(try r.readBuffer() ?? [])
                return SubTxn(type: type, txn: try Txn(type: type, from: &body))
            } ?? []
            self = .multi(subs)
        default:
            throw JuteError.unknownType(type)
        }
    }
}

/// One operation of a MultiTxn with its own op code.
public struct SubTxn: Equatable, Sendable {
    public var type: Int32
    public var txn: Txn
    public init(type: Int32, txn: Txn) { self.type = type; self.txn = txn }
}
