import DataTree
import Jute
import Storage
import XCTest

final class SnapshotStreamTests: StorageTestCase {
    let sessions: [(id: Int64, timeoutMs: Int32)] = [(0x77, 30000), (0x88, 4000)]
    let recordBytesMax = 0xfffff

    /// makeTree's nodes plus a digest-ACL node, ephemerals of two sessions and a larger value.
    func makeStreamTree() -> DataTree {
        let tree = makeTree()
        var events: [WatchNotification] = []
        var zxid = tree.lastProcessedZxid
        func apply(_ txn: Txn, _ type: OpCode, session: Int64 = 0) {
            zxid += 1
            _ = tree.apply(TxnHeader(clientId: session, cxid: 0, zxid: zxid, time: 2000 + zxid, type: type.rawValue), txn, events: &events)
        }
        let digestACL = [ACL(perms: Perms.read | Perms.write, id: Id(scheme: "digest", id: "u:abc="))]
        apply(.create(CreateTxn(path: "/secure", data: Array(repeating: 7, count: 3000), acl: digestACL, ephemeral: false,
                                parentCVersion: 5)), .create)
        apply(.create(CreateTxn(path: "/a/e77", data: [1], acl: ACL.openUnsafe, ephemeral: true, parentCVersion: 3)), .create, session: 0x77)
        apply(.create(CreateTxn(path: "/secure/e88", data: nil, acl: digestACL, ephemeral: true, parentCVersion: 1)), .create, session: 0x88)
        return tree
    }

    func decoder(for tree: DataTree) -> SnapshotStreamDecoder {
        SnapshotStreamDecoder(zxid: tree.lastProcessedZxid, recordBytesMax: recordBytesMax)
    }

    func assertRestored(_ result: SnapshotStreamDecoder.Result?, _ tree: DataTree, leftover: [UInt8] = [],
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try XCTUnwrap(result, "the stream is complete", file: file, line: line)
        assertSameTree(tree, result.tree, file: file, line: line)
        XCTAssertEqual(result.tree.ephemeralPaths(of: 0x88), ["/secure/e88"], file: file, line: line)
        XCTAssertEqual(result.tree.lastProcessedZxid, tree.lastProcessedZxid, file: file, line: line)
        XCTAssertEqual(result.sessions.map(\.id), sessions.map(\.id), file: file, line: line)
        XCTAssertEqual(result.sessions.map(\.timeoutMs), sessions.map(\.timeoutMs), file: file, line: line)
        XCTAssertEqual(result.leftover, leftover, file: file, line: line)
    }

    func testLayoutIsZooKeepersSnapshotBodyThenTheSignature() throws {
        let tree = makeStreamTree()
        let stream = SnapshotStream.encode(tree: tree, sessions: sessions)
        // A snapshot file of the same tree without its 16-byte header, "/" terminator and seals.
        var walk = FuzzySnapshot(tree: tree, sessions: sessions)
        var body: [UInt8] = []
        while let chunk = walk.nextChunk(tree: tree, nodesMax: 100) { body += chunk }
        let end: [UInt8] = [0, 0, 0, 1, 0x2F] + [0, 0, 0, 10] + Array("BenWasHere".utf8)
        XCTAssertEqual(stream, Array(body.dropFirst(16)) + end)
        XCTAssertEqual(Array(stream.prefix(4)), [0, 0, 0, 2], "the session count comes first, no file header")
    }

    func testWholeStreamRestoresTheTree() throws {
        let tree = makeStreamTree()
        var decoder = decoder(for: tree)
        try assertRestored(decoder.feed(SnapshotStream.encode(tree: tree, sessions: sessions)), tree)
    }

    func testOneByteAtATime() throws {
        let tree = makeStreamTree()
        let stream = SnapshotStream.encode(tree: tree, sessions: sessions)
        var decoder = decoder(for: tree)
        for byte in stream.dropLast() { XCTAssertNil(try decoder.feed([byte])) }
        try assertRestored(decoder.feed([stream.last!]), tree)
    }

    func testRandomChunksWithTheNextPacketsBehind() throws {
        let tree = makeStreamTree()
        let stream = SnapshotStream.encode(tree: tree, sessions: sessions)
        let next: [UInt8] = (0..<200).map { UInt8($0 & 0xff) }
        for seed in UInt64(1)...20 {
            var random = SplitMix64(seed: seed)
            let bytes = stream + next
            var decoder = decoder(for: tree)
            var fed = 0
            var result: SnapshotStreamDecoder.Result?
            while result == nil {
                let count = min(Int.random(in: 1...700, using: &random), bytes.count - fed)
                result = try decoder.feed(Array(bytes[fed..<fed + count]))
                fed += count
            }
            try assertRestored(result, tree, leftover: Array(bytes[stream.count..<fed]))
        }
    }

    func testLargeRecordByteByByteAndLargeTreeInSmallChunks() throws {
        // A quadratic decoder would re-parse the 512 KiB node on every byte: ~10^11 steps.
        let tree = DataTree()
        var events: [WatchNotification] = []
        var zxid: Int64 = 0
        func create(_ path: String, _ data: [UInt8], parentCVersion: Int32) {
            zxid += 1
            _ = tree.apply(TxnHeader(clientId: 0, cxid: 0, zxid: zxid, time: 1, type: OpCode.create.rawValue),
                           .create(CreateTxn(path: path, data: data, acl: ACL.openUnsafe, ephemeral: false, parentCVersion: parentCVersion)),
                           events: &events)
        }
        create("/big", Array(repeating: 0x62, count: 512 * 1024), parentCVersion: 1)
        for i in 0..<20_000 { create("/big/n\(i)", Array(repeating: 0x61, count: 100), parentCVersion: Int32(i + 1)) }
        let stream = SnapshotStream.encode(tree: tree, sessions: [])
        let bigEnd = 600_000 // past /big, which follows the root
        var decoder = SnapshotStreamDecoder(zxid: zxid, recordBytesMax: 1 << 20)
        for byte in stream[..<bigEnd] { XCTAssertNil(try decoder.feed([byte])) }
        var random = SplitMix64(seed: 7)
        var fed = bigEnd
        var result: SnapshotStreamDecoder.Result?
        while result == nil {
            let count = min(Int.random(in: 1...64, using: &random), stream.count - fed)
            result = try decoder.feed(Array(stream[fed..<fed + count]))
            fed += count
        }
        XCTAssertEqual(result?.tree.nodes.count, tree.nodes.count)
        XCTAssertEqual(result?.tree.node("/big")?.data, tree.node("/big")?.data)
    }

    func testWrongSignatureThrows() throws {
        let tree = makeStreamTree()
        var stream = SnapshotStream.encode(tree: tree, sessions: sessions)
        stream.replaceSubrange((stream.count - 4)..., with: Array("Gone".utf8))
        var decoder = decoder(for: tree)
        XCTAssertThrowsError(try decoder.feed(stream)) { error in
            XCTAssertTrue("\(error)".contains("signature is 'BenWasGone'"), "\(error)")
        }
    }

    func testMalformedStreamsThrow() throws {
        func stream(_ build: (inout JuteWriter) -> Void) -> [UInt8] {
            var w = JuteWriter()
            build(&w)
            return w.bytes
        }
        let cases: [(String, [UInt8])] = [
            ("negative session count", stream { $0.writeInt32(-2) }),
            ("exceeds the 1048575-byte limit", stream { $0.writeInt32(0); $0.writeInt32(0); $0.writeInt32(0x7fff_ffff) }),
            ("before its parent", stream { w in
                w.writeInt32(0)
                w.writeInt32(0)
                w.writeString("/x/y")
                w.writeBuffer([])
                w.writeInt64(-1)
                StatPersisted().write(to: &w)
            }),
        ]
        for (reason, bytes) in cases {
            var decoder = SnapshotStreamDecoder(zxid: 1, recordBytesMax: recordBytesMax)
            XCTAssertThrowsError(try decoder.feed(bytes), reason) { error in
                XCTAssertTrue("\(error)".contains(reason), "\(error)")
            }
        }
    }
}

/// A seeded generator, so a failing chunking can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
