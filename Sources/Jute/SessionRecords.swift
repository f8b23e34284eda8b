// Connection-level records (zookeeper.jute, module proto).

public struct ConnectRequest: JuteRecord {
    public var protocolVersion: Int32
    public var lastZxidSeen: Int64
    public var timeOut: Int32
    public var sessionId: Int64
    public var passwd: [UInt8]
    /// Sent only by clients that know about read-only mode; nil when the byte is absent.
    public var readOnly: Bool?

    public init(protocolVersion: Int32 = 0, lastZxidSeen: Int64 = 0, timeOut: Int32, sessionId: Int64 = 0,
                passwd: [UInt8] = [UInt8](repeating: 0, count: 16), readOnly: Bool? = false) {
        self.protocolVersion = protocolVersion
        self.lastZxidSeen = lastZxidSeen
        self.timeOut = timeOut
        self.sessionId = sessionId
        self.passwd = passwd
        self.readOnly = readOnly
    }
    public init(from r: inout JuteReader) throws {
        protocolVersion = try r.readInt32()
        lastZxidSeen = try r.readInt64()
        timeOut = try r.readInt32()
        sessionId = try r.readInt64()
        passwd = try r.readBuffer() ?? []
        readOnly = r.isAtEnd ? nil : try r.readBool()
    }
    public func write(to w: inout JuteWriter) {
        w.writeInt32(protocolVersion)
        w.writeInt64(lastZxidSeen)
        w.writeInt32(timeOut)
        w.writeInt64(sessionId)
        w.writeBuffer(passwd)
        if let readOnly { w.writeBool(readOnly) }
    }
}

public struct ConnectResponse: JuteRecord {
    public var protocolVersion: Int32
    public var timeOut: Int32
    public var sessionId: Int64
    public var passwd: [UInt8]
    /// Written back only when the client's request carried the read-only byte.
    public var readOnly: Bool?

    public init(protocolVersion: Int32 = 0, timeOut: Int32, sessionId: Int64, passwd: [UInt8], readOnly: Bool?) {
        self.protocolVersion = protocolVersion
        self.timeOut = timeOut
        self.sessionId = sessionId
        self.passwd = passwd
        self.readOnly = readOnly
    }
    public init(from r: inout JuteReader) throws {
        protocolVersion = try r.readInt32()
        timeOut = try r.readInt32()
        sessionId = try r.readInt64()
        passwd = try r.readBuffer() ?? []
        readOnly = r.isAtEnd ? nil : try r.readBool()
    }
    public func write(to w: inout JuteWriter) {
        w.writeInt32(protocolVersion)
        w.writeInt32(timeOut)
        w.writeInt64(sessionId)
        w.writeBuffer(passwd)
        if let readOnly { w.writeBool(readOnly) }
    }
}

public struct RequestHeader: JuteRecord {
    public var xid: Int32
    public var type: Int32
    public init(xid: Int32, type: Int32) { self.xid = xid; self.type = type }
    public init(from r: inout JuteReader) throws {
        xid = try r.readInt32()
        type = try r.readInt32()
    }
    public func write(to w: inout JuteWriter) { w.writeInt32(xid); w.writeInt32(type) }
}

public struct ReplyHeader: JuteRecord {
    public var xid: Int32
    public var zxid: Int64
    public var err: Int32
    public init(xid: Int32, zxid: Int64, err: Int32) { self.xid = xid; self.zxid = zxid; self.err = err }
    public init(from r: inout JuteReader) throws {
        xid = try r.readInt32()
        zxid = try r.readInt64()
        err = try r.readInt32()
    }
    public func write(to w: inout JuteWriter) { w.writeInt32(xid); w.writeInt64(zxid); w.writeInt32(err) }
}

public struct AuthPacket: JuteRecord {
    public var type: Int32
    public var scheme: String
    public var auth: [UInt8]
    public init(type: Int32 = 0, scheme: String, auth: [UInt8]) { self.type = type; self.scheme = scheme; self.auth = auth }
    public init(from r: inout JuteReader) throws {
        type = try r.readInt32()
        scheme = try r.readString() ?? ""
        auth = try r.readBuffer() ?? []
    }
    public func write(to w: inout JuteWriter) { w.writeInt32(type); w.writeString(scheme); w.writeBuffer(auth) }
}

public struct WatcherEvent: JuteRecord, Hashable {
    public var type: Int32
    public var state: Int32
    public var path: String
    public init(type: Int32, state: Int32, path: String) { self.type = type; self.state = state; self.path = path }
    public init(from r: inout JuteReader) throws {
        type = try r.readInt32()
        state = try r.readInt32()
        path = try r.readString() ?? ""
    }
    public func write(to w: inout JuteWriter) { w.writeInt32(type); w.writeInt32(state); w.writeString(path) }
}

/// setWatches (op 101): the client's watches to re-register after a reconnect.
public struct SetWatches: JuteRecord {
    public var relativeZxid: Int64
    public var dataWatches: [String]
    public var existWatches: [String]
    public var childWatches: [String]
    public init(relativeZxid: Int64, dataWatches: [String], existWatches: [String], childWatches: [String]) {
        self.relativeZxid = relativeZxid
        self.dataWatches = dataWatches
        self.existWatches = existWatches
        self.childWatches = childWatches
    }
    public init(from r: inout JuteReader) throws {
        relativeZxid = try r.readInt64()
        dataWatches = try r.readStringList()
        existWatches = try r.readStringList()
        childWatches = try r.readStringList()
    }
    public func write(to w: inout JuteWriter) {
        w.writeInt64(relativeZxid)
        w.writeStringList(dataWatches)
        w.writeStringList(existWatches)
        w.writeStringList(childWatches)
    }
}

/// setWatches2 (op 105): setWatches plus persistent and persistent-recursive watches.
public struct SetWatches2: JuteRecord {
    public var relativeZxid: Int64
    public var dataWatches: [String]
    public var existWatches: [String]
    public var childWatches: [String]
    public var persistentWatches: [String]
    public var persistentRecursiveWatches: [String]
    public init(relativeZxid: Int64, dataWatches: [String], existWatches: [String], childWatches: [String],
                persistentWatches: [String], persistentRecursiveWatches: [String]) {
        self.relativeZxid = relativeZxid
        self.dataWatches = dataWatches
        self.existWatches = existWatches
        self.childWatches = childWatches
        self.persistentWatches = persistentWatches
        self.persistentRecursiveWatches = persistentRecursiveWatches
    }
    public init(from r: inout JuteReader) throws {
        relativeZxid = try r.readInt64()
        dataWatches = try r.readStringList()
        existWatches = try r.readStringList()
        childWatches = try r.readStringList()
        persistentWatches = try r.readStringList()
        persistentRecursiveWatches = try r.readStringList()
    }
    public func write(to w: inout JuteWriter) {
        w.writeInt64(relativeZxid)
        w.writeStringList(dataWatches)
        w.writeStringList(existWatches)
        w.writeStringList(childWatches)
        w.writeStringList(persistentWatches)
        w.writeStringList(persistentRecursiveWatches)
    }
}

extension JuteReader {
    /// A vector of strings; a null vector reads as empty, as ZooKeeper's server treats it.
    public mutating func readStringList() throws -> [String] {
        try readVector(elementSizeMin: 4) { try $0.readString() ?? "" } ?? []
    }
}

extension JuteWriter {
    public mutating func writeStringList(_ items: [String]) {
        writeVector(items) { $0.writeString($1) }
    }
}

/// The packet of ZooKeeper's quorum port (zookeeper.jute, module quorum): learners and the
/// leader exchange a bare stream of these, with no length prefix.
public struct QuorumPacket: JuteRecord, Equatable {
    public var type: Int32
    public var zxid: Int64
    /// nil is written as -1, as ZooKeeper does for packets without data.
    public var data: [UInt8]?
    public var authInfo: [Id]?

    public init(type: Int32, zxid: Int64, data: [UInt8]? = nil, authInfo: [Id]? = nil) {
        self.type = type
        self.zxid = zxid
        self.data = data
        self.authInfo = authInfo
    }
    public init(from r: inout JuteReader) throws {
        type = try r.readInt32()
        zxid = try r.readInt64()
        data = try r.readBuffer()
        authInfo = try r.readVector(elementSizeMin: 8) { try Id(from: &$0) }
    }
    public func write(to w: inout JuteWriter) {
        w.writeInt32(type)
        w.writeInt64(zxid)
        w.writeBuffer(data)
        w.writeVector(authInfo) { $0.writeRecord($1) }
    }
}

/// What a learner tells the leader about itself in FOLLOWERINFO / OBSERVERINFO.
public struct LearnerInfo: JuteRecord, Equatable {
    /// 0x10000: the protocol with LEADERINFO and ACKEPOCH (ZooKeeper 3.4+).
    public static let protocolVersion: Int32 = 0x10000

    public var serverId: Int64
    public var protocolVersion: Int32
    public var configVersion: Int64

    public init(serverId: Int64, protocolVersion: Int32 = LearnerInfo.protocolVersion, configVersion: Int64) {
        self.serverId = serverId
        self.protocolVersion = protocolVersion
        self.configVersion = configVersion
    }
    public init(from r: inout JuteReader) throws {
        serverId = try r.readInt64()
        protocolVersion = try r.readInt32()
        configVersion = try r.readInt64()
    }
    public func write(to w: inout JuteWriter) {
        w.writeInt64(serverId)
        w.writeInt32(protocolVersion)
        w.writeInt64(configVersion)
    }
}
