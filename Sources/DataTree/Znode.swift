import Jute

/// One znode. Reference type so the tree's map and a parent's child set never copy data.
public final class Znode {
    /// nil when the client sent null data (ZooKeeper returns it as null, length -1).
    public var data: [UInt8]?
    public var aclID: Int64
    public var czxid: Int64
    public var mzxid: Int64
    public var pzxid: Int64
    public var ctime: Int64
    public var mtime: Int64
    public var version: Int32 = 0
    /// Counts child creations only (it numbers sequential children); clients see
    /// `cversion * 2 - numChildren`, which also counts deletions, as ZooKeeper reports it.
    public var cversion: Int32 = 0
    public var aversion: Int32 = 0
    /// A session id for ephemerals; a container or TTL marker (see EphemeralOwner); 0 otherwise.
    public var ephemeralOwner: Int64
    public var children: Set<String> = []

    public init(data: [UInt8]?, aclID: Int64, zxid: Int64, time: Int64, ephemeralOwner: Int64) {
        self.data = data
        self.aclID = aclID
        self.czxid = zxid
        self.mzxid = zxid
        self.pzxid = zxid
        self.ctime = time
        self.mtime = time
        self.ephemeralOwner = ephemeralOwner
    }

    public var stat: Stat {
        var stat = Stat()
        stat.czxid = czxid
        stat.mzxid = mzxid
        stat.pzxid = pzxid
        stat.ctime = ctime
        stat.mtime = mtime
        stat.version = version
        stat.cversion = cversion &* 2 &- Int32(children.count)
        stat.aversion = aversion
        // Clients see only real owners; container and TTL markers read as 0, as in ZooKeeper.
        stat.ephemeralOwner = EphemeralOwner.isSession(ephemeralOwner) ? ephemeralOwner : 0
        stat.dataLength = Int32(data?.count ?? 0)
        stat.numChildren = Int32(children.count)
        return stat
    }
}

/// How ZooKeeper's EphemeralType packs container and TTL nodes into Stat.ephemeralOwner.
public enum EphemeralOwner {
    public static let container = Int64.min
    /// The top byte marks an extended type; TTL is extended type 0, its value in the low 40 bits.
    public static let extendedMask = Int64(bitPattern: 0xff00_0000_0000_0000)
    public static let ttlMax: Int64 = 0x0000_00ff_ffff_ffff

    public static func ttl(_ milliseconds: Int64) -> Int64 { extendedMask | milliseconds }

    public static func isContainer(_ owner: Int64) -> Bool { owner == container }

    /// The TTL of a TTL node, or nil for any other kind of node.
    public static func ttlValue(_ owner: Int64) -> Int64? {
        guard owner != container, owner & extendedMask == extendedMask else { return nil }
        return owner & ttlMax
    }

    /// A real session id (an ephemeral node's owner), as opposed to 0 or a type marker.
    public static func isSession(_ owner: Int64) -> Bool {
        owner != 0 && !isContainer(owner) && ttlValue(owner) == nil
    }
}

extension Znode {
    /// The fields a snapshot stores, with the creation-counting cversion as ZooKeeper stores it.
    public var persisted: StatPersisted {
        var stat = StatPersisted()
        stat.czxid = czxid
        stat.mzxid = mzxid
        stat.ctime = ctime
        stat.mtime = mtime
        stat.version = version
        stat.cversion = cversion
        stat.aversion = aversion
        stat.ephemeralOwner = ephemeralOwner
        stat.pzxid = pzxid
        return stat
    }

    func restore(_ stat: StatPersisted) {
        czxid = stat.czxid
        mzxid = stat.mzxid
        ctime = stat.ctime
        mtime = stat.mtime
        version = stat.version
        cversion = stat.cversion
        aversion = stat.aversion
        ephemeralOwner = stat.ephemeralOwner
        pzxid = stat.pzxid
    }
}
