import DataTree
import Foundation
import Jute
import CodecConformance
import Storage
import XCTest

final class SnapshotTests: StorageTestCase {
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

    /// Found by the snapshot fuzzer: a negative ACL cache size used to trap instead of failing.
    func testNegativeACLCacheSizeIsAnError() throws {
        var w = JuteWriter()
        w.writeInt32(0x5A4B_534E)  // "ZKSN"
        w.writeInt32(2)
        w.writeInt64(-1)
        w.writeInt32(0)  // sessions
        w.writeInt32(-1)  // ACL cache entries
        let path = directory.snapshotDirectory + "/snapshot.9"
        try write(w.bytes, to: path)
        let reader = try SnapshotReader(path: path, codec: UncompressedSnapshotCodec())
        XCTAssertThrowsError(try reader.load(zxid: 9, logger: logger)) { error in
            XCTAssertTrue("\(error)".contains("negative ACL cache size"), "\(error)")
        }
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
