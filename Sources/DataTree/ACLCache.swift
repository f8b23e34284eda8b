import Jute

/// ACL lists stored once and shared by reference count, as ZooKeeper's ReferenceCountedACLCache:
/// a million znodes with the same ACL cost one copy. Ids are what snapshots store per node.
public struct ACLCache {
    /// ZooKeeper's id for world:anyone with all permissions, never stored in the maps.
    public static let openUnsafeID: Int64 = -1

    public internal(set) var aclByID: [Int64: [ACL]] = [:]
    var idByACL: [[ACL]: Int64] = [:]
    var referenceCount: [Int64: Int] = [:]
    var nextID: Int64 = 1

    public init() {}

    /// Returns the id for `acl`, adding a reference.
    public mutating func retain(_ acl: [ACL]) -> Int64 {
        if acl == ACL.openUnsafe { return Self.openUnsafeID }
        if let id = idByACL[acl] {
            referenceCount[id, default: 0] += 1
            return id
        }
        let id = nextID
        nextID += 1
        aclByID[id] = acl
        idByACL[acl] = id
        referenceCount[id] = 1
        return id
    }

    public mutating func release(_ id: Int64) {
        guard id != Self.openUnsafeID, let count = referenceCount[id] else { return }
        if count > 1 {
            referenceCount[id] = count - 1
        } else {
            referenceCount[id] = nil
            if let acl = aclByID.removeValue(forKey: id) { idByACL[acl] = nil }
        }
    }

    public func acl(for id: Int64) -> [ACL] {
        id == Self.openUnsafeID ? ACL.openUnsafe : (aclByID[id] ?? [])
    }

    public var count: Int { aclByID.count }
}
