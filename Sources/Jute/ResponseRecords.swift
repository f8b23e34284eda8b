// Client reply bodies (zookeeper.jute, module proto).

/// create's reply, and sync's (both carry one path).
public struct PathResponse: JuteRecord {
    public var path: String
    public init(path: String) { self.path = path }
    public init(from r: inout JuteReader) throws { path = try r.readString() ?? "" }
    public func write(to w: inout JuteWriter) { w.writeString(path) }
}
public typealias CreateResponse = PathResponse
public typealias SyncResponse = PathResponse

public struct Create2Response: JuteRecord {
    public var path: String
    public var stat: Stat
    public init(path: String, stat: Stat) { self.path = path; self.stat = stat }
    public init(from r: inout JuteReader) throws {
        path = try r.readString() ?? ""
        stat = try r.readRecord()
    }
    public func write(to w: inout JuteWriter) { w.writeString(path); w.writeRecord(stat) }
}

/// exists, setData and setACL replies: one Stat.
public struct StatResponse: JuteRecord {
    public var stat: Stat
    public init(stat: Stat) { self.stat = stat }
    public init(from r: inout JuteReader) throws { stat = try r.readRecord() }
    public func write(to w: inout JuteWriter) { w.writeRecord(stat) }
}
public typealias ExistsResponse = StatResponse
public typealias SetDataResponse = StatResponse
public typealias SetACLResponse = StatResponse

public struct GetDataResponse: JuteRecord {
    public var data: [UInt8]?
    public var stat: Stat
    public init(data: [UInt8]?, stat: Stat) { self.data = data; self.stat = stat }
    public init(from r: inout JuteReader) throws {
        data = try r.readBuffer()
        stat = try r.readRecord()
    }
    public func write(to w: inout JuteWriter) { w.writeBuffer(data); w.writeRecord(stat) }
}

public struct GetACLResponse: JuteRecord {
    public var acl: [ACL]
    public var stat: Stat
    public init(acl: [ACL], stat: Stat) { self.acl = acl; self.stat = stat }
    public init(from r: inout JuteReader) throws {
        acl = try ACL.readList(&r)
        stat = try r.readRecord()
    }
    public func write(to w: inout JuteWriter) { ACL.writeList(&w, acl); w.writeRecord(stat) }
}

/// getChildren's reply, and getEphemerals' (both a list of paths).
public struct PathListResponse: JuteRecord {
    public var paths: [String]
    public init(paths: [String]) { self.paths = paths }
    public init(from r: inout JuteReader) throws { paths = try r.readStringList() }
    public func write(to w: inout JuteWriter) { w.writeStringList(paths) }
}
public typealias GetChildrenResponse = PathListResponse
public typealias GetEphemeralsResponse = PathListResponse

public struct GetChildren2Response: JuteRecord {
    public var children: [String]
    public var stat: Stat
    public init(children: [String], stat: Stat) { self.children = children; self.stat = stat }
    public init(from r: inout JuteReader) throws {
        children = try r.readStringList()
        stat = try r.readRecord()
    }
    public func write(to w: inout JuteWriter) { w.writeStringList(children); w.writeRecord(stat) }
}

public struct GetAllChildrenNumberResponse: JuteRecord {
    public var totalNumber: Int32
    public init(totalNumber: Int32) { self.totalNumber = totalNumber }
    public init(from r: inout JuteReader) throws { totalNumber = try r.readInt32() }
    public func write(to w: inout JuteWriter) { w.writeInt32(totalNumber) }
}

public struct WhoAmIResponse: JuteRecord {
    public var clientInfo: [ClientInfo]
    public init(clientInfo: [ClientInfo]) { self.clientInfo = clientInfo }
    public init(from r: inout JuteReader) throws {
        clientInfo = try r.readVector(elementSizeMin: 8) { try ClientInfo(from: &$0) } ?? []
    }
    public func write(to w: inout JuteWriter) { w.writeVector(clientInfo) { $0.writeRecord($1) } }
}

/// The body of a failed operation inside a multi reply.
public struct ErrorResponse: JuteRecord {
    public var err: Int32
    public init(err: Int32) { self.err = err }
    public init(from r: inout JuteReader) throws { err = try r.readInt32() }
    public func write(to w: inout JuteWriter) { w.writeInt32(err) }
}
