import Foundation
import Storage
import XCTest

/// Txns 1...30 in three files (log.1: 1-10, log.b: 11-20, log.15: 21-30), truncated at points
/// inside and between them, then appended to through the same TxnLog.
final class LogTruncationTests: StorageTestCase {
    var log: TxnLog!

    override func setUpWithError() throws {
        try super.setUpWithError()
        log = TxnLog(directory: directory.logDirectory, preAllocBytes: 4096, forceSync: true, logger: logger,
                     onDurable: { _ in }, onFailure: { XCTFail("\($0)") })
        append(1...30, rollAfter: [10, 20])
    }

    override func tearDownWithError() throws {
        log.close()
        try super.tearDownWithError()
    }

    private func append(_ zxids: ClosedRange<Int64>, rollAfter: Set<Int64> = []) {
        for zxid in zxids {
            let (header, txn) = createTxn(zxid, "/n\(zxid)")
            log.append(header, txn)
            if rollAfter.contains(zxid) { log.roll() }
        }
    }

    private func records(_ path: String) throws -> (records: [TxnLogReader.Record], damage: String?) {
        try TxnLogReader.records(of: path, frameBytesMax: 0xfffff, logger: logger)
    }

    func testTruncationInsideAFileCutsRightAfterTheTxn() throws {
        let middle = directory.logDirectory + "/log.b"
        try log.truncate(after: 15, in: directory) // waits for the appends above, as close does
        XCTAssertEqual(try directory.logFiles().map(\.zxid), [1, 0xb])
        XCTAssertEqual(try replayedZxids(), Array(1...15))
        let (kept, damage) = try records(middle)
        XCTAssertNil(damage, "the cut leaves a clean end")
        XCTAssertEqual(kept.map(\.header.zxid), Array(11...15))

        append(16...20)
        log.close()
        XCTAssertEqual(try directory.logFiles().map(\.zxid), [1, 0xb, 0x10], "appends go to a new file")
        XCTAssertEqual(try replayedZxids(), Array(1...20), "no gap for recovery")
        XCTAssertEqual(try records(middle).records.count, 5, "the cut file is not written again")
    }

    func testTruncationAtAFileBoundaryRemovesTheLaterFiles() throws {
        try log.truncate(after: 20, in: directory)
        XCTAssertEqual(try directory.logFiles().map(\.zxid), [1, 0xb])
        XCTAssertEqual(try replayedZxids(), Array(1...20))

        append(21...25)
        log.close()
        XCTAssertEqual(try directory.logFiles().map(\.zxid), [1, 0xb, 0x15])
        XCTAssertEqual(try replayedZxids(), Array(1...25))
    }

    func testTruncationAtTheLastTxnOfTheFirstFile() throws {
        try log.truncate(after: 10, in: directory)
        XCTAssertEqual(try directory.logFiles().map(\.zxid), [1])
        XCTAssertEqual(try replayedZxids(), Array(1...10))
    }

    func testTruncationBeforeEverythingEmptiesTheLog() throws {
        try log.truncate(after: 0, in: directory)
        XCTAssertEqual(try directory.logFiles().map(\.zxid), [])
        XCTAssertEqual(try replayedZxids(), [])

        append(1...3)
        log.close()
        XCTAssertEqual(try directory.logFiles().map(\.zxid), [1])
        XCTAssertEqual(try replayedZxids(), [1, 2, 3])
    }

    func testTruncationAfterEverythingKeepsEveryTxn() throws {
        try log.truncate(after: 30, in: directory)
        XCTAssertEqual(try directory.logFiles().map(\.zxid), [1, 0xb, 0x15])
        XCTAssertEqual(try replayedZxids(), Array(1...30))

        append(31...32)
        log.close()
        XCTAssertEqual(try directory.logFiles().map(\.zxid), [1, 0xb, 0x15, 0x1f])
        XCTAssertEqual(try replayedZxids(), Array(1...32))
    }

    func testSnapshotsPastThePointAreRemoved() throws {
        log.close()
        for name in ["snapshot.5", "snapshot.f", "snapshot.10", "snapshot.19.gz"] {
            try write([], to: directory.snapshotDirectory + "/" + name)
        }
        try LogTruncation.truncate(directory, after: 15, logger: logger)
        XCTAssertEqual(try directory.snapshotFiles().map(\.zxid), [5, 0xf], "snapshot.f holds txn 15, nothing later")
        XCTAssertEqual(try replayedZxids(), Array(1...15))
    }

    func testDamageBeforeThePointStopsTheTruncation() throws {
        log.close()
        let middle = directory.logDirectory + "/log.b"
        let offset = try records(middle).records[3].offset
        var file = try bytes(of: middle)
        file[offset + 30] ^= 0xff
        try write(file, to: middle)
        XCTAssertThrowsError(try LogTruncation.truncate(directory, after: 17, logger: logger)) { error in
            XCTAssertTrue("\(error)".contains("damaged"), "\(error)")
        }
        XCTAssertEqual(try bytes(of: middle), file, "the damaged file is left for recovery to judge")
    }
}
