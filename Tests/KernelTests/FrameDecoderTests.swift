import ModuleAPI
import XCTest

final class FrameDecoderTests: XCTestCase {
    func frame(_ body: [UInt8]) -> [UInt8] {
        withUnsafeBytes(of: Int32(body.count).bigEndian) { Array($0) } + body
    }

    func testOneByteAtATimeNeverYieldsHalfAFrame() throws {
        var decoder = FrameDecoder(frameBytesMax: 100, fourLetterWords: ["ruok"])
        let stream = frame([1, 2, 3]) + frame([]) + frame([9])
        var frames: [[UInt8]] = []
        for byte in stream {
            decoder.append([byte])
            while let message = try decoder.next() {
                guard case .frame(let body) = message else { return XCTFail("unexpected \(message)") }
                frames.append(body)
            }
        }
        XCTAssertEqual(frames, [[1, 2, 3], [], [9]])
        XCTAssertEqual(decoder.bufferedBytes, 0)
    }

    func testFourLetterWordOnlyAsFirstMessage() throws {
        var decoder = FrameDecoder(frameBytesMax: 100, fourLetterWords: ["ruok"])
        decoder.append(Array("ruok".utf8))
        guard case .fourLetterWord("ruok") = try decoder.next() else { return XCTFail() }
        var later = FrameDecoder(frameBytesMax: 0x7fff_ffff, fourLetterWords: ["ruok"])
        later.append(frame([]))
        _ = try later.next()
        later.append(Array("ruok".utf8))
        XCTAssertNil(try later.next(), "after the first frame 'ruok' is just a length")
    }

    func testNegativeAndOversizeLengthsFail() {
        var negative = FrameDecoder(frameBytesMax: 100, fourLetterWords: [])
        negative.append([0xff, 0xff, 0xff, 0xfb])
        XCTAssertThrowsError(try negative.next()) { XCTAssertEqual($0 as? FrameDecoder.Failure, .lengthInvalid(-5)) }
        var huge = FrameDecoder(frameBytesMax: 100, fourLetterWords: [])
        huge.append(frame([UInt8](repeating: 0, count: 101)))
        XCTAssertThrowsError(try huge.next()) { XCTAssertEqual($0 as? FrameDecoder.Failure, .lengthInvalid(101)) }
    }
}
