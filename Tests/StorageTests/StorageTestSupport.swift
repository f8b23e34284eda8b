import DataTree
import Foundation
import Jute
import Logging
import Storage
import XCTest

/// A temp data dir per test, removed afterwards.
class StorageTestCase: XCTestCase {
    var root = ""
    var directory: DataDirectory!
    let logger = Logger(label: "storage-test")

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "paddock-storage-\(UUID().uuidString)"
        directory = DataDirectory(dataDir: root, dataLogDir: root)
        try directory.create()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: root)
    }

    func createTxn(_ zxid: Int64, _ path: String, session: Int64 = 1) -> (TxnHeader, Txn) {
        (TxnHeader(clientId: session, cxid: Int32(zxid), zxid: zxid, time: 1_700_000_000_000 + zxid, type: OpCode.create.rawValue),
         .create(CreateTxn(path: path, data: Array(path.utf8), acl: ACL.openUnsafe, ephemeral: false, parentCVersion: Int32(zxid))))
    }

    /// Appends txns 1...count and waits until the log reports them durable.
    func writeLog(count: Int, preAllocBytes: Int = 4096, rollAfter: Int? = nil) throws {
        let done = expectation(description: "durable")
        let target = Int64(count)
        let log = TxnLog(directory: directory.logDirectory, preAllocBytes: preAllocBytes, forceSync: true, logger: logger,
                         onDurable: { zxid in if zxid == target { done.fulfill() } },
                         onFailure: { XCTFail("\($0)") })
        for zxid in 1...target {
            let (header, txn) = createTxn(zxid, "/n\(zxid)")
            log.append(header, txn)
            if let rollAfter, zxid == Int64(rollAfter) { log.roll() }
        }
        wait(for: [done], timeout: 30)
        log.close()
    }

    func replayedZxids(after zxid: Int64 = 0) throws -> [Int64] {
        var zxids: [Int64] = []
        let recovery = Recovery(directory: directory, codecs: [UncompressedSnapshotCodec()], frameBytesMax: 0xfffff, logger: logger)
        _ = try recovery.replayLogs(after: zxid) { header, _ in zxids.append(header.zxid) }
        return zxids
    }

    /// Six txns: nodes with data and a digest ACL (deleted again), an ephemeral of session 0x77,
    /// a container.
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

    func bytes(of path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
    func write(_ bytes: [UInt8], to path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }
}
