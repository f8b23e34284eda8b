import Jute

/// A znode's fields other than its data and children, in one struct so that building a Stat
/// reads the node once (each read of a class's stored property is a separate exclusivity-checked
/// access: 11 of them per Stat were 3.7% of a server's instructions under a read load).
public struct ZnodeFields {
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
}

/// One znode. Reference type so the tree's map and a parent's child set never copy data.
public final class Znode {
    /// nil when the client sent null data (ZooKeeper returns it as null, length -1).
    public var data: [UInt8]?
    public var fields: ZnodeFields
    public var children: Set<String> = []

    public init(data: [UInt8]?, aclID: Int64, zxid: Int64, time: Int64, ephemeralOwner: Int64) {
        self.data = data
        fields = ZnodeFields(aclID: aclID, czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: time, mtime: time,
                             ephemeralOwner: ephemeralOwner)
    }

    public var aclID: Int64 { get { fields.aclID } set { fields.aclID = newValue } }
    public var czxid: Int64 { get { fields.czxid } set { fields.czxid = newValue } }
    public var mzxid: Int64 { get { fields.mzxid } set { fields.mzxid = newValue } }
    public var pzxid: Int64 { get { fields.pzxid } set { fields.pzxid = newValue } }
    public var ctime: Int64 { get { fields.ctime } set { fields.ctime = newValue } }
    public var mtime: Int64 { get { fields.mtime } set { fields.mtime = newValue } }
    public var version: Int32 { get { fields.version } set { fields.version = newValue } }
    public var cversion: Int32 { get { fields.cversion } set { fields.cversion = newValue } }
    public var aversion: Int32 { get { fields.aversion } set { fields.aversion = newValue } }
    public var ephemeralOwner: Int64 { get { fields.ephemeralOwner } set { fields.ephemeralOwner = newValue } }

    public var stat: Stat {
        let fields = fields
        let childCount = Int32(children.count)
        var stat = Stat()
        stat.czxid = fields.czxid
        stat.mzxid = fields.mzxid
        stat.pzxid = fields.pzxid
        stat.ctime = fields.ctime
        stat.mtime = fields.mtime
        stat.version = fields.version
        stat.cversion = fields.cversion &* 2 &- childCount
        stat.aversion = fields.aversion
        // Clients see only real owners; container and TTL markers read as 0, as in ZooKeeper.
        stat.ephemeralOwner = EphemeralOwner.isSession(fields.ephemeralOwner) ? fields.ephemeralOwner : 0
        stat.dataLength = Int32(data?.count ?? 0)
        stat.numChildren = childCount
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
        let fields = fields
        var stat = StatPersisted()
        stat.czxid = fields.czxid
        stat.mzxid = fields.mzxid
        stat.ctime = fields.ctime
        stat.mtime = fields.mtime
        stat.version = fields.version
        stat.cversion = fields.cversion
        stat.aversion = fields.aversion
        stat.ephemeralOwner = fields.ephemeralOwner
        stat.pzxid = fields.pzxid
        return stat
    }

    func restore(_ stat: StatPersisted) {
        fields = ZnodeFields(aclID: fields.aclID, czxid: stat.czxid, mzxid: stat.mzxid, pzxid: stat.pzxid, ctime: stat.ctime,
                             mtime: stat.mtime, version: stat.version, cversion: stat.cversion, aversion: stat.aversion,
                             ephemeralOwner: stat.ephemeralOwner)
    }
}
