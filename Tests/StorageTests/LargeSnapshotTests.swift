import DataTree
import Jute
import Storage
import XCTest

/// A snapshot of a million small znodes streams through the writer and reader: neither side
/// ever buffers more than a chunk, so the file is never a second copy of the tree in memory.
final class LargeSnapshotTests: StorageTestCase {
    static let nodeCount = 1_000_000

    func testMillionNodeSnapshotStreamsBothWays() throws {
        let tree = DataTree()
        var events: [WatchNotification] = []
        let parents = 1000
        var zxid: Int64 = 0
        for p in 0..<parents {
            zxid += 1
            _ = tree.apply(TxnHeader(clientId: 0, cxid: 0, zxid: zxid, time: 1, type: OpCode.create.rawValue),
                           .create(CreateTxn(path: "/p\(p)", data: nil, acl: ACL.openUnsafe, ephemeral: false, parentCVersion: Int32(p + 1))),
                           events: &events)
        }
        let value = [UInt8](repeating: 0x61, count: 100)
        for i in 0..<(Self.nodeCount - parents) {
            zxid += 1
            let parent = "/p\(i % parents)"
            _ = tree.apply(TxnHeader(clientId: 0, cxid: 0, zxid: zxid, time: 2, type: OpCode.create.rawValue),
                           .create(CreateTxn(path: "\(parent)/n\(i)", data: value, acl: ACL.openUnsafe, ephemeral: false,
                                             parentCVersion: Int32(i / parents + 1))),
                           events: &events)
        }
        var walk = FuzzySnapshot(tree: tree, sessions: [])
        let writer = try SnapshotFileWriter(directory: directory.snapshotDirectory, zxid: walk.zxid, codec: UncompressedSnapshotCodec())
        var chunkBytesMax = 0
        while let chunk = walk.nextChunk(tree: tree, nodesMax: 2000) {
            chunkBytesMax = max(chunkBytesMax, chunk.count)
            try writer.append(chunk)
        }
        try writer.finish()
        XCTAssertLessThan(chunkBytesMax, 2000 * 200, "one chunk holds ~2000 nodes, never the tree")

        let reader = try SnapshotReader(path: writer.path, codec: UncompressedSnapshotCodec())
        let loaded = try reader.load(zxid: walk.zxid, logger: logger)
        XCTAssertEqual(loaded.tree.nodes.count, tree.nodes.count)
        XCTAssertEqual(loaded.tree.node("/p7/n7")?.data, value)
        XCTAssertLessThan(reader.bufferedBytesMax, 1 << 20, "the reader buffers about one file chunk")
    }
}
