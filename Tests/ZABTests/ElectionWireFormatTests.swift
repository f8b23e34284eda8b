import Jute
import XCTest
import ZAB

final class ElectionWireFormatTests: XCTestCase {
    let vote = Vote(leader: 2, zxid: 0x1_0000_0007, peerEpoch: 1)

    func testVersion2LayoutIsZooKeepers() throws {
        let n = ElectionNotification(sender: 2, state: .leading, vote: vote, electionEpoch: 3)
        let config = Array("server.1=127.0.0.1:2888:3888:participant\nversion=0".utf8)
        let bytes = ElectionWireFormat.encode(n, config: config)
        XCTAssertEqual(bytes.count, 44 + config.count)
        XCTAssertEqual(Array(bytes[0..<4]), [0, 0, 0, 2], "state LEADING")
        XCTAssertEqual(Array(bytes[36..<40]), [0, 0, 0, 2], "version 2")
        let (decoded, decodedConfig) = try ElectionWireFormat.decode(bytes, sender: 2)
        XCTAssertEqual(decoded, n)
        XCTAssertEqual(decodedConfig, config)
    }

    func testOlderLayoutsDecodeAsZooKeeperReadsThem() throws {
        var w = JuteWriter()
        w.writeInt32(0)
        w.writeInt64(5)
        w.writeInt64(0x3_0000_0009)
        w.writeInt64(4)
        let (short, _) = try ElectionWireFormat.decode(w.bytes, sender: 5)
        XCTAssertEqual(short.vote.peerEpoch, 3, "a 28-byte notification's peer epoch is its zxid's epoch")
        w.writeInt64(7)
        let (forty, config) = try ElectionWireFormat.decode(w.bytes, sender: 5)
        XCTAssertEqual(forty.vote.peerEpoch, 7)
        XCTAssertEqual(config, [])
    }

    func testMalformedNotificationsAreRefused() {
        XCTAssertThrowsError(try ElectionWireFormat.decode([UInt8](repeating: 0, count: 27), sender: 1))
        var bad = ElectionWireFormat.encode(ElectionNotification(sender: 1, state: .looking, vote: vote, electionEpoch: 1), config: [])
        bad[3] = 9
        XCTAssertThrowsError(try ElectionWireFormat.decode(bad, sender: 1)) {
            XCTAssertEqual($0 as? ElectionWireFormat.DecodeError, .unknownState(9))
        }
        var long = ElectionWireFormat.encode(ElectionNotification(sender: 1, state: .looking, vote: vote, electionEpoch: 1), config: [])
        long[43] = 50
        XCTAssertThrowsError(try ElectionWireFormat.decode(long, sender: 1))
    }

    func testQuorumPacketWritesNullsAsZooKeeper() throws {
        // COMMIT as ZooKeeper sends it: type 4, the zxid, null data and null authinfo.
        let commit = QuorumPacket(type: 4, zxid: 0x1_0000_0002)
        XCTAssertEqual(commit.serialized(), [0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        let info = LearnerInfo(serverId: 3, configVersion: 0)
        let packet = QuorumPacket(type: 11, zxid: 1 << 32, data: info.serialized(), authInfo: [Id(scheme: "ip", id: "127.0.0.1")])
        var r = JuteReader(packet.serialized())
        let decoded = try QuorumPacket(from: &r)
        XCTAssertEqual(decoded, packet)
        var infoReader = JuteReader(decoded.data!)
        XCTAssertEqual(try LearnerInfo(from: &infoReader), info)
        XCTAssertEqual(decoded.data?.count, 20, "sid, protocol version, config version")
    }
}

final class ElectionHandshakeTests: XCTestCase {
    func testRoundTripAndLayout() throws {
        let handshake = ElectionHandshake(serverId: 3, electionAddress: "127.0.0.1:3890")
        let bytes = handshake.encoded()
        XCTAssertEqual(Array(bytes[0..<8]), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0], "protocol version -65536")
        XCTAssertEqual(bytes.count, 8 + 8 + 4 + 14)
        let decoded = try XCTUnwrap(ElectionHandshake.decode(bytes + [9, 9]))
        XCTAssertEqual(decoded.handshake, handshake)
        XCTAssertEqual(decoded.consumed, bytes.count, "bytes after the handshake are the first frame's")
    }

    func testPartialInputAsksForMore() throws {
        let bytes = ElectionHandshake(serverId: 1, electionAddress: "h:1").encoded()
        for cut in 0..<bytes.count { XCTAssertNil(try ElectionHandshake.decode(Array(bytes[..<cut])), "cut \(cut)") }
    }

    func testLegacyAndBadHandshakes() throws {
        var legacy = JuteWriter()
        legacy.writeInt64(5)
        XCTAssertEqual(try ElectionHandshake.decode(legacy.bytes)?.handshake.serverId, 5)
        var bad = JuteWriter()
        bad.writeInt64(-65536)
        bad.writeInt64(2)
        bad.writeInt32(5000)
        XCTAssertThrowsError(try ElectionHandshake.decode(bad.bytes))
        var unknown = JuteWriter()
        unknown.writeInt64(-7)
        XCTAssertThrowsError(try ElectionHandshake.decode(unknown.bytes))
    }

    func testLargerIdKeepsTheConnection() {
        XCTAssertTrue(ElectionHandshake.keeps(initiator: 3, receiver: 1))
        XCTAssertFalse(ElectionHandshake.keeps(initiator: 1, receiver: 3))
    }
}
