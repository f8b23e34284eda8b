import Foundation
import Jute
import Storage
import XCTest

final class TxnLogTests: StorageTestCase {
    func testAppendedTxnsReplayInOrderAcrossRolledFiles() throws {
        try writeLog(count: 300, rollAfter: 100)
        XCTAssertEqual(try directory.logFiles().map(\.zxid), [1, 101], "a roll starts log.<next zxid>")
        XCTAssertEqual(try replayedZxids(), Array(1...300))
        XCTAssertEqual(try replayedZxids(after: 150), Array(151...300), "replay starts after the snapshot zxid")
    }

    func testFileStartsWithZooKeepersHeaderAndIsPreallocated() throws {
        try writeLog(count: 3, preAllocBytes: 8192)
        let file = try bytes(of: directory.logFiles()[0].path)
        XCTAssertEqual(Array(file.prefix(8)), [0x5A, 0x4B, 0x4C, 0x47, 0, 0, 0, 2], "ZKLG, version 2")
        XCTAssertEqual(file.count % 8192, 0, "grown in preAllocSize steps")
    }

    func testTornTailIsTruncatedAtTheLastValidRecord() throws {
        try writeLog(count: 10)
        let path = try directory.logFiles()[0].path
        let records = try TxnLogReader.records(of: path, frameBytesMax: 0xfffff, logger: logger).records
        var file = try bytes(of: path)
        let lastStart = records[9].offset
        file = Array(file[..<(lastStart + 20)]) // the last record cut mid-entry
        try write(file, to: path)
        XCTAssertEqual(try replayedZxids(), Array(1...9))
        XCTAssertEqual(try bytes(of: path).count, lastStart, "the torn bytes are gone")
    }

    func testBadChecksumOnTheLastRecordIsATornTail() throws {
        try writeLog(count: 5)
        let path = try directory.logFiles()[0].path
        let records = try TxnLogReader.records(of: path, frameBytesMax: 0xfffff, logger: logger).records
        var file = try bytes(of: path)
        file[records[4].offset + 30] ^= 0xff
        try write(file, to: path)
        XCTAssertEqual(try replayedZxids(), Array(1...4))
    }

    func testCorruptionBeforeValidRecordsStopsRecovery() throws {
        try writeLog(count: 10)
        let path = try directory.logFiles()[0].path
        let records = try TxnLogReader.records(of: path, frameBytesMax: 0xfffff, logger: logger).records
        var file = try bytes(of: path)
        file[records[3].offset + 30] ^= 0xff
        try write(file, to: path)
        XCTAssertThrowsError(try replayedZxids()) { error in
            XCTAssertTrue("\(error)".contains("refusing to drop committed history"), "\(error)")
        }
    }

    func testMissingLogFileIsDetectedAsAGap() throws {
        try writeLog(count: 30, rollAfter: 10)
        try writeLogAppend(from: 31, count: 10, rollFirst: true)
        let files = try directory.logFiles()
        XCTAssertEqual(files.count, 3)
        try FileManager.default.removeItem(atPath: files[1].path)
        XCTAssertThrowsError(try replayedZxids()) { XCTAssertTrue("\($0)".contains("gap"), "\($0)") }
    }

    func testManyConcurrentAppendsShareFsyncs() throws {
        // Group commit: 2000 appends from one producer finish in far fewer batches than txns.
        let done = expectation(description: "durable")
        let batches = BatchCounter()
        let log = TxnLog(directory: directory.logDirectory, preAllocBytes: 65536, forceSync: true, logger: logger,
                         onDurable: { zxid in batches.increment(); if zxid == 2000 { done.fulfill() } },
                         onFailure: { XCTFail("\($0)") })
        for zxid in Int64(1)...2000 {
            let (header, txn) = createTxn(zxid, "/g\(zxid)")
            log.append(header, txn)
        }
        wait(for: [done], timeout: 60)
        log.close()
        XCTAssertLessThan(batches.value, 2000)
        XCTAssertEqual(try replayedZxids().count, 2000)
    }

    private func writeLogAppend(from first: Int64, count: Int64, rollFirst: Bool) throws {
        let done = expectation(description: "durable")
        let last = first + count - 1
        let log = TxnLog(directory: directory.logDirectory, preAllocBytes: 4096, forceSync: true, logger: logger,
                         onDurable: { zxid in if zxid == last { done.fulfill() } }, onFailure: { XCTFail("\($0)") })
        if rollFirst { log.roll() }
        for zxid in first...last {
            let (header, txn) = createTxn(zxid, "/m\(zxid)")
            log.append(header, txn)
        }
        wait(for: [done], timeout: 30)
        log.close()
    }
}

final class BatchCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

final class TornTailTests: StorageTestCase {
    /// Cutting the log anywhere inside its last two records leaves exactly the records before
    /// the cut, and the file truncated to the last whole record.
    func testTruncationAtEveryByteOfTheLastRecords() throws {
        try writeLog(count: 6)
        let path = try directory.logFiles()[0].path
        let records = try TxnLogReader.records(of: path, frameBytesMax: 0xfffff, logger: logger).records
        let original = try bytes(of: path)
        let dataEnd = try endOfData(path, records)
        for cut in records[4].offset..<dataEnd {
            try write(Array(original[..<cut]), to: path)
            let whole = records.filter { try! recordEnd($0, in: original) <= cut }.count
            XCTAssertEqual(try replayedZxids(), Array(1...Int64(whole)), "cut at \(cut)")
            // Whatever stays after the last whole record reads as preallocation: zeros only.
            let lastEnd = whole == 0 ? 16 : try recordEnd(records[whole - 1], in: original)
            let left = try bytes(of: path)
            XCTAssertTrue(left.count >= lastEnd && left[lastEnd...].allSatisfy { $0 == 0 }, "cut at \(cut)")
        }
    }

    /// Any single flipped byte in the last record drops that record and nothing else.
    func testEveryFlippedByteOfTheLastRecordIsATornTail() throws {
        try writeLog(count: 4)
        let path = try directory.logFiles()[0].path
        let records = try TxnLogReader.records(of: path, frameBytesMax: 0xfffff, logger: logger).records
        let original = try bytes(of: path)
        for offset in records[3].offset..<(try recordEnd(records[3], in: original)) {
            var damaged = original
            damaged[offset] ^= 0x5a
            try write(damaged, to: path)
            XCTAssertEqual(try replayedZxids(), [1, 2, 3], "flip at \(offset)")
        }
    }

    private func recordEnd(_ record: TxnLogReader.Record, in bytes: [UInt8]) throws -> Int {
        let length = bytes[(record.offset + 8)..<(record.offset + 12)].reduce(0) { $0 << 8 | Int($1) }
        return record.offset + 12 + length + 1
    }

    private func endOfData(_ path: String, _ records: [TxnLogReader.Record]) throws -> Int {
        try recordEnd(records.last!, in: bytes(of: path))
    }
}
