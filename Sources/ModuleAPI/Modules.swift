/// Module kinds the kernel hosts. Each protocol is small; a module conforms to one of them and is
/// registered by name in the executable, and zoo.cfg picks it.

/// Streams snapshot bytes through a compression format (`none`, `gz`, ...).
public protocol SnapshotCodec: Sendable {
    /// The file-name suffix ZooKeeper writes for this format ("" for none, ".gz" for gz).
    var fileSuffix: String { get }
}

/// An authentication scheme (digest, ip, ...): turns `addauth` bytes into ids and matches ids
/// against ACL entries of its scheme.
public protocol AuthProvider: Sendable {
    var scheme: String { get }
    /// The ids a client gains from `addauth <scheme> <auth>`, or nil when authentication fails.
    func authenticate(_ auth: [UInt8], remoteHost: String) -> [String]?
    /// Whether an id of this scheme satisfies an ACL entry's id expression.
    func matches(id: String, expression: String) -> Bool
    /// Whether an ACL entry's id is well-formed for this scheme (setACL/create validate it).
    func isValid(expression: String) -> Bool
    /// Whether ids of this scheme name an authenticated user, so the `auth` ACL scheme may use
    /// them (digest yes, ip no).
    var isAuthenticated: Bool { get }
    /// The user whoAmI reports for an id of this scheme.
    func userName(for id: String) -> String
}

/// How a server takes part in an ensemble: participant (the kernel's) or observer (a module).
public protocol PeerRole: Sendable {
    var name: String { get }
    /// Whether this role votes in elections and counts toward the write quorum.
    var votes: Bool { get }
}
