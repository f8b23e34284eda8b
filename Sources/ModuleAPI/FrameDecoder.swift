/// Splits a connection's byte stream into ZooKeeper frames: a 4-byte big-endian length, then
/// that many bytes. Shared by every transport so they all frame identically. It never consumes
/// half a frame: `next()` returns nil until a whole frame is buffered.
public struct FrameDecoder {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// Negative, or over jute.maxbuffer: ZooKeeper's "Len error".
        case lengthInvalid(Int32)
        public var description: String {
            switch self {
            case .lengthInvalid(let length): "Len error \(length)"
            }
        }
    }

    public let frameBytesMax: Int
    private let fourLetterWords: Set<String>
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var sawFirstFrame = false

    public init(frameBytesMax: Int, fourLetterWords: Set<String>) {
        precondition(frameBytesMax > 0)
        self.frameBytesMax = frameBytesMax
        self.fourLetterWords = fourLetterWords
    }

    public var bufferedBytes: Int { buffer.count - readIndex }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if readIndex > 0 && readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        } else if readIndex > 65536 && readIndex * 2 > buffer.count {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The next complete message, nil if more bytes are needed, or a failure that must close the
    /// connection.
    public mutating func next() throws(Failure) -> InboundMessage? {
        guard bufferedBytes >= 4 else { return nil }
        if !sawFirstFrame, let word = fourLetterWord() {
            sawFirstFrame = true
            readIndex += 4
            return .fourLetterWord(word)
        }
        let length = buffer.withUnsafeBytes { Int32(bigEndian: $0.loadUnaligned(fromByteOffset: readIndex, as: Int32.self)) }
        guard length >= 0, Int(length) <= frameBytesMax else { throw .lengthInvalid(length) }
        guard bufferedBytes >= 4 + Int(length) else { return nil }
        let start = readIndex + 4
        readIndex = start + Int(length)
        sawFirstFrame = true
        return .frame(Array(buffer[start..<readIndex]))
    }

    private func fourLetterWord() -> String? {
        let bytes = buffer[readIndex..<readIndex + 4]
        guard bytes.allSatisfy({ $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }) else { return nil }
        let word = String(decoding: bytes, as: UTF8.self)
        return fourLetterWords.contains(word) ? word : nil
    }
}
