@testable import DataTree
import Jute
import XCTest

final class DataTreeTests: XCTestCase {
    var zxid: Int64 = 0

    func apply(_ tree: DataTree, _ txn: Txn, type: OpCode = .create, session: Int64 = 0x10, events: inout [WatchNotification]) -> DataTree.Outcome {
        zxid += 1
        return tree.apply(TxnHeader(clientId: session, cxid: 1, zxid: zxid, time: 1000 + zxid, type: type.rawValue), txn, events: &events)
    }

    func create(_ path: String, in tree: DataTree, ephemeral: Bool = false, events: inout [WatchNotification]) -> DataTree.Outcome {
        let parent = tree.node(PathValidation.parent(of: path))!
        return apply(tree, .create(CreateTxn(path: path, data: Array(path.utf8), acl: ACL.openUnsafe, ephemeral: ephemeral,
                                             parentCVersion: parent.cversion + 1)), events: &events)
    }

    func testFreshTreeHasZooKeepersSystemNodes() {
        let tree = DataTree()
        XCTAssertEqual(tree.node("/")?.children, ["zookeeper"])
        XCTAssertEqual(tree.node("/zookeeper")?.children, ["quota", "config"])
        XCTAssertEqual(tree.nodeCount, 5, "ZooKeeper counts the root twice")
        XCTAssertEqual(tree.node("/zookeeper")?.stat.cversion, -2)
        XCTAssertEqual(tree.acls.acl(for: tree.node("/zookeeper/config")!.aclID), ACL.readUnsafe)
    }

    func testCreateAndDeleteUpdateParentStatAsZooKeeper() {
        let tree = DataTree()
        var events: [WatchNotification] = []
        _ = create("/p", in: tree, events: &events)
        _ = create("/p/a", in: tree, events: &events)
        _ = create("/p/b", in: tree, events: &events)
        let createZxid = zxid
        XCTAssertEqual(tree.node("/p")?.stat.cversion, 2)
        XCTAssertEqual(tree.node("/p")?.stat.pzxid, createZxid)
        _ = apply(tree, .delete(path: "/p/a"), type: .delete, events: &events)
        let stat = tree.node("/p")!.stat
        XCTAssertEqual(stat.cversion, 3, "deletes count in the cversion clients see")
        XCTAssertEqual(stat.numChildren, 1)
        XCTAssertEqual(stat.pzxid, zxid)
        XCTAssertEqual(tree.node("/p")?.cversion, 2, "the stored cversion counts creations only")
    }

    func testSetDataBumpsVersionAndFiresDataWatchOnce() {
        let tree = DataTree()
        var events: [WatchNotification] = []
        _ = create("/n", in: tree, events: &events)
        tree.dataWatches.add("/n", 7, .standard)
        let outcome = apply(tree, .setData(path: "/n", data: [9], version: 1), type: .setData, events: &events)
        guard case .stat(let stat) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertEqual(stat.version, 1)
        XCTAssertEqual(stat.mzxid, zxid)
        XCTAssertEqual(events, [WatchNotification(watcher: 7, type: .nodeDataChanged, path: "/n", zxid: zxid)])
        events.removeAll()
        _ = apply(tree, .setData(path: "/n", data: [8], version: 2), type: .setData, events: &events)
        XCTAssertTrue(events.isEmpty, "a one-shot watch fires once")
    }

    func testRecursiveWatchSeesDescendantsButNotChildrenChanged() {
        let tree = DataTree()
        var events: [WatchNotification] = []
        _ = create("/r", in: tree, events: &events)
        tree.dataWatches.add("/r", 3, .persistentRecursive)
        _ = create("/r/x", in: tree, events: &events)
        _ = create("/r/x/y", in: tree, events: &events)
        XCTAssertEqual(events.map(\.path), ["/r/x", "/r/x/y"])
        XCTAssertEqual(Set(events.map(\.type)), [.nodeCreated])
        XCTAssertNotNil(tree.dataWatches.mode("/r", 3), "persistent watches stay after firing")
    }

    func testDeleteNotifiesDataThenChildWatchersOncePerWatcher() {
        let tree = DataTree()
        var events: [WatchNotification] = []
        _ = create("/d", in: tree, events: &events)
        _ = create("/d/c", in: tree, events: &events)
        tree.dataWatches.add("/d/c", 1, .standard)
        tree.childWatches.add("/d/c", 1, .standard)
        tree.childWatches.add("/d/c", 2, .standard)
        tree.childWatches.add("/d", 2, .standard)
        _ = apply(tree, .delete(path: "/d/c"), type: .delete, events: &events)
        XCTAssertEqual(events.map { "\($0.watcher) \($0.type) \($0.path)" },
                       ["1 nodeDeleted /d/c", "2 nodeDeleted /d/c", "2 nodeChildrenChanged /d"])
    }

    func testCloseSessionRemovesItsEphemerals() {
        let tree = DataTree()
        var events: [WatchNotification] = []
        _ = create("/e1", in: tree, ephemeral: true, events: &events)
        _ = create("/e2", in: tree, ephemeral: true, events: &events)
        XCTAssertEqual(tree.ephemeralPaths(of: 0x10), ["/e1", "/e2"])
        XCTAssertEqual(tree.node("/e1")?.stat.ephemeralOwner, 0x10)
        _ = apply(tree, .closeSession(paths: ["/e1", "/e2"]), type: .closeSession, events: &events)
        XCTAssertNil(tree.node("/e1"))
        XCTAssertNil(tree.node("/e2"))
        XCTAssertEqual(tree.ephemeralCount, 0)
    }

    func testFailedMultiReportsOkThenErrorThenRuntimeInconsistency() {
        let tree = DataTree()
        var events: [WatchNotification] = []
        let outcome = apply(tree, .multi([
            SubTxn(type: OpCode.create.rawValue, txn: .create(CreateTxn(path: "/m", data: [], acl: ACL.openUnsafe, ephemeral: false, parentCVersion: 1))),
            SubTxn(type: OpCode.error.rawValue, txn: .error(KeeperError.nodeExists.rawValue)),
            SubTxn(type: OpCode.error.rawValue, txn: .error(KeeperError.runtimeInconsistency.rawValue)),
        ]), type: .multi, events: &events)
        XCTAssertEqual(outcome, .multi([.failed(.ok), .failed(.nodeExists), .failed(.runtimeInconsistency)]))
        XCTAssertNil(tree.node("/m"), "a failed multi changes nothing")
    }

    func testContainerAndTTLOwnersAreHiddenFromClients() {
        let tree = DataTree()
        var events: [WatchNotification] = []
        _ = apply(tree, .createContainer(CreateTxn(path: "/c", data: [], acl: ACL.openUnsafe, ephemeral: false, parentCVersion: 1)),
                  type: .createContainer, events: &events)
        _ = apply(tree, .createTTL(CreateTxn(path: "/t", data: [], acl: ACL.openUnsafe, ephemeral: false, parentCVersion: 2, ttl: 500)),
                  type: .createTTL, events: &events)
        XCTAssertEqual(tree.containers, ["/c"])
        XCTAssertEqual(tree.ttls, ["/t"])
        XCTAssertEqual(tree.node("/c")?.stat.ephemeralOwner, 0)
        XCTAssertEqual(EphemeralOwner.ttlValue(tree.node("/t")!.ephemeralOwner), 500)
        XCTAssertEqual(tree.ephemeralCount, 0)
    }
}

final class PathValidationTests: XCTestCase {
    func testZooKeepersRules() {
        for valid in ["/", "/a", "/a/b", "/a.b", "/.a", "/a/..b", "/zookeeper"] {
            XCTAssertNil(PathValidation.problem(valid), valid)
        }
        for invalid in ["", "a", "/a/", "//", "/a//b", "/.", "/..", "/a/./b", "/a/../b", "/a\u{0}b", "/a\u{1}", "/\u{FFF5}"] {
            XCTAssertNotNil(PathValidation.problem(invalid), invalid)
        }
        XCTAssertNil(PathValidation.problem("/a/", sequential: true), "a sequential prefix may end with a slash")
    }

    /// The one-pass ASCII check (PlainPath) must agree with the full rules on every path it accepts.
    func testQuickCheckNeverAcceptsWhatTheFullRulesRefuse() {
        let pieces = ["/", "/", ".", "..", "a", "b1", " ", "\u{0}", "\u{7f}", "é", "\u{1}"]
        var generator = SystemRandomNumberGenerator()
        var accepted = 0
        for _ in 0..<20_000 {
            let path = (0..<Int.random(in: 1...6, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            for sequential in [false, true] where PlainPath.isPlain(path, sequential: sequential) {
                accepted += 1
                XCTAssertNil(PathValidation.problemInEveryScalar(path, sequential: sequential), "\(path) sequential \(sequential)")
            }
        }
        XCTAssertGreaterThan(accepted, 1000)
    }

    func testParentAndName() {
        XCTAssertEqual(PathValidation.parent(of: "/a"), "/")
        XCTAssertEqual(PathValidation.parent(of: "/a/b/c"), "/a/b")
        XCTAssertEqual(PathValidation.name(of: "/a/b"), "b")
        XCTAssertEqual(PathValidation.name(of: "/a"), "a")
        XCTAssertEqual(PathValidation.parent(of: "/é/ü/x"), "/é/ü", "offsets are UTF-8 bytes")
        XCTAssertEqual(PathValidation.name(of: "/é/ü"), "ü")
        XCTAssertTrue(PathValidation.isAbsoluteWithoutNull("/a/b"))
        XCTAssertFalse(PathValidation.isAbsoluteWithoutNull("a/b"))
        XCTAssertFalse(PathValidation.isAbsoluteWithoutNull(""))
        XCTAssertFalse(PathValidation.isAbsoluteWithoutNull("/a\u{0}b"))
    }
}

final class ACLCacheTests: XCTestCase {
    /// Found by the snapshot fuzzer: a snapshot's ACL id of Int64.max used to overflow.
    func testRestoringTheLargestACLIDKeepsTheCacheUsable() {
        let tree = DataTree()
        tree.beginRestore()
        tree.restoreACL(id: .max, acl: [ACL(perms: Perms.read, id: Id(scheme: "world", id: "anyone"))])
        tree.restoreACL(id: 3, acl: ACL.openUnsafe)
        XCTAssertEqual(tree.acls.acl(for: .max).first?.perms, Perms.read)
        XCTAssertEqual(tree.acls.acl(for: 3), ACL.openUnsafe)
    }

    func testNodesWithTheSameACLShareOneCopy() {
        let tree = DataTree()
        var events: [WatchNotification] = []
        let acl = [ACL(perms: Perms.all, id: Id(scheme: "digest", id: "u:abc="))]
        let before = tree.acls.count
        for i in 1...1000 {
            _ = tree.apply(TxnHeader(clientId: 0, cxid: 0, zxid: Int64(i), time: 0, type: OpCode.create.rawValue),
                           .create(CreateTxn(path: "/n\(i)", data: nil, acl: acl, ephemeral: false, parentCVersion: Int32(i))),
                           events: &events)
        }
        XCTAssertEqual(tree.acls.count, before + 1, "one stored list for a thousand nodes")
        for i in 1...1000 {
            _ = tree.apply(TxnHeader(clientId: 0, cxid: 0, zxid: Int64(1000 + i), time: 0, type: OpCode.delete.rawValue),
                           .delete(path: "/n\(i)"), events: &events)
        }
        XCTAssertEqual(tree.acls.count, before, "the list goes when its last node does")
    }
}
