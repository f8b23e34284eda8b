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

    func bytes(of path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
    func write(_ bytes: [UInt8], to path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }
}
