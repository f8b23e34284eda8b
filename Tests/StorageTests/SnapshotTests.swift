import DataTree
import Foundation
import Jute
import CodecConformance
import Storage
import XCTest

final class SnapshotTests: StorageTestCase {
    func makeTree() -> DataTree {
        let tree = DataTree()
        var events: [WatchNotification] = []
        var zxid: Int64 = 0
        func apply(_ txn: Txn, _ type: OpCode, session: Int64 = 0) {
            zxid += 1
            _ = tree.apply(TxnHeader(clientId: session, cxid: 0, zxid: zxid, time: 1000 + zxid, type: type.rawValue), txn, events: &events)
        }
        let digestACL = [ACL(perms: Perms.read, id: Id(scheme: "digest", id: "u:abc="))]
        apply(.create(CreateTxn(path: "/a", data: [1, 2], acl: ACL.openUnsafe, ephemeral: false, parentCVersion: 1)), .create)
        apply(.create(CreateTxn(path: "/a/b", data: nil, acl: digestACL, ephemeral: false, parentCVersion: 1)), .create)
        apply(.create(CreateTxn(path: "/e", data: [], acl: ACL.openUnsafe, ephemeral: true, parentCVersion: 2)), .create, session: 0x77)
        apply(.createContainer(CreateTxn(path: "/c", data: [], acl: ACL.openUnsafe, ephemeral: false, parentCVersion: 3)), .createContainer)
        apply(.setData(path: "/a", data: [3], version: 1), .setData)
        apply(.delete(path: "/a/b"), .delete)
        return tree
    }

    func writeSnapshot(_ tree: DataTree, sessions: [(id: Int64, timeoutMs: Int32)] = [(0x77, 30000)]) throws -> String {
        var walk = FuzzySnapshot(tree: tree, sessions: sessions)
        let writer = try SnapshotFileWriter(directory: directory.snapshotDirectory, zxid: walk.zxid, codec: UncompressedSnapshotCodec())
        while let chunk = walk.nextChunk(tree: tree, nodesMax: 2) { try writer.append(chunk) }
        try writer.finish()
        return writer.path
    }

    func load() throws -> LoadedSnapshot {
        try XCTUnwrap(Recovery(directory: directory, codecs: [UncompressedSnapshotCodec()], frameBytesMax: 0xfffff, logger: logger)
            .loadNewestSnapshot())
    }

    func assertSameTree(_ a: DataTree, _ b: DataTree, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Set(a.nodes.keys), Set(b.nodes.keys), file: file, line: line)
        for (path, node) in a.nodes {
            guard let other = b.node(path) else { continue }
            XCTAssertEqual(node.stat, other.stat, path, file: file, line: line)
            XCTAssertEqual(node.data, other.data, path, file: file, line: line)
            XCTAssertEqual(a.acls.acl(for: node.aclID), b.acls.acl(for: other.aclID), path, file: file, line: line)
        }
        XCTAssertEqual(a.ephemeralPaths(of: 0x77), b.ephemeralPaths(of: 0x77), file: file, line: line)
        XCTAssertEqual(a.containers, b.containers, file: file, line: line)
    }

    func testRoundTripKeepsEveryNodeStatACLAndSession() throws {
        let tree = makeTree()
        let path = try writeSnapshot(tree)
        XCTAssertTrue(path.hasSuffix("/snapshot.6"))
        let loaded = try load()
        XCTAssertEqual(loaded.zxid, 6)
        XCTAssertEqual(loaded.tree.lastProcessedZxid, 6)
        XCTAssertEqual(loaded.sessions.map(\.id), [0x77])
        assertSameTree(tree, loaded.tree)
        XCTAssertEqual(loaded.tree.node("/a")?.cversion, 1, "the stored cversion survives, not the derived one")
    }

    func testFileEndsWithZooKeepersSeals() throws {
        let file = try bytes(of: writeSnapshot(makeTree()))
        XCTAssertEqual(Array(file.prefix(4)), [0x5A, 0x4B, 0x53, 0x4E], "ZKSN")
        XCTAssertEqual(Array(file.suffix(5)), [0, 0, 0, 1, 0x2F], "the final \"/\"")
    }

    func testDamagedNewestSnapshotFallsBackToAnOlderOne() throws {
        let tree = makeTree()
        let older = try writeSnapshot(DataTree())
        let newer = try writeSnapshot(tree)
        XCTAssertNotEqual(older, newer)
        var file = try bytes(of: newer)
        file[file.count / 2] ^= 0x55
        try write(file, to: newer)
        let loaded = try load()
        XCTAssertEqual(loaded.path, older)
    }

    func testFuzzySnapshotPlusReplayIsExact() throws {
        // Writes keep landing while the walk is under way; replaying the log from the walk's
        // start zxid makes the loaded tree equal the live one.
        let tree = makeTree()
        var walk = FuzzySnapshot(tree: tree, sessions: [])
        let writer = try SnapshotFileWriter(directory: directory.snapshotDirectory, zxid: walk.zxid, codec: UncompressedSnapshotCodec())
        var log: [(TxnHeader, Txn)] = []
        var zxid = tree.lastProcessedZxid
        var events: [WatchNotification] = []
        var step = 0
        while let chunk = walk.nextChunk(tree: tree, nodesMax: 1) {
            try writer.append(chunk)
            step += 1
            zxid += 1
            let txn: Txn = step % 2 == 0
                ? .setData(path: "/a", data: [UInt8(step)], version: Int32(step))
                : .create(CreateTxn(path: "/z\(step)", data: [], acl: ACL.openUnsafe, ephemeral: false,
                                    parentCVersion: tree.node("/")!.cversion + 1))
            let type: OpCode = step % 2 == 0 ? .setData : .create
            let header = TxnHeader(clientId: 0, cxid: 0, zxid: zxid, time: 5000 + zxid, type: type.rawValue)
            _ = tree.apply(header, txn, events: &events)
            log.append((header, txn))
        }
        try writer.finish()
        let loaded = try load()
        for (header, txn) in log where header.zxid > loaded.zxid { loaded.tree.replay(header, txn) }
        assertSameTree(tree, loaded.tree)
    }

    func testPurgeKeepsTheNewestSnapshotsAndTheLogsTheyNeed() throws {
        try writeLog(count: 40, rollAfter: 10)
        for zxid in [Int64(0), 5, 12, 25, 38] {
            let writer = try SnapshotFileWriter(directory: directory.snapshotDirectory, zxid: zxid, codec: UncompressedSnapshotCodec())
            try writer.finish()
        }
        let removed = try Purge.run(directory, retain: 3, logger: logger)
        XCTAssertEqual(try directory.snapshotFiles().map(\.zxid), [12, 25, 38])
        XCTAssertEqual(try directory.logFiles().map(\.zxid), [11], "log.11 holds the txns after snapshot.12")
        XCTAssertEqual(removed.count, 3)
    }
}

final class UncompressedSnapshotCodecTests: XCTestCase {
    func testPassesSnapshotCodecConformance() throws {
        try SnapshotCodecConformance.check(UncompressedSnapshotCodec())
    }
}
