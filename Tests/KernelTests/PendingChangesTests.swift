import DataTree
import XCTest

@testable import Kernel

/// Prepared-but-uncommitted records: a commit forgets exactly what it made durable.
final class PendingChangesTests: XCTestCase {
    private func record(version: Int32) -> NodeRecord {
        NodeRecord(exists: true, version: version, cversion: 0, aversion: 0, ephemeralOwner: 0, childCount: 0, acl: [])
    }

    func testACommitForgetsItsChangesButKeepsNewerOnesOfTheSamePath() {
        let tree = DataTree()
        var pending = PendingChanges()
        pending.set("/a", record(version: 1), zxid: 10)
        pending.set("/b", record(version: 1), zxid: 11)
        pending.set("/a", record(version: 2), zxid: 12)
        pending.set("/c", record(version: 1), zxid: 12)  // a multi: one zxid, several paths

        pending.committed(through: 10)
        XCTAssertEqual(pending.record("/a", in: tree).version, 2, "the newer change of /a is still pending")
        XCTAssertTrue(pending.record("/b", in: tree).exists)

        pending.committed(through: 11)
        XCTAssertFalse(pending.record("/b", in: tree).exists, "committed: the tree (empty here) answers")
        XCTAssertEqual(pending.record("/a", in: tree).version, 2)

        pending.committed(through: 12)
        XCTAssertTrue(pending.isEmpty)
    }

    func testLongRunsStayBounded() {
        var pending = PendingChanges()
        for zxid in Int64(1)...5000 {
            pending.set("/n\(zxid % 7)", record(version: Int32(zxid)), zxid: zxid)
            if zxid % 3 == 0 { pending.committed(through: zxid - 1) }
        }
        pending.committed(through: 5000)
        XCTAssertTrue(pending.isEmpty)
    }
}
