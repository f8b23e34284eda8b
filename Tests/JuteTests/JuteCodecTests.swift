import Jute
import XCTest

final class JuteCodecTests: XCTestCase {
    func testIntegersAreBigEndian() throws {
        var w = JuteWriter()
        w.writeInt32(0x0102_0304)
        w.writeInt64(-2)
        XCTAssertEqual(w.bytes, [1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe])
        var r = JuteReader(w.bytes)
        XCTAssertEqual(try r.readInt32(), 0x0102_0304)
        XCTAssertEqual(try r.readInt64(), -2)
        XCTAssertTrue(r.isAtEnd)
    }

    func testNullBufferAndStringAreMinusOne() throws {
        var w = JuteWriter()
        w.writeBuffer(nil)
        w.writeString(nil)
        XCTAssertEqual(w.bytes, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        var r = JuteReader(w.bytes)
        XCTAssertNil(try r.readBuffer())
        XCTAssertNil(try r.readString())
    }

    func testTruncatedInputThrowsInsteadOfReadingPastTheEnd() {
        var r = JuteReader([0, 0, 0, 9, 65, 66])
        XCTAssertThrowsError(try r.readString()) { error in
            XCTAssertEqual(error as? JuteError, .invalidLength(9))
        }
        var short = JuteReader([0, 0, 1])
        XCTAssertThrowsError(try short.readInt32())
    }

    func testNegativeAndHugeLengthsAreRejected() {
        var negative = JuteReader([0xff, 0xff, 0xff, 0xfe])
        XCTAssertThrowsError(try negative.readBuffer())
        var huge = JuteReader([0x7f, 0xff, 0xff, 0xff, 1, 2])
        XCTAssertThrowsError(try huge.readBuffer())
        var vector = JuteReader([0x10, 0, 0, 0])
        XCTAssertThrowsError(try vector.readStringList())
    }

    func testFrameWritesItsLengthPrefix() {
        let frame = JuteWriter.frame { ReplyHeader(xid: 7, zxid: 8, err: -101).write(to: &$0) }
        XCTAssertEqual(Array(frame.prefix(4)), [0, 0, 0, 16])
        XCTAssertEqual(frame.count, 20)
    }

    func testMultiTxnRoundTripsWithSubTypes() throws {
        let txn = Txn.multi([
            SubTxn(type: OpCode.create.rawValue, txn: .create(CreateTxn(path: "/a", data: [1], acl: ACL.openUnsafe, ephemeral: false, parentCVersion: 3))),
            SubTxn(type: OpCode.error.rawValue, txn: .error(KeeperError.nodeExists.rawValue)),
        ])
        var r = JuteReader(txn.serialized())
        XCTAssertEqual(try Txn(type: OpCode.multi.rawValue, from: &r), txn)
        XCTAssertTrue(r.isAtEnd)
    }

    func testConnectRequestWithoutReadOnlyByteKeepsItAbsent() throws {
        let request = ConnectRequest(timeOut: 30000, readOnly: nil)
        var r = JuteReader(request.serialized())
        XCTAssertNil(try ConnectRequest(from: &r).readOnly)
    }
}
