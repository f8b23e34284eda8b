import XCTest
import ZAB

final class LearnerSyncTests: XCTestCase {
    let committed: [Int64] = [0x1_0000_0005, 0x1_0000_0006, 0x1_0000_0007, 0x2_0000_0001, 0x2_0000_0002]
    var last: Int64 { committed.last! }

    func testUpToDateLearnerGetsAnEmptyDiff() {
        XCTAssertEqual(LearnerSync.choose(peer: last, committed: committed, lastProcessed: last), .diff(from: last, through: last))
    }

    func testLearnerBehindWithinTheLogGetsTheMissingTxns() {
        XCTAssertEqual(LearnerSync.choose(peer: 0x1_0000_0006, committed: committed, lastProcessed: last),
                       .diff(from: 0x1_0000_0006, through: last))
    }

    func testLearnerAheadTruncatesToOurLast() {
        XCTAssertEqual(LearnerSync.choose(peer: 0x2_0000_0009, committed: committed, lastProcessed: last), .trunc(to: last))
    }

    func testLearnerWithAnOldLeadersTailTruncatesToTheSharedZxid() {
        // It logged 0x1_0000_0008, which no quorum committed (our log goes 0x1_0000_0007, then
        // epoch 2): it drops back to the last zxid we share in its epoch.
        XCTAssertEqual(LearnerSync.choose(peer: 0x1_0000_0008, committed: committed, lastProcessed: last),
                       .trunc(to: 0x1_0000_0007))
    }

    func testLearnerTooFarBehindGetsASnapshot() {
        XCTAssertEqual(LearnerSync.choose(peer: 0x1_0000_0001, committed: committed, lastProcessed: last), .snap)
        XCTAssertEqual(LearnerSync.choose(peer: 0, committed: [], lastProcessed: last), .snap)
    }

    func testEpochStartZxidsHoldNoTxns() {
        XCTAssertEqual(LearnerSync.choose(peer: 0x2_0000_0000, committed: committed, lastProcessed: last),
                       .diff(from: 0x2_0000_0000, through: last))
        XCTAssertEqual(LearnerSync.choose(peer: 0x3_0000_0000, committed: committed, lastProcessed: last), .snap)
    }
}
