import Jute
import XCTest
@testable import ZAB

/// The quorum and election ports carry ZooKeeper's byte streams; their decoders must never
/// consume half a packet and must reject lengths that cannot be.
final class QuorumStreamTests: XCTestCase {
    let packets = [
        QuorumPacket(type: QuorumPacketType.ping, zxid: 7),
        QuorumPacket(type: QuorumPacketType.proposal, zxid: 0x1_0000_0001, data: [1, 2, 3, 4, 5]),
        QuorumPacket(type: QuorumPacketType.request, zxid: -1, data: [], authInfo: [Id(scheme: "digest", id: "u:h"), Id(scheme: "ip", id: "127.0.0.1")]),
    ]

    func encoded(_ packet: QuorumPacket) -> [UInt8] {
        var w = JuteWriter()
        packet.write(to: &w)
        return w.bytes
    }

    func testPacketsFedOneByteAtATimeComeOutWholeAndInOrder() throws {
        var decoder = QuorumStreamDecoder(packetBytesMax: 1 << 20)
        var out: [QuorumPacket] = []
        for byte in packets.flatMap(encoded) {
            decoder.feed([byte])
            while let packet = try decoder.next() { out.append(packet) }
        }
        XCTAssertEqual(out, packets)
    }

    func testBytesAfterASnapPacketAreHandedOver() throws {
        var decoder = QuorumStreamDecoder(packetBytesMax: 1 << 20)
        decoder.feed(encoded(QuorumPacket(type: QuorumPacketType.snap, zxid: 9)) + [0xAB, 0xCD])
        XCTAssertEqual(try decoder.next()?.type, QuorumPacketType.snap)
        XCTAssertEqual(decoder.takeRemaining(), [0xAB, 0xCD])
    }

    func testImpossibleLengthsAreErrors() {
        var negative = QuorumStreamDecoder(packetBytesMax: 1 << 20)
        negative.feed(encoded(QuorumPacket(type: 5, zxid: 0)).prefix(12) + [0xFF, 0xFF, 0xFF, 0xFE])
        XCTAssertThrowsError(try negative.next()) { XCTAssertEqual($0 as? QuorumStreamDecoder.DecodeError, .lengthInvalid(-2)) }

        var huge = QuorumStreamDecoder(packetBytesMax: 1024)
        huge.feed(encoded(QuorumPacket(type: 2, zxid: 0)).prefix(12) + [0x00, 0x10, 0x00, 0x00])
        XCTAssertThrowsError(try huge.next()) { error in
            guard case .packetTooLarge? = error as? QuorumStreamDecoder.DecodeError else { return XCTFail("\(error)") }
        }
    }

    func testElectionStreamReadsTheHandshakeThenFramedMessages() throws {
        let handshake = ElectionHandshake(serverId: 3, electionAddress: "127.0.0.1:3888")
        let messages: [[UInt8]] = [[1, 2, 3], Array(repeating: 7, count: 40)]
        var decoder = ElectionStreamDecoder()
        var out: [[UInt8]] = []
        for byte in handshake.encoded() + messages.flatMap(ElectionStreamDecoder.frame) {
            decoder.feed([byte])
            guard try decoder.readHandshake() else { continue }
            while let message = try decoder.nextMessage() { out.append(message) }
        }
        XCTAssertEqual(decoder.handshake, handshake)
        XCTAssertEqual(out, messages)
    }

    func testElectionMessageLengthsOutsideZooKeepersBoundsAreErrors() {
        for length: [UInt8] in [[0, 0, 0, 0], [0xFF, 0xFF, 0xFF, 0xFF], [0x00, 0x08, 0x00, 0x01]] {
            var decoder = ElectionStreamDecoder()
            decoder.feed(length)
            XCTAssertThrowsError(try decoder.nextMessage(), "\(length)")
        }
    }
}
