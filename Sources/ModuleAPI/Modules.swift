/// Module kinds the kernel hosts. Each protocol is small; a module conforms to one of them and is
/// registered by name in the executable, and zoo.cfg picks it.

/// Streams snapshot bytes through a compression format (`none`, `gz`, ...), so a large tree is
/// never held whole in memory, compressed or not.
public protocol SnapshotCodec: Sendable {
    /// The file-name suffix ZooKeeper writes for this format ("" for none, ".gz" for gz); readers
    /// pick the codec of a file by it.
    var fileSuffix: String { get }
    func makeCompressor() -> any ByteStreamTransform
    func makeDecompressor() -> any ByteStreamTransform
}

/// One direction of a codec over a byte stream. Not thread-safe: one stream, one owner.
public protocol ByteStreamTransform: AnyObject {
    /// Feeds input; `emit` receives output as it becomes available (possibly not at all yet).
    func update(_ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws
    /// Ends the input and emits what remains. A decompressor throws if the stream was cut short
    /// or is corrupt.
    func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws
}

public struct CodecError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
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
