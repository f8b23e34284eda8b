/// A barrier (kazoo's Barrier): while its node exists, `wait` blocks; removing it releases every
/// waiter.
public struct DistributedBarrier: Sendable {
    let client: ZooKeeperClient
    let path: String

    public init(_ client: ZooKeeperClient, path: String) {
        self.client = client
        self.path = path
    }

    public func set() async throws {
        try await client.ensurePath(path)
    }

    public func remove() async throws {
        try await client.delete(path)
    }

    /// Returns once the barrier is gone, or throws RecipeError.timedOut.
    public func wait(timeout: Duration? = nil) async throws {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            let (stat, watch) = try await client.existsAndWatch(path)
            guard stat != nil else { return }
            guard let event = await client.firstEvent(watch, within: deadline.map { $0 - ContinuousClock.now }) else {
                throw RecipeError.timedOut
            }
            if event.type == .none { throw ClientError.keeper(.sessionExpired, path: path) }
        }
    }
}

/// A double barrier (Curator's DistributedDoubleBarrier): `enter` returns once `count`
/// participants have entered; `leave` returns once all of them have left. Each participant is an
/// ephemeral node, so one whose session ends counts as left.
public struct DistributedDoubleBarrier: Sendable {
    let client: ZooKeeperClient
    let path: String
    let count: Int
    let participant: String

    private var readyPath: String { path + "/ready" }
    private var mine: String { path + "/" + participant }

    public init(_ client: ZooKeeperClient, path: String, count: Int, participant: String) {
        precondition(count > 0 && !participant.isEmpty && participant != "ready")
        self.client = client
        self.path = path
        self.count = count
        self.participant = participant
    }

    public func enter(timeout: Duration? = nil) async throws {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        try await client.ensurePath(path)
        // Watch for "ready" before joining, so the last one's create cannot be missed.
        let (ready, readyWatch) = try await client.existsAndWatch(readyPath)
        try await client.create(mine, mode: .ephemeral)
        if ready != nil { return }
        let entered = try await client.getChildren(path).children.filter { $0 != "ready" }
        if entered.count >= count {
            do { try await client.create(readyPath) } catch let error as ClientError where error.code == .nodeExists {}
            return
        }
        guard let event = await client.firstEvent(readyWatch, within: deadline.map { $0 - ContinuousClock.now }) else {
            try? await client.delete(mine)
            throw RecipeError.timedOut
        }
        if event.type == .none { throw ClientError.keeper(.sessionExpired, path: path) }
    }

    public func leave(timeout: Duration? = nil) async throws {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        try await client.delete(mine)
        while true {
            let (children, _, watch) = try await client.getChildrenAndWatch(path)
            guard children.contains(where: { $0 != "ready" }) else { break }
            guard let event = await client.firstEvent(watch, within: deadline.map { $0 - ContinuousClock.now }) else {
                throw RecipeError.timedOut
            }
            if event.type == .none { throw ClientError.keeper(.sessionExpired, path: path) }
        }
        // The last to leave tidies up; another may have done it already.
        try? await client.delete(readyPath)
    }
}

/// A shared counter updated by compare-and-set on the node's version (Curator's
/// DistributedAtomicLong): the value is the node's data as a decimal number.
public struct DistributedCounter: Sendable {
    let client: ZooKeeperClient
    let path: String

    public init(_ client: ZooKeeperClient, path: String) {
        self.client = client
        self.path = path
    }

    public func value() async throws -> Int64 {
        do {
            return Int64(String(decoding: try await client.getData(path).data ?? [], as: UTF8.self)) ?? 0
        } catch let error as ClientError where error.code == .noNode {
            return 0
        }
    }

    /// Adds `delta` and returns the new value; retries when another writer got in between.
    @discardableResult
    public func add(_ delta: Int64) async throws -> Int64 {
        while true {
            do {
                let node = try await client.getData(path)
                let next = (Int64(String(decoding: node.data ?? [], as: UTF8.self)) ?? 0) + delta
                try await client.setData(path, Array(String(next).utf8), version: node.stat.version)
                return next
            } catch let error as ClientError where error.code == .badVersion {
                continue
            } catch let error as ClientError where error.code == .noNode {
                let parent = String(path[..<path.lastIndex(of: "/")!])
                try await client.ensurePath(parent.isEmpty ? "/" : parent)
                do {
                    try await client.create(path, data: Array(String(delta).utf8))
                    return delta
                } catch let error as ClientError where error.code == .nodeExists {
                    continue
                }
            }
        }
    }
}

/// A first-in first-out queue (kazoo's Queue): items are persistent sequential nodes; a taker
/// owns an item once its delete succeeded, so each item goes to exactly one taker.
public struct DistributedQueue: Sendable {
    let client: ZooKeeperClient
    let path: String

    public init(_ client: ZooKeeperClient, path: String) {
        self.client = client
        self.path = path
    }

    public func put(_ item: [UInt8]) async throws {
        try await client.ensurePath(path)
        try await client.create(path + "/item-", data: item, mode: .persistentSequential)
    }

    /// The oldest item, removed, or nil when the queue is empty.
    public func poll() async throws -> [UInt8]? {
        try await client.ensurePath(path)
        return try await takeFirst(SequentialName.sorted(try await client.getChildren(path).children))
    }

    /// The oldest item, removed, waiting for one if the queue is empty.
    public func take(timeout: Duration? = nil) async throws -> [UInt8] {
        try await client.ensurePath(path)
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            let (children, _, watch) = try await client.getChildrenAndWatch(path)
            if let item = try await takeFirst(SequentialName.sorted(children)) { return item }
            guard let event = await client.firstEvent(watch, within: deadline.map { $0 - ContinuousClock.now }) else {
                throw RecipeError.timedOut
            }
            if event.type == .none { throw ClientError.keeper(.sessionExpired, path: path) }
        }
    }

    private func takeFirst(_ names: [String]) async throws -> [UInt8]? {
        for name in names {
            do {
                let node = try await client.getData(path + "/" + name)
                try await client.delete(path + "/" + name, version: node.stat.version)
                return node.data ?? []
            } catch let error as ClientError where error.code == .noNode {
                continue  // another taker won this one
            }
        }
        return nil
    }
}
