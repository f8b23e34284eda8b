// Data records shared by requests, responses, txns and snapshots (zookeeper.jute, module data).

public struct Id: JuteRecord, Hashable {
    public var scheme: String
    public var id: String
    public init(scheme: String, id: String) { self.scheme = scheme; self.id = id }
    public init(from r: inout JuteReader) throws {
        scheme = try r.readString() ?? ""
        id = try r.readString() ?? ""
    }
    public func write(to w: inout JuteWriter) { w.writeString(scheme); w.writeString(id) }

    public static let anyoneUnsafe = Id(scheme: "world", id: "anyone")
}

public struct ACL: JuteRecord, Hashable {
    public var perms: Int32
    public var id: Id
    public init(perms: Int32, id: Id) { self.perms = perms; self.id = id }
    public init(from r: inout JuteReader) throws {
        perms = try r.readInt32()
        id = try r.readRecord()
    }
    public func write(to w: inout JuteWriter) { w.writeInt32(perms); w.writeRecord(id) }

    public static let openUnsafe: [ACL] = [ACL(perms: Perms.all, id: .anyoneUnsafe)]
    public static let readUnsafe: [ACL] = [ACL(perms: Perms.read, id: .anyoneUnsafe)]

    static func readList(_ r: inout JuteReader) throws -> [ACL] {
        try r.readVector(elementSizeMin: 12) { try ACL(from: &$0) } ?? []
    }
    static func writeList(_ w: inout JuteWriter, _ acl: [ACL]) {
        w.writeVector(acl) { $0.writeRecord($1) }
    }
}

/// The Stat a client sees: the persisted fields plus dataLength and numChildren.
public struct Stat: JuteRecord, Hashable {
    public var czxid: Int64 = 0
    public var mzxid: Int64 = 0
    public var ctime: Int64 = 0
    public var mtime: Int64 = 0
    public var version: Int32 = 0
    public var cversion: Int32 = 0
    public var aversion: Int32 = 0
    public var ephemeralOwner: Int64 = 0
    public var dataLength: Int32 = 0
    public var numChildren: Int32 = 0
    public var pzxid: Int64 = 0

    public init() {}
    public init(from r: inout JuteReader) throws {
        czxid = try r.readInt64()
        mzxid = try r.readInt64()
        ctime = try r.readInt64()
        mtime = try r.readInt64()
        version = try r.readInt32()
        cversion = try r.readInt32()
        aversion = try r.readInt32()
        ephemeralOwner = try r.readInt64()
        dataLength = try r.readInt32()
        numChildren = try r.readInt32()
        pzxid = try r.readInt64()
    }
    public func write(to w: inout JuteWriter) {
        w.writeInt64(czxid)
        w.writeInt64(mzxid)
        w.writeInt64(ctime)
        w.writeInt64(mtime)
        w.writeInt32(version)
        w.writeInt32(cversion)
        w.writeInt32(aversion)
        w.writeInt64(ephemeralOwner)
        w.writeInt32(dataLength)
        w.writeInt32(numChildren)
        w.writeInt64(pzxid)
    }
}

/// One entry of whoAmI's reply (ClientInfo in zookeeper.jute).
public struct ClientInfo: JuteRecord, Hashable {
    public var authScheme: String
    public var user: String
    public init(authScheme: String, user: String) { self.authScheme = authScheme; self.user = user }
    public init(from r: inout JuteReader) throws {
        authScheme = try r.readString() ?? ""
        user = try r.readString() ?? ""
    }
    public func write(to w: inout JuteWriter) { w.writeString(authScheme); w.writeString(user) }
}

/// The Stat fields snapshots store per node (StatPersisted in zookeeper.jute); dataLength and
/// numChildren are derived on load.
public struct StatPersisted: JuteRecord, Hashable {
    public var czxid: Int64 = 0
    public var mzxid: Int64 = 0
    public var ctime: Int64 = 0
    public var mtime: Int64 = 0
    public var version: Int32 = 0
    public var cversion: Int32 = 0
    public var aversion: Int32 = 0
    public var ephemeralOwner: Int64 = 0
    public var pzxid: Int64 = 0

    public init() {}
    public init(from r: inout JuteReader) throws {
        czxid = try r.readInt64()
        mzxid = try r.readInt64()
        ctime = try r.readInt64()
        mtime = try r.readInt64()
        version = try r.readInt32()
        cversion = try r.readInt32()
        aversion = try r.readInt32()
        ephemeralOwner = try r.readInt64()
        pzxid = try r.readInt64()
    }
    public func write(to w: inout JuteWriter) {
        w.writeInt64(czxid)
        w.writeInt64(mzxid)
        w.writeInt64(ctime)
        w.writeInt64(mtime)
        w.writeInt32(version)
        w.writeInt32(cversion)
        w.writeInt32(aversion)
        w.writeInt64(ephemeralOwner)
        w.writeInt64(pzxid)
    }
}
