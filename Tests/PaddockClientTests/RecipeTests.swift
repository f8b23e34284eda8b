import Testing

@testable import PaddockClient

/// Each recipe against Paddock and Apache ZooKeeper 3.8, including what happens when a holder's
/// session expires.
@Suite struct RecipeTests {
    private static func clients(_ kind: ServerKind, _ count: Int) async throws -> [ZooKeeperClient] {
        let hosts = try LiveServer.shared(kind).hosts
        var made: [ZooKeeperClient] = []
        for _ in 0..<count { made.append(try await ZooKeeperClient.connect(hosts)) }
        return made
    }

    /// Polls `check` every 10 ms until it holds; fails after 10 s.
    static func poll(_ what: String, _ check: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while try await !check() {
            guard ContinuousClock.now < deadline else { throw LiveServerError("timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Expires `zk`'s session: the client is cut off from the server, another connection
    /// attaches to the session and closes it, then the client is let back and hears it expired.
    static func expire(_ zk: ZooKeeperClient, on kind: ServerKind) async throws {
        let events = EventLog(zk.sessionEvents)
        zk.core.setCutOff(true)
        await events.wait { events, _ in events.last == .disconnected }
        let thief = try await ZooKeeperClient.connect(try LiveServer.shared(kind).hosts, resuming: await zk.session.credentials)
        await thief.close()
        zk.core.setCutOff(false)
        #expect(await events.wait { _, finished in finished }.last == .expired)
    }

    @Test(arguments: ServerKind.allCases)
    func lockIsExclusiveAndPassesOnAtUnlockOrExpiry(kind: ServerKind) async throws {
        let zk = try await Self.clients(kind, 3)
        let path = "/recipes-\(kind)/lock"
        let first = DistributedLock(zk[0], path: path), second = DistributedLock(zk[1], path: path)
        try await first.lock()
        await #expect(throws: RecipeError.timedOut) { try await second.lock(timeout: .milliseconds(300)) }
        #expect(try await zk[2].getChildren(path).children.count == 1, "a timed-out waiter leaves no node")

        let waiting = Task { try await second.lock(timeout: .seconds(10)) }
        try await first.unlock()
        try await waiting.value
        #expect(second.isHeld)

        // The holder's session expires: the next waiter gets the lock.
        let third = DistributedLock(zk[2], path: path)
        let next = Task { try await third.lock(timeout: .seconds(20)) }
        try await Self.expire(zk[1], on: kind)
        try await next.value
        try await third.unlock()
        for client in zk { await client.close() }
    }

    @Test(arguments: ServerKind.allCases)
    func readersShareAndAWriterWaitsForThem(kind: ServerKind) async throws {
        let zk = try await Self.clients(kind, 3)
        let path = "/recipes-\(kind)/rw"
        let readers = [DistributedReadWriteLock(zk[0], path: path), DistributedReadWriteLock(zk[1], path: path)]
        let writer = DistributedReadWriteLock(zk[2], path: path)
        for reader in readers { try await reader.lockForReading(timeout: .seconds(5)) }
        await #expect(throws: RecipeError.timedOut) { try await writer.lockForWriting(timeout: .milliseconds(300)) }
        let writing = Task { try await writer.lockForWriting(timeout: .seconds(10)) }
        for reader in readers { try await reader.unlock() }
        try await writing.value
        await #expect(throws: RecipeError.timedOut) { try await readers[0].lockForReading(timeout: .milliseconds(300)) }
        try await writer.unlock()
        for client in zk { await client.close() }
    }

    @Test(arguments: ServerKind.allCases)
    func leadershipPassesInLineOnCloseAndOnExpiry(kind: ServerKind) async throws {
        let zk = try await Self.clients(kind, 3)
        let path = "/recipes-\(kind)/leader"
        let latches = zk.enumerated().map { LeaderLatch($1, path: path, participant: "p\($0)") }
        try await latches[0].awaitLeadership()
        // The others join the line one after the other, so the order is known.
        var others: [Task<Void, any Error>] = []
        for latch in latches.dropFirst() {
            others.append(Task { try await latch.awaitLeadership(timeout: .seconds(20)) })
            let count = others.count + 1
            try await Self.poll("\(count) in line") { try await zk[0].getChildren(path).children.count == count }
        }
        try await latches[0].close()
        try await others[0].value
        #expect(latches[1].hasLeadership && !latches[2].hasLeadership)
        try await Self.expire(zk[1], on: kind)
        try await others[1].value
        #expect(latches[2].hasLeadership)
        try await latches[2].close()
        for client in zk { await client.close() }
    }

    @Test(arguments: ServerKind.allCases)
    func barriersHoldUntilReleased(kind: ServerKind) async throws {
        let zk = try await Self.clients(kind, 3)
        let barrier = DistributedBarrier(zk[0], path: "/recipes-\(kind)/barrier")
        try await barrier.set()
        await #expect(throws: RecipeError.timedOut) {
            try await DistributedBarrier(zk[1], path: "/recipes-\(kind)/barrier").wait(timeout: .milliseconds(300))
        }
        let waiting = Task { try await DistributedBarrier(zk[1], path: "/recipes-\(kind)/barrier").wait(timeout: .seconds(10)) }
        try await barrier.remove()
        try await waiting.value

        let path = "/recipes-\(kind)/double"
        let members = zk.enumerated().map { DistributedDoubleBarrier($1, path: path, count: 3, participant: "m\($0)") }
        await #expect(throws: RecipeError.timedOut) { try await members[0].enter(timeout: .milliseconds(300)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for member in members { group.addTask { try await member.enter(timeout: .seconds(10)) } }
            try await group.waitForAll()
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for member in members { group.addTask { try await member.leave(timeout: .seconds(10)) } }
            try await group.waitForAll()
        }
        #expect(try await zk[0].getChildren(path).children.isEmpty)
        for client in zk { await client.close() }
    }

    @Test(arguments: ServerKind.allCases)
    func counterAddsEveryConcurrentIncrement(kind: ServerKind) async throws {
        let zk = try await Self.clients(kind, 4)
        let path = "/recipes-\(kind)/counter"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in zk {
                group.addTask { for _ in 0..<25 { try await DistributedCounter(client, path: path).add(1) } }
            }
            try await group.waitForAll()
        }
        #expect(try await DistributedCounter(zk[0], path: path).value() == 100)
        #expect(try await DistributedCounter(zk[0], path: path).add(-10) == 90)
        for client in zk { await client.close() }
    }

    @Test(arguments: ServerKind.allCases)
    func queueHandsEachItemToOneTakerInOrder(kind: ServerKind) async throws {
        let zk = try await Self.clients(kind, 2)
        let path = "/recipes-\(kind)/queue"
        let producer = DistributedQueue(zk[0], path: path)
        #expect(try await producer.poll() == nil)
        for item in 0..<20 { try await producer.put([UInt8(item)]) }
        let taken = try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for client in zk {
                group.addTask {
                    var mine: [UInt8] = []
                    while let item = try await DistributedQueue(client, path: path).poll() { mine += item }
                    return mine
                }
            }
            return try await group.reduce(into: [[UInt8]]()) { $0.append($1) }
        }
        #expect(taken.flatMap { $0 }.sorted() == (0..<20).map { UInt8($0) }, "each item exactly once")
        for mine in taken { #expect(mine == mine.sorted(), "each taker sees queue order") }
        let waiting = Task { try await DistributedQueue(zk[1], path: path).take(timeout: .seconds(10)) }
        try await producer.put([42])
        #expect(try await waiting.value == [42])
        for client in zk { await client.close() }
    }

    @Test(arguments: ServerKind.allCases)
    func registeredInstancesLeaveWithTheirSession(kind: ServerKind) async throws {
        let zk = try await Self.clients(kind, 3)
        let base = "/recipes-\(kind)/services"
        try await ServiceRegistry(zk[0], base: base).register(service: "api", instance: "a", payload: Array("10.0.0.1:80".utf8))
        try await ServiceRegistry(zk[1], base: base).register(service: "api", instance: "b", payload: Array("10.0.0.2:80".utf8))
        let registry = ServiceRegistry(zk[2], base: base)
        #expect(try await registry.instances(of: "api") == ["a": Array("10.0.0.1:80".utf8), "b": Array("10.0.0.2:80".utf8)])
        let views = EventLog(registry.watch("api"))
        #expect(await views.element(1)?.count == 2)
        try await Self.expire(zk[1], on: kind)
        let after = await views.wait { events, _ in events.last?.keys.sorted() == ["a"] }
        #expect(after.last?.keys.sorted() == ["a"])
        for client in [zk[0], zk[2]] { await client.close() }
    }

    @Test(arguments: ServerKind.allCases)
    func treeCacheFollowsTheSubtree(kind: ServerKind) async throws {
        let zk = try await Self.clients(kind, 2)
        let root = "/recipes-\(kind)/tree"
        try await zk[0].ensurePath(root + "/a")
        let cache = TreeCache(zk[1], root: root)
        let changes = EventLog(try await cache.start())
        #expect(Set(cache.nodes.keys) == [root, root + "/a"])
        // Each step waits for the cache, since a cache re-reading a node may fold two quick
        // changes into one.
        try await zk[0].create(root + "/a/b", data: [1])
        try await Self.poll("the cache to add b") { cache.nodes[root + "/a/b"]?.data == [1] }
        try await zk[0].setData(root + "/a/b", [2])
        try await Self.poll("the cache to update b") { cache.nodes[root + "/a/b"]?.data == [2] }
        try await zk[0].delete(root + "/a/b")
        let seen = await changes.wait { events, _ in events.count >= 3 }
        #expect(seen.count == 3)
        if seen.count == 3 {
            guard case .added(root + "/a/b", let added) = seen[0], case .updated(root + "/a/b", let updated) = seen[1] else {
                Issue.record("\(seen)")
                return
            }
            #expect(added.data == [1] && updated.data == [2] && seen[2] == .removed(path: root + "/a/b"))
        }
        #expect(Set(cache.nodes.keys) == [root, root + "/a"])
        for client in zk { await client.close() }
    }
}
