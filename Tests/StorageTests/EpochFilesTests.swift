import Foundation
import Storage
import XCTest

final class EpochFilesTests: StorageTestCase {
    func testMissingFilesReadAsNil() throws {
        XCTAssertNil(try EpochFiles(directory).read(.accepted))
    }

    func testWritesZooKeepersFormatAndReadsItBack() throws {
        let files = EpochFiles(directory)
        try files.write(.accepted, 7)
        try files.write(.current, 6)
        XCTAssertEqual(try bytes(of: directory.snapshotDirectory + "/acceptedEpoch"), Array("7".utf8), "ASCII decimal, no newline")
        XCTAssertEqual(try files.read(.accepted), 7)
        XCTAssertEqual(try files.read(.current), 6)
        try files.write(.accepted, 8)
        XCTAssertEqual(try files.read(.accepted), 8)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.snapshotDirectory + "/acceptedEpoch.tmp"))
    }

    func testGarbageIsAnErrorNamingTheFile() throws {
        try write(Array("x1".utf8), to: directory.snapshotDirectory + "/currentEpoch")
        XCTAssertThrowsError(try EpochFiles(directory).read(.current)) {
            XCTAssertTrue("\($0)".contains("currentEpoch"), "\($0)")
        }
    }

    func testZooKeeperWrittenFileWithTrailingNewlineReads() throws {
        try write(Array("12\n".utf8), to: directory.snapshotDirectory + "/currentEpoch")
        XCTAssertEqual(try EpochFiles(directory).read(.current), 12)
    }
}
