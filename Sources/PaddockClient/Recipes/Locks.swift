import Synchronization

/// A mutex across processes (Curator's InterProcessMutex, kazoo's Lock): the holder is the
/// session with the lowest sequential node under `path`. The lock goes with the holder's
/// session: if it expires, the next waiter gets it.
///
///     let lock = DistributedLock(zk, path: "/locks/report")
///     try await lock.withLock { try await makeReport() }
public final class DistributedLock: Sendable {
    private let contender: Contender
    private let held = Mutex<String?>(nil)

    public init(_ client: ZooKeeperClient, path: String) {
        contender = Contender(client: client, directory: path, prefix: "lock-")
    }

    /// Waits until held (or `timeout` passes: RecipeError.timedOut, nothing left behind).
    public func lock(timeout: Duration? = nil) async throws {
        let node = try await contender.wait(timeout: timeout) { earlier in earlier.last }
        held.withLock { $0 = node }
    }

    public func unlock() async throws {
        guard let node = held.withLock({ $0.take() }) else { throw RecipeError.notHeld }
        try await contender.client.delete(node)
    }

    /// Whether this object holds the lock, as far as it knows (a lost session also loses it).
    public var isHeld: Bool { held.withLock { $0 != nil } }

    public func withLock<T: Sendable>(timeout: Duration? = nil, _ body: () async throws -> T) async throws -> T {
        try await lock(timeout: timeout)
        do {
            let result = try await body()
            try await unlock()
            return result
        } catch {
            try? await unlock()
            throw error
        }
    }
}

/// A read/write lock across processes (Curator's InterProcessReadWriteLock): readers share it,
/// a writer holds it alone; waiters are served in arrival order.
public final class DistributedReadWriteLock: Sendable {
    private let client: ZooKeeperClient
    private let path: String
    private let held = Mutex<[String]>([])

    public init(_ client: ZooKeeperClient, path: String) {
        self.client = client
        self.path = path
    }

    /// A read lock waits for every earlier writer.
    public func lockForReading(timeout: Duration? = nil) async throws {
        let node = try await Contender(client: client, directory: path, prefix: "read-")
            .wait(timeout: timeout) { earlier in earlier.last(where: Contender.isWrite) }
        held.withLock { $0.append(node) }
    }

    /// A write lock waits for every earlier node, reader or writer.
    public func lockForWriting(timeout: Duration? = nil) async throws {
        let node = try await Contender(client: client, directory: path, prefix: "write-")
            .wait(timeout: timeout) { earlier in earlier.last }
        held.withLock { $0.append(node) }
    }

    /// Releases the most recently taken lock of this object.
    public func unlock() async throws {
        guard let node = held.withLock({ $0.popLast() }) else { throw RecipeError.notHeld }
        try await client.delete(node)
    }
}

/// Leader election, latch style (Curator's LeaderLatch): every participant waits in line; the
/// first is the leader until it closes the latch or its session ends, then the next one leads.
public final class LeaderLatch: Sendable {
    private let contender: Contender
    private let node = Mutex<String?>(nil)

    public init(_ client: ZooKeeperClient, path: String, participant: String = "") {
        contender = Contender(client: client, directory: path, prefix: "latch-\(participant)-")
    }

    /// Joins the election and returns once this participant leads.
    public func awaitLeadership(timeout: Duration? = nil) async throws {
        let mine = try await contender.wait(timeout: timeout) { earlier in earlier.last }
        node.withLock { $0 = mine }
    }

    public var hasLeadership: Bool { node.withLock { $0 != nil } }

    /// Gives up leadership (or the place in line); the next participant leads.
    public func close() async throws {
        guard let mine = node.withLock({ $0.take() }) else { return }
        try await contender.client.delete(mine)
    }
}
