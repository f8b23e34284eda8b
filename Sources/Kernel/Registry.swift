import Logging
import ModuleAPI
import Storage

/// Names -> module factories. The kernel lists only its own built-ins (`none` codec,
/// `participant` role); the executable registers the modules under Plugins/, and zoo.cfg picks.
public struct ModuleRegistry: Sendable {
    public typealias TransportFactory = @Sendable (Logger) throws -> any Transport

    public private(set) var transports: [String: TransportFactory] = [:]
    public private(set) var snapshotCodecs: [String: any SnapshotCodec] = ["none": UncompressedSnapshotCodec()]
    public private(set) var authProviders: [String: any AuthProvider] = [:]
    public private(set) var roles: [String: any PeerRole] = ["participant": ParticipantRole()]
    /// Loads an out-of-tree auth plugin named by path in `authProvider.N`.
    public var externalAuthLoader: (@Sendable (String) throws -> any AuthProvider)?

    public init() {}

    public mutating func registerTransport(_ name: String, _ factory: @escaping TransportFactory) {
        precondition(transports[name] == nil, "transport \(name) registered twice")
        transports[name] = factory
    }

    public mutating func registerSnapshotCodec(_ name: String, _ codec: any SnapshotCodec) {
        precondition(snapshotCodecs[name] == nil, "snapshot codec \(name) registered twice")
        snapshotCodecs[name] = codec
    }

    /// Registers an auth scheme under its short name and any aliases (ZooKeeper's class names,
    /// so an existing `authProvider.N=org.apache...` line keeps working).
    public mutating func registerAuthProvider(_ name: String, aliases: [String] = [], _ provider: any AuthProvider) {
        for key in [name] + aliases {
            precondition(authProviders[key] == nil, "auth provider \(key) registered twice")
            authProviders[key] = provider
        }
    }

    /// Schemes ZooKeeper loads whatever authProvider.N says.
    static let alwaysLoadedAuth = ["digest", "ip"]

    public mutating func registerRole(_ name: String, _ role: any PeerRole) {
        precondition(roles[name] == nil, "role \(name) registered twice")
        roles[name] = role
    }

    /// The modules a configuration picks; an unknown name stops start-up listing the known ones.
    public func resolve(_ config: Config) throws(ModuleError) -> ResolvedModules {
        ResolvedModules(
            transport: try pick(transports, config.transport, key: "paddock.transport"),
            quorumTransport: try pick(transports, config.quorumTransport ?? config.transport,
                                      key: config.quorumTransport == nil ? "paddock.transport" : "paddock.quorum.transport"),
            snapshotCodec: try pick(snapshotCodecs, config.snapshotCompressionMethod, key: "zookeeper.snapshot.compression.method"),
            snapshotCodecsForReading: Array(snapshotCodecs.values),
            authProviders: try Self.alwaysLoadedAuth.compactMap { authProviders[$0] }
                + config.authProviders.keys.sorted().map { n throws(ModuleError) in
                    try authProvider(config.authProviders[n]!, key: "authProvider.\(n)")
                },
            role: try pick(roles, config.peerType, key: "peerType"))
    }

    /// A registered scheme by name, or an out-of-tree plugin when the value is a library path.
    private func authProvider(_ value: String, key: String) throws(ModuleError) -> any AuthProvider {
        guard value.contains("/") else { return try pick(authProviders, value, key: key) }
        guard let externalAuthLoader else {
            throw ModuleError(key: key, name: value, known: [], reason: "this server cannot load auth plugins")
        }
        do {
            return try externalAuthLoader(value)
        } catch {
            throw ModuleError(key: key, name: value, known: [], reason: "\(error)")
        }
    }

    private func pick<T>(_ table: [String: T], _ name: String, key: String) throws(ModuleError) -> T {
        guard let module = table[name] else {
            throw ModuleError(key: key, name: name, known: table.keys.sorted())
        }
        return module
    }
}

public struct ResolvedModules: Sendable {
    public var transport: ModuleRegistry.TransportFactory
    /// The transport of the quorum and election ports (the client port's unless configured).
    public var quorumTransport: ModuleRegistry.TransportFactory
    public var snapshotCodec: any SnapshotCodec
    /// Every registered codec: a data dir may hold snapshots of several formats.
    public var snapshotCodecsForReading: [any SnapshotCodec]
    public var authProviders: [any AuthProvider]
    public var role: any PeerRole
}

public struct ModuleError: Error, CustomStringConvertible, Sendable {
    public var key: String
    public var name: String
    public var known: [String]
    /// Why a module that exists could not be used (a plugin that failed to load).
    public var reason: String?

    public init(key: String, name: String, known: [String], reason: String? = nil) {
        self.key = key
        self.name = name
        self.known = known
        self.reason = reason
    }

    public var description: String {
        if let reason { return "\(key)=\(name): \(reason)" }
        return "\(key)=\(name): no such module; known: \(known.joined(separator: ", "))"
    }
}

/// A voting member of the ensemble; standalone is an ensemble of one participant.
struct ParticipantRole: PeerRole {
    var name: String { "participant" }
    var votes: Bool { true }
}
