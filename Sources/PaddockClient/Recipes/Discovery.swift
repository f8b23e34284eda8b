import Synchronization

/// Service registration and discovery with ephemeral nodes (Curator's ServiceDiscovery): an
/// instance is `<base>/<service>/<instance>` holding its address; it disappears with its
/// session, so a crashed instance leaves the list by itself.
public struct ServiceRegistry: Sendable {
    let client: ZooKeeperClient
    let base: String

    public init(_ client: ZooKeeperClient, base: String = "/services") {
        self.client = client
        self.base = base
    }

    /// Registers this session's instance; it lasts until `unregister` or the session's end.
    public func register(service: String, instance: String, payload: [UInt8]) async throws {
        try await client.ensurePath(base + "/" + service)
        try await client.create(base + "/" + service + "/" + instance, data: payload, mode: .ephemeral)
    }

    public func unregister(service: String, instance: String) async throws {
        try await client.delete(base + "/" + service + "/" + instance)
    }

    /// The live instances of a service and their payloads.
    public func instances(of service: String) async throws -> [String: [UInt8]] {
        try await snapshot(service, watch: false).instances
    }

    /// The instances now, then again at every change, until the session ends.
    public func watch(_ service: String) -> AsyncThrowingStream<[String: [UInt8]], any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    try await client.ensurePath(base + "/" + service)
                    while true {
                        let (instances, watch) = try await snapshot(service, watch: true)
                        continuation.yield(instances)
                        guard let event = await client.firstEvent(watch!, within: nil), event.type != .none else { break }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func snapshot(_ service: String, watch: Bool) async throws -> (instances: [String: [UInt8]], watch: Watch?) {
        let directory = base + "/" + service
        let children: [String]
        var childWatch: Watch?
        if watch {
            let listed = try await client.getChildrenAndWatch(directory)
            (children, childWatch) = (listed.children, listed.watch)
        } else {
            do {
                children = try await client.getChildren(directory).children
            } catch let error as ClientError where error.code == .noNode {
                return ([:], nil)
            }
        }
        var instances: [String: [UInt8]] = [:]
        for child in children {
            // An instance may leave between the listing and the read.
            if let node = try? await client.getData(directory + "/" + child) { instances[child] = node.data ?? [] }
        }
        return (instances, childWatch)
    }
}

/// A local copy of a subtree kept current by a persistent recursive watch (Curator's
/// TreeCache / CuratorCache): the watch is set first, then the tree is read, then each event
/// re-reads what it names, so no change between the two is missed.
public final class TreeCache: Sendable {
    /// A change of the cached tree, after it was applied.
    public enum Change: Sendable, Equatable {
        case added(path: String, NodeData)
        case updated(path: String, NodeData)
        case removed(path: String)
    }

    let client: ZooKeeperClient
    let root: String
    private let state = Mutex<[String: NodeData]>([:])

    public init(_ client: ZooKeeperClient, root: String) {
        self.client = client
        self.root = root
    }

    /// Every cached node, by path.
    public var nodes: [String: NodeData] { state.withLock { $0 } }

    /// Loads the subtree and returns the stream of later changes; the cache follows the tree
    /// until the stream's consumer stops or the session ends.
    public func start() async throws -> AsyncStream<Change> {
        let events = try await client.addWatch(root, mode: .persistentRecursive)
        try await load(root)
        let (changes, sink) = AsyncStream<Change>.makeStream()
        let task = Task {
            for await event in events {
                switch event.type {
                case .nodeCreated, .nodeDataChanged:
                    if let change = try? await refresh(event.path) { sink.yield(change) }
                case .nodeDeleted:
                    for path in removeSubtree(event.path) { sink.yield(.removed(path: path)) }
                default:
                    continue
                }
            }
            sink.finish()
        }
        sink.onTermination = { _ in task.cancel() }
        return changes
    }

    private func load(_ path: String) async throws {
        do {
            let node = try await client.getData(path)
            state.withLock { $0[path] = node }
            for child in try await client.getChildren(path).children {
                try await load(path == "/" ? "/" + child : path + "/" + child)
            }
        } catch let error as ClientError where error.code == .noNode {
            return
        }
    }

    private func refresh(_ path: String) async throws -> Change? {
        guard let node = try? await client.getData(path) else { return nil }
        let previous = state.withLock { nodes in nodes.updateValue(node, forKey: path) }
        if previous == node { return nil }
        return previous == nil ? .added(path: path, node) : .updated(path: path, node)
    }

    private func removeSubtree(_ path: String) -> [String] {
        state.withLock { nodes in
            let gone = nodes.keys.filter { $0 == path || $0.hasPrefix(path + "/") }.sorted(by: >)
            for key in gone { nodes[key] = nil }
            return gone
        }
    }
}
