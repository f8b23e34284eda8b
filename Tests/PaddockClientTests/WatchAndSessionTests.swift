import Foundation
import PaddockClient
import Testing

/// Watches as streams, reconnect with watch re-registration, and session ends, against Paddock
/// and against Apache ZooKeeper 3.8 alike.
@Suite struct WatchAndSessionTests {
    /// The first event of a one-shot watch, or nil if none came within 10 s.
    private static func first(_ watch: Watch) async -> WatchedEvent? {
        await EventLog(watch).element(1)
    }

    @Test(arguments: ServerKind.allCases)
    func oneShotWatchesFireOnceForTheirChange(kind: ServerKind) async throws {
        let server = try LiveServer.shared(kind)
        let zk = try await ZooKeeperClient.connect(server.hosts)
        let writer = try await ZooKeeperClient.connect(server.hosts)
        let root = "/watch-\(kind)"
        let (missing, creation) = try await zk.existsAndWatch(root)
        #expect(missing == nil)
        try await writer.create(root)
        #expect(await Self.first(creation) == WatchedEvent(type: .nodeCreated, state: .syncConnected, path: root))

        let (_, change) = try await zk.getDataAndWatch(root)
        let (_, _, children) = try await zk.getChildrenAndWatch(root)
        try await writer.setData(root, [1])
        try await writer.setData(root, [2])
        let changes = await EventLog(change).wait { _, finished in finished }
        #expect(changes.map(\.type) == [.nodeDataChanged], "one-shot: one event, then the stream ends")
        try await writer.create(root + "/c")
        #expect(await Self.first(children)?.type == .nodeChildrenChanged)

        let (_, deletion) = try await zk.getDataAndWatch(root + "/c")
        try await writer.delete(root + "/c")
        #expect(await Self.first(deletion)?.type == .nodeDeleted)
        try await writer.delete(root)
        await zk.close()
        await writer.close()
    }

    @Test(arguments: ServerKind.allCases)
    func persistentWatchesKeepReportingUntilRemoved(kind: ServerKind) async throws {
        let server = try LiveServer.shared(kind)
        let zk = try await ZooKeeperClient.connect(server.hosts)
        let root = "/persistent-\(kind)"
        try await zk.create(root)
        try await zk.create(root + "/b")
        // A server keeps one watch mode per path and session: the two watches are on two paths.
        let recursive = EventLog(try await zk.addWatch(root, mode: .persistentRecursive))
        let exact = EventLog(try await zk.addWatch(root + "/b", mode: .persistent))
        try await zk.create(root + "/a")
        try await zk.setData(root + "/a", [1])
        try await zk.setData(root + "/b", [1])
        try await zk.create(root + "/b/c")
        let below = await recursive.wait { events, _ in events.count >= 4 }
        #expect(below.map(\.type) == [.nodeCreated, .nodeDataChanged, .nodeDataChanged, .nodeCreated])
        #expect(below.map(\.path) == [root + "/a", root + "/a", root + "/b", root + "/b/c"])
        let onB = await exact.wait { events, _ in events.count >= 2 }
        #expect(onB.map(\.type) == [.nodeDataChanged, .nodeChildrenChanged], "a persistent watch sees its children list too")

        try await zk.removeAllWatches(root, type: .persistentRecursive)
        let ended = await recursive.wait { _, finished in finished }
        #expect(ended.count == 5 && ended.last?.type == .persistentWatchRemoved && recursive.finished)
        for path in [root + "/b/c", root + "/b", root + "/a", root] { try await zk.delete(path) }
        let later = await exact.wait { events, _ in events.count >= 4 }
        #expect(later.dropFirst(2).map(\.type) == [.nodeChildrenChanged, .nodeDeleted], "the other watch is still there")
        await zk.close()
    }

    @Test(arguments: ServerKind.allCases)
    func reconnectKeepsTheSessionAndReRegistersWatches(kind: ServerKind) async throws {
        let server = try LiveServer(kind)
        let zk = try await ZooKeeperClient.connect(server.hosts, sessionTimeout: .seconds(20))
        let events = EventLog(zk.sessionEvents)
        let before = await zk.session.credentials
        try await zk.create("/reconnect")
        try await zk.create("/reconnect/eph", mode: .ephemeral)
        let (_, watch) = try await zk.getDataAndWatch("/reconnect")
        #expect(await events.element(1) == .connected(server: server.hosts))

        server.kill9()
        #expect(await events.element(2) == .disconnected)
        try server.start()
        // Within the session timeout: a server still starting may hold the first attempt.
        #expect(await events.element(3, within: .seconds(20)) == .connected(server: server.hosts))
        #expect(await zk.session.credentials == before)
        #expect(try await zk.exists("/reconnect/eph") != nil, "the session and its ephemeral survived")

        let writer = try await ZooKeeperClient.connect(server.hosts)
        try await writer.setData("/reconnect", [9])
        #expect(await Self.first(watch)?.type == .nodeDataChanged, "the watch was set again on the new connection")
        await writer.close()
        await zk.close()
        server.kill9()
    }

    @Test(arguments: ServerKind.allCases)
    func anExpiredSessionEndsItsWatchesAndRequests(kind: ServerKind) async throws {
        let server = try LiveServer.shared(kind)
        let zk = try await ZooKeeperClient.connect(server.hosts, sessionTimeout: .seconds(10))
        try await zk.create("/expiring-\(kind)", mode: .ephemeral)
        let (_, watch) = try await zk.getDataAndWatch("/expiring-\(kind)")
        try await RecipeTests.expire(zk, on: kind)
        #expect(await Self.first(watch) == WatchedEvent(type: .none, state: .expired, path: "/expiring-\(kind)"))
        do {
            _ = try await zk.exists("/")
            Issue.record("a request after expiry succeeded")
        } catch let error as ClientError {
            #expect(error.code == .sessionExpired)
        }
        let observer = try await ZooKeeperClient.connect(server.hosts)
        #expect(try await observer.exists("/expiring-\(kind)") == nil, "the ephemeral went with the session")
        await observer.close()
    }
}
