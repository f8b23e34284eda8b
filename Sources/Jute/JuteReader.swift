/// Errors raised while decoding jute bytes. A decoder never reads past its input.
public enum JuteError: Error, Equatable, Sendable {
    /// The input ended before the record did.
    case truncated(needed: Int, available: Int)
    /// A length prefix was negative (other than -1 for null) or larger than the input allows.
    case invalidLength(Int32)
    /// A string's bytes were not valid UTF-8.
    case invalidUTF8
    /// A record type this decoder does not know.
    case unknownType(Int32)
}

/// Reads ZooKeeper's jute encoding (big-endian integers, length-prefixed buffers, -1 for null)
/// from a byte array without copying it.
public struct JuteReader {
    public let bytes: [UInt8]
    public private(set) var offset: Int
    private let end: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
        self.end = bytes.count
    }

    public var remaining: Int { end - offset }
    public var isAtEnd: Bool { offset == end }

    @inline(__always)
    private mutating func take(_ count: Int) throws -> Int {
        guard count <= end - offset else { throw JuteError.truncated(needed: count, available: end - offset) }
        let start = offset
        offset += count
        return start
    }

    public mutating func readInt32() throws -> Int32 {
        let at = try take(4)
        return bytes.withUnsafeBytes { Int32(bigEndian: $0.loadUnaligned(fromByteOffset: at, as: Int32.self)) }
    }

    public mutating func readInt64() throws -> Int64 {
        let at = try take(8)
        return bytes.withUnsafeBytes { Int64(bigEndian: $0.loadUnaligned(fromByteOffset: at, as: Int64.self)) }
    }

    public mutating func readBool() throws -> Bool {
        let at = try take(1)
        return bytes[at] != 0
    }

    /// A length prefix: -1 means null, anything else must fit in the remaining input.
    private mutating func readLength(elementSizeMin: Int) throws -> Int? {
        let length = try readInt32()
        if length == -1 { return nil }
        guard length >= 0, Int(length) * elementSizeMin <= remaining else { throw JuteError.invalidLength(length) }
        return Int(length)
    }

    /// A byte buffer; nil when the writer sent null (-1).
    public mutating func readBuffer() throws -> [UInt8]? {
        guard let count = try readLength(elementSizeMin: 1) else { return nil }
        let at = try take(count)
        return Array(bytes[at..<at + count])
    }

    /// A UTF-8 string; nil when the writer sent null (-1).
    public mutating func readString() throws -> String? {
        guard let count = try readLength(elementSizeMin: 1) else { return nil }
        let at = try take(count)
        let slice = bytes[at..<at + count]
        guard let string = String(validating: slice, as: UTF8.self) else { throw JuteError.invalidUTF8 }
        return string
    }

    /// A vector of records; nil when the writer sent null (-1).
    public mutating func readVector<T>(elementSizeMin: Int = 1, _ element: (inout JuteReader) throws -> T) throws -> [T]? {
        guard let count = try readLength(elementSizeMin: elementSizeMin) else { return nil }
        var items: [T] = []
        items.reserveCapacity(count)
        for _ in 0..<count { items.append(try element(&self)) }
        return items
    }

    public mutating func readRecord<T: JuteRecord>(_ type: T.Type = T.self) throws -> T {
        try T(from: &self)
    }
}
