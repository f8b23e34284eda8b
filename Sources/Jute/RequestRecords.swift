// Client request bodies (zookeeper.jute, module proto). Records ZooKeeper declares separately but
// that share one shape are one Swift type here, with ZooKeeper's names as aliases.

/// A request carrying only a path: getACL, sync, getEphemerals (a prefix), getAllChildrenNumber.
public struct PathRequest: JuteRecord {
    public var path: String
    public init(path: String) { self.path = path }
    public init(from r: inout JuteReader) throws { path = try r.readString() ?? "" }
    public func write(to w: inout JuteWriter) { w.writeString(path) }
}
public typealias GetACLRequest = PathRequest
public typealias SyncRequest = PathRequest
public typealias GetEphemeralsRequest = PathRequest
public typealias GetAllChildrenNumberRequest = PathRequest

/// A read that may leave a watch: exists, getData, getChildren, getChildren2.
public struct PathWatchRequest: JuteRecord {
    public var path: String
    public var watch: Bool
    public init(path: String, watch: Bool) { self.path = path; self.watch = watch }
    public init(from r: inout JuteReader) throws {
        path = try r.readString() ?? ""
        watch = try r.readBool()
    }
    public func write(to w: inout JuteWriter) { w.writeString(path); w.writeBool(watch) }
}
public typealias ExistsRequest = PathWatchRequest
public typealias GetDataRequest = PathWatchRequest
public typealias GetChildrenRequest = PathWatchRequest
public typealias GetChildren2Request = PathWatchRequest

/// A request naming a path and an expected version: delete, check.
public struct PathVersionRequest: JuteRecord {
    public var path: String
    public var version: Int32
    public init(path: String, version: Int32) { self.path = path; self.version = version }
    public init(from r: inout JuteReader) throws {
        path = try r.readString() ?? ""
        version = try r.readInt32()
    }
    public func write(to w: inout JuteWriter) { w.writeString(path); w.writeInt32(version) }
}
public typealias DeleteRequest = PathVersionRequest
public typealias CheckVersionRequest = PathVersionRequest

/// create, create2, createContainer (flags decide the mode), and createTTL when `ttl` is set.
public struct CreateRequest: JuteRecord {
    public var path: String
    /// Null data is kept null, as ZooKeeper stores and returns it.
    public var data: [UInt8]?
    public var acl: [ACL]
    public var flags: Int32
    /// Present only in CreateTTLRequest (op 21).
    public var ttl: Int64?

    public init(path: String, data: [UInt8]?, acl: [ACL], flags: Int32, ttl: Int64? = nil) {
        self.path = path
        self.data = data
        self.acl = acl
        self.flags = flags
        self.ttl = ttl
    }
    public init(from r: inout JuteReader) throws { try self.init(from: &r, withTTL: false) }
    public init(from r: inout JuteReader, withTTL: Bool) throws {
        path = try r.readString() ?? ""
        data = try r.readBuffer()
        acl = try ACL.readList(&r)
        flags = try r.readInt32()
        ttl = withTTL ? try r.readInt64() : nil
    }
    public func write(to w: inout JuteWriter) {
        w.writeString(path)
        w.writeBuffer(data)
        ACL.writeList(&w, acl)
        w.writeInt32(flags)
        if let ttl { w.writeInt64(ttl) }
    }
}

public struct SetDataRequest: JuteRecord {
    public var path: String
    public var data: [UInt8]?
    public var version: Int32
    public init(path: String, data: [UInt8]?, version: Int32) { self.path = path; self.data = data; self.version = version }
    public init(from r: inout JuteReader) throws {
        path = try r.readString() ?? ""
        data = try r.readBuffer()
        version = try r.readInt32()
    }
    public func write(to w: inout JuteWriter) { w.writeString(path); w.writeBuffer(data); w.writeInt32(version) }
}

public struct SetACLRequest: JuteRecord {
    public var path: String
    public var acl: [ACL]
    public var version: Int32
    public init(path: String, acl: [ACL], version: Int32) { self.path = path; self.acl = acl; self.version = version }
    public init(from r: inout JuteReader) throws {
        path = try r.readString() ?? ""
        acl = try ACL.readList(&r)
        version = try r.readInt32()
    }
    public func write(to w: inout JuteWriter) { w.writeString(path); ACL.writeList(&w, acl); w.writeInt32(version) }
}

/// addWatch (op 106).
public struct AddWatchRequest: JuteRecord {
    public var path: String
    public var mode: Int32
    public init(path: String, mode: Int32) { self.path = path; self.mode = mode }
    public init(from r: inout JuteReader) throws {
        path = try r.readString() ?? ""
        mode = try r.readInt32()
    }
    public func write(to w: inout JuteWriter) { w.writeString(path); w.writeInt32(mode) }
}

/// checkWatches (op 17) and removeWatches (op 18): a path and a WatcherType.
public struct WatchesRequest: JuteRecord {
    public var path: String
    public var type: Int32
    public init(path: String, type: Int32) { self.path = path; self.type = type }
    public init(from r: inout JuteReader) throws {
        path = try r.readString() ?? ""
        type = try r.readInt32()
    }
    public func write(to w: inout JuteWriter) { w.writeString(path); w.writeInt32(type) }
}
public typealias CheckWatchesRequest = WatchesRequest
public typealias RemoveWatchesRequest = WatchesRequest

/// The header before each operation of a multi request and each result of its reply;
/// a header with type -1 and done=true ends the list.
public struct MultiHeader: JuteRecord {
    public var type: Int32
    public var done: Bool
    public var err: Int32
    public init(type: Int32, done: Bool, err: Int32) { self.type = type; self.done = done; self.err = err }
    public init(from r: inout JuteReader) throws {
        type = try r.readInt32()
        done = try r.readBool()
        err = try r.readInt32()
    }
    public func write(to w: inout JuteWriter) { w.writeInt32(type); w.writeBool(done); w.writeInt32(err) }

    public static let end = MultiHeader(type: -1, done: true, err: -1)
}
