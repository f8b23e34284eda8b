import Foundation
import Jute
import XCTest

/// Frames captured from a kazoo session with Apache ZooKeeper 3.8 (Vectors/capture.py): every
/// record decodes and re-encodes to exactly the bytes ZooKeeper and kazoo sent.
final class CapturedSessionTests: XCTestCase {
    struct Frame: Decodable {
        var dir: String
        var hex: String
        var bytes: [UInt8] {
            var out: [UInt8] = []
            var index = hex.startIndex
            while index < hex.endIndex {
                let next = hex.index(index, offsetBy: 2)
                out.append(UInt8(hex[index..<next], radix: 16)!)
                index = next
            }
            return out
        }
    }

    func loadFrames() throws -> [Frame] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "zookeeper-3.8-session", withExtension: "json", subdirectory: "Vectors"))
        return try JSONDecoder().decode([Frame].self, from: Data(contentsOf: url))
    }

    /// Decodes `bytes` as T from the reader's position and checks the re-encoding matches.
    func roundTrip<T: JuteRecord>(_ type: T.Type, _ reader: inout JuteReader, file: StaticString = #filePath, line: UInt = #line) throws -> T {
        let start = reader.offset
        let record = try T(from: &reader)
        XCTAssertEqual(record.serialized(), Array(reader.bytes[start..<reader.offset]), "\(T.self)", file: file, line: line)
        return record
    }

    func testEveryCapturedFrameRoundTrips() throws {
        let frames = try loadFrames()
        XCTAssertGreaterThan(frames.count, 20)
        var opByXid: [Int32: OpCode] = [:]
        var sawConnect = (request: false, response: false)
        var decoded = 0
        for frame in frames {
            var reader = JuteReader(frame.bytes)
            if frame.dir == "c2s" {
                if !sawConnect.request {
                    sawConnect.request = true
                    let connect = try roundTrip(ConnectRequest.self, &reader)
                    XCTAssertEqual(connect.sessionId, 0)
                } else {
                    let header = try roundTrip(RequestHeader.self, &reader)
                    let op = try XCTUnwrap(OpCode(rawValue: header.type))
                    opByXid[header.xid] = op
                    try decodeRequest(op, &reader)
                }
            } else {
                if !sawConnect.response {
                    sawConnect.response = true
                    let connect = try roundTrip(ConnectResponse.self, &reader)
                    XCTAssertEqual(connect.passwd.count, 16)
                } else {
                    let header = try roundTrip(ReplyHeader.self, &reader)
                    if header.xid == ReservedXid.notification {
                        let event = try roundTrip(WatcherEvent.self, &reader)
                        XCTAssertEqual(event.type, EventType.nodeDataChanged.rawValue)
                        XCTAssertEqual(event.path, "/vec")
                    } else if header.err == 0 || opByXid[header.xid] == .multi {
                        try decodeResponse(try XCTUnwrap(opByXid[header.xid]), &reader)
                    }
                }
            }
            XCTAssertTrue(reader.isAtEnd, "trailing bytes in \(frame.dir) frame \(frame.hex)")
            decoded += 1
        }
        XCTAssertEqual(decoded, frames.count)
    }

    func decodeRequest(_ op: OpCode, _ r: inout JuteReader) throws {
        switch op {
        case .create, .create2: _ = try roundTrip(CreateRequest.self, &r)
        case .delete: _ = try roundTrip(DeleteRequest.self, &r)
        case .exists, .getData, .getChildren, .getChildren2: _ = try roundTrip(PathWatchRequest.self, &r)
        case .setData: _ = try roundTrip(SetDataRequest.self, &r)
        case .getACL, .sync: _ = try roundTrip(PathRequest.self, &r)
        case .setACL: _ = try roundTrip(SetACLRequest.self, &r)
        case .closeSession: break
        case .multi:
            while true {
                let header = try roundTrip(MultiHeader.self, &r)
                if header.done { break }
                switch OpCode(rawValue: header.type) {
                case .create: _ = try roundTrip(CreateRequest.self, &r)
                case .setData: _ = try roundTrip(SetDataRequest.self, &r)
                case .check, .delete: _ = try roundTrip(PathVersionRequest.self, &r)
                default: XCTFail("unexpected multi op \(header.type)")
                }
            }
        default: XCTFail("unexpected request \(op)")
        }
    }

    func decodeResponse(_ op: OpCode, _ r: inout JuteReader) throws {
        switch op {
        case .create: _ = try roundTrip(CreateResponse.self, &r)
        case .create2: _ = try roundTrip(Create2Response.self, &r)
        case .exists, .setData, .setACL: _ = try roundTrip(StatResponse.self, &r)
        case .getData: _ = try roundTrip(GetDataResponse.self, &r)
        case .getChildren2: _ = try roundTrip(GetChildren2Response.self, &r)
        case .getACL: _ = try roundTrip(GetACLResponse.self, &r)
        case .sync: _ = try roundTrip(SyncResponse.self, &r)
        case .delete, .closeSession: break
        case .multi:
            while true {
                let header = try roundTrip(MultiHeader.self, &r)
                if header.done { break }
                switch OpCode(rawValue: header.type) {
                case .create: _ = try roundTrip(CreateResponse.self, &r)
                case .setData: _ = try roundTrip(StatResponse.self, &r)
                case .check, .delete: break
                case .error: _ = try roundTrip(ErrorResponse.self, &r)
                default: XCTFail("unexpected multi result \(header.type)")
                }
            }
        default: XCTFail("unexpected response \(op)")
        }
    }
}
