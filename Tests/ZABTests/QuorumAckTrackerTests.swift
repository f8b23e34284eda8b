import XCTest
import ZAB

final class QuorumAckTrackerTests: XCTestCase {
    func testCommitsOnceAQuorumIncludingTheLeaderHasIt() {
        var tracker = QuorumAckTracker(voters: [1, 2, 3], lastCommitted: 0x1_0000_0000)
        tracker.proposed(0x1_0000_0001)
        XCTAssertEqual(tracker.acked(by: 1, through: 0x1_0000_0001), [], "the leader alone is not a quorum of 3")
        XCTAssertEqual(tracker.acked(by: 3, through: 0x1_0000_0001), [0x1_0000_0001])
        XCTAssertEqual(tracker.acked(by: 2, through: 0x1_0000_0001), [], "late ACKs commit nothing twice")
        XCTAssertEqual(tracker.lastCommitted, 0x1_0000_0001)
    }

    func testLaterProposalsNeverCommitAheadOfEarlierOnes() {
        var tracker = QuorumAckTracker(voters: [1, 2, 3, 4, 5], lastCommitted: 0)
        for zxid in Int64(1)...3 { tracker.proposed(zxid) }
        _ = tracker.acked(by: 1, through: 3)
        _ = tracker.acked(by: 2, through: 3)
        // 3 acknowledges only the first: zxid 1 has a quorum (1, 2, 3), 2 and 3 do not yet.
        XCTAssertEqual(tracker.acked(by: 3, through: 1), [1])
        XCTAssertEqual(tracker.acked(by: 4, through: 3), [2, 3])
        XCTAssertEqual(tracker.outstandingCount, 0)
    }

    func testObserversDoNotCount() {
        var tracker = QuorumAckTracker(voters: [1, 2, 3], lastCommitted: 0)
        tracker.proposed(1)
        _ = tracker.acked(by: 1, through: 1)
        XCTAssertEqual(tracker.acked(by: 9, through: 1), [], "server 9 is an observer")
        XCTAssertEqual(tracker.acked(by: 2, through: 1), [1])
    }

    func testStandaloneCommitsOnItsOwnAck() {
        var tracker = QuorumAckTracker(voters: [1], lastCommitted: 0)
        tracker.proposed(1)
        tracker.proposed(2)
        XCTAssertEqual(tracker.acked(by: 1, through: 2), [1, 2])
    }
}
