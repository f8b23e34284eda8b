import PaddockClient
import Testing

/// Every op and its errors, against Paddock and against Apache ZooKeeper 3.8 alike.
@Suite struct ClientOpsTests {
    private static func client(_ kind: ServerKind, chroot: String = "") async throws -> ZooKeeperClient {
        try await ZooKeeperClient.connect(try LiveServer.shared(kind).hosts + chroot, sessionTimeout: .seconds(10))
    }

    private static func expectError(_ code: KeeperError, _ body: () async throws -> Void,
                                    sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            try await body()
            Issue.record("expected \(code.name), got success", sourceLocation: sourceLocation)
        } catch let error as ClientError {
            #expect(error.code == code, sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected \(code.name), got \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: ServerKind.allCases)
    func createReadUpdateDelete(kind: ServerKind) async throws {
        let zk = try await Self.client(kind)
        defer { Task { await zk.close() } }
        let root = "/crud-\(kind)"
        let (path, created) = try await zk.create(root, data: Array("one".utf8))
        #expect(path == root && created.version == 0 && created.dataLength == 3)
        #expect(try await zk.getData(root) == NodeData(data: Array("one".utf8), stat: created))
        let updated = try await zk.setData(root, Array("two".utf8), version: 0)
        #expect(updated.version == 1 && updated.mzxid > created.mzxid)
        await Self.expectError(.badVersion) { try await zk.setData(root, [], version: 0) }
        await Self.expectError(.nodeExists) { try await zk.create(root) }
        await Self.expectError(.noNode) { _ = try await zk.getData(root + "/missing") }
        await Self.expectError(.noNode) { try await zk.create(root + "/missing/child") }

        let first = try await zk.create(root + "/seq-", mode: .persistentSequential).path
        let second = try await zk.create(root + "/seq-", mode: .persistentSequential).path
        #expect(first == root + "/seq-0000000000" && second == root + "/seq-0000000001")
        let ephemeral = try await zk.create(root + "/eph", mode: .ephemeral).stat
        #expect(ephemeral.ephemeralOwner == (await zk.session).credentials.id)
        await Self.expectError(.noChildrenForEphemerals) { try await zk.create(root + "/eph/child") }
        #expect(try await zk.getEphemerals(root) == [root + "/eph"])

        let (children, stat) = try await zk.getChildren(root)
        #expect(children.sorted() == ["eph", "seq-0000000000", "seq-0000000001"] && stat.numChildren == 3)
        #expect(try await zk.getAllChildrenNumber(root) == 3)
        await Self.expectError(.notEmpty) { try await zk.delete(root) }
        await Self.expectError(.badVersion) { try await zk.delete(first, version: 7) }
        for child in children { try await zk.delete(root + "/" + child) }
        try await zk.delete(root, version: 1)
        #expect(try await zk.exists(root) == nil)
        try await zk.sync("/")
    }

    /// The completion-style calls: the async calls' results and errors, and a completion may send
    /// the next request.
    @Test(arguments: ServerKind.allCases)
    func completionCallsChain(kind: ServerKind) async throws {
        let zk = try await Self.client(kind, chroot: "")
        defer { Task { await zk.close() } }
        let root = "/callbacks-\(kind)"
        typealias Steps = (created: String, read: NodeData, badVersion: ClientError?, noNode: ClientError?, badPath: ClientError?)
        let steps: Steps = try await withCheckedThrowingContinuation { continuation in
            zk.create(root, data: Array("one".utf8), mode: .persistent) { created in
                guard case .success(let path) = created else { return continuation.resume(throwing: created.failure!) }
                zk.setData(root, Array("two".utf8), version: 0) { _ in
                    zk.getData(root) { read in
                        guard case .success(let node) = read else { return continuation.resume(throwing: read.failure!) }
                        zk.setData(root, [], version: 0) { stale in
                            zk.getData(root + "/missing") { missing in
                                zk.delete(root + "//x") { badPath in
                                    zk.delete(root) { deleted in
                                        guard case .success = deleted else { return continuation.resume(throwing: deleted.failure!) }
                                        continuation.resume(returning: (path, node, stale.failure, missing.failure, badPath.failure))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        #expect(steps.created == root)
        #expect(steps.read.data == Array("two".utf8) && steps.read.stat.version == 1)
        #expect(steps.badVersion?.code == .badVersion)
        #expect(steps.noNode == .keeper(.noNode, path: root + "/missing"))
        #expect(steps.badPath?.code == .badArguments)
        #expect(try await zk.exists(root) == nil)
    }

    @Test(arguments: ServerKind.allCases)
    func containerAndTTLNodes(kind: ServerKind) async throws {
        let zk = try await Self.client(kind)
        defer { Task { await zk.close() } }
        // ZooKeeper hides a container's or TTL node's mark from clients (ephemeralOwner 0).
        #expect(try await zk.create("/container-\(kind)", mode: .container).path == "/container-\(kind)")
        #expect(try #require(try await zk.exists("/container-\(kind)")).ephemeralOwner == 0)
        #expect(try await zk.create("/ttl-\(kind)", mode: .persistentWithTTL, ttl: 60_000).path == "/ttl-\(kind)")
        await Self.expectError(.badArguments) { try await zk.create("/ttl-zero-\(kind)", mode: .persistentWithTTL, ttl: 0) }
        try await zk.delete("/container-\(kind)")
        try await zk.delete("/ttl-\(kind)")
    }

    @Test(arguments: ServerKind.allCases)
    func chrootPathsAreRelative(kind: ServerKind) async throws {
        let plain = try await Self.client(kind)
        defer { Task { await plain.close() } }
        try await plain.create("/chroot-\(kind)")
        let zk = try await Self.client(kind, chroot: "/chroot-\(kind)")
        defer { Task { await zk.close() } }
        #expect(try await zk.create("/a", data: [1]).path == "/a")
        #expect(try await zk.create("/s-", mode: .persistentSequential).path == "/s-0000000001")
        #expect(try await plain.getData("/chroot-\(kind)/a").data == [1])
        #expect(try await zk.getChildren("/").children.sorted() == ["a", "s-0000000001"])
        let (_, watch) = try await zk.getDataAndWatch("/a")
        try await plain.setData("/chroot-\(kind)/a", [2])
        #expect(await EventLog(watch).element(1)?.path == "/a")
    }

    @Test(arguments: ServerKind.allCases)
    func multiCommitsAllOrNothing(kind: ServerKind) async throws {
        let zk = try await Self.client(kind)
        defer { Task { await zk.close() } }
        let root = "/multi-\(kind)"
        let results = try await zk.multi([
            .create(path: root, data: []), .create(path: root + "/a", data: [1]),
            .setData(path: root + "/a", data: [2], version: 0), .check(path: root + "/a", version: 1),
        ])
        #expect(results.count == 4 && results[0] == .created(path: root, stat: nil))
        if case .set(let stat) = results[2] { #expect(stat.version == 1) } else { Issue.record("\(results[2])") }
        #expect(results[3] == .checked)
        let failed = try await zk.multi([.delete(path: root + "/a"), .check(path: root, version: 5), .delete(path: root)])
        #expect(failed == [.error(.ok), .error(.badVersion), .error(.runtimeInconsistency)])
        #expect(try await zk.exists(root + "/a") != nil)
        _ = try await zk.multi([.delete(path: root + "/a"), .delete(path: root)])
    }

    @Test(arguments: ServerKind.allCases)
    func aclsAndDigestAuth(kind: ServerKind) async throws {
        let owner = try await Self.client(kind)
        let stranger = try await Self.client(kind)
        defer { Task { await owner.close(); await stranger.close() } }
        try await owner.addAuth(scheme: "digest", auth: Array("alice:secret".utf8))
        #expect(try await owner.whoAmI().contains(ClientInfo(authScheme: "digest", user: "alice")))
        let path = "/acl-\(kind)"
        try await owner.create(path, data: [7], acl: [ACL(perms: Perms.all, id: Id(scheme: "auth", id: ""))])
        let (acl, _) = try await owner.getACL(path)
        #expect(acl.count == 1 && acl[0].id.scheme == "digest" && acl[0].id.id.hasPrefix("alice:"))
        await Self.expectError(.noAuth) { _ = try await stranger.getData(path) }
        await Self.expectError(.badVersion) { try await owner.setACL(path, ACL.openUnsafe, version: 3) }
        try await owner.setACL(path, ACL.readUnsafe, version: 0)
        #expect(try await stranger.getData(path).data == [7])
        await Self.expectError(.noAuth) { try await stranger.setData(path, []) }
        try await owner.delete(path)
    }

    @Test(arguments: ServerKind.allCases)
    func badPathsAreRefusedBeforeSending(kind: ServerKind) async throws {
        let zk = try await Self.client(kind)
        defer { Task { await zk.close() } }
        for path in ["", "a", "/a/", "/a//b", "/a/./b"] {
            await Self.expectError(.badArguments) { _ = try await zk.exists(path) }
        }
    }

    @Test(arguments: ServerKind.allCases)
    func manyRequestsInFlightOnOneConnection(kind: ServerKind) async throws {
        let zk = try await Self.client(kind)
        defer { Task { await zk.close() } }
        let root = try await zk.create("/pipeline-\(kind)").path
        let paths = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<500 { group.addTask { try await zk.create(root + "/n-", mode: .persistentSequential).path } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(paths).count == 500)
        #expect(try await zk.getChildren(root).children.count == 500)
        _ = try await zk.multi(paths.map { .delete(path: $0) } + [.delete(path: root)])
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { error } else { nil }
    }
}
