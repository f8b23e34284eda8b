import Jute

/// Cuts a quorum-port byte stream into packets. ZooKeeper writes QuorumPackets back to back with
/// no length prefix, so a packet's extent is found by walking its own length fields.
public struct QuorumStreamDecoder: Sendable {
    public enum DecodeError: Error, Equatable {
        case lengthInvalid(Int32)
        case packetTooLarge(Int)
    }

    /// A packet larger than this closes the connection (ZooKeeper bounds it by jute.maxbuffer).
    public let packetBytesMax: Int
    private var buffer: [UInt8] = []
    private var offset = 0

    public init(packetBytesMax: Int) { self.packetBytesMax = packetBytesMax }

    public mutating func feed(_ bytes: [UInt8]) { buffer.append(contentsOf: bytes) }

    /// The next whole packet, or nil until more bytes arrive.
    public mutating func next() throws -> QuorumPacket? {
        guard let length = try packetLength() else { return nil }
        var reader = JuteReader(buffer, offset: offset)
        let packet = try QuorumPacket(from: &reader)
        assert(reader.offset == offset + length, "the framer and the record agree on the packet's extent")
        offset += length
        compact()
        return packet
    }

    /// Hands over the bytes not yet decoded (a SNAP packet is followed by a raw snapshot stream).
    public mutating func takeRemaining() -> [UInt8] {
        defer {
            buffer.removeAll()
            offset = 0
        }
        return Array(buffer[offset...])
    }

    private mutating func compact() {
        if offset == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            offset = 0
        } else if offset > 64 * 1024 {
            buffer.removeFirst(offset)
            offset = 0
        }
    }

    /// type (4) + zxid (8) + data (4 + n) + authinfo vector (4 + ids of two strings each).
    private func packetLength() throws -> Int? {
        var cursor = offset + 12
        guard let dataLength = try length(at: cursor) else { return nil }
        cursor += 4 + max(0, dataLength)
        guard let idCount = try length(at: cursor) else { return nil }
        cursor += 4
        for _ in 0..<max(0, idCount) {
            for _ in 0..<2 {
                guard let stringLength = try length(at: cursor) else { return nil }
                cursor += 4 + max(0, stringLength)
            }
        }
        guard cursor <= buffer.count else { return nil }
        return cursor - offset
    }

    private func length(at position: Int) throws -> Int? {
        guard position + 4 <= buffer.count else {
            if position - offset > packetBytesMax { throw DecodeError.packetTooLarge(position - offset) }
            return nil
        }
        let raw = buffer[position..<position + 4].reduce(Int32(0)) { $0 << 8 | Int32($1) }
        guard raw >= -1 else { throw DecodeError.lengthInvalid(raw) }
        if position - offset + Int(raw) > packetBytesMax { throw DecodeError.packetTooLarge(position - offset + Int(raw)) }
        return Int(raw)
    }
}

/// Cuts an election-port byte stream: the initial handshake (read only on connections the peer
/// opened), then messages each framed by an int length, as ZooKeeper's QuorumCnxManager sends them.
public struct ElectionStreamDecoder: Sendable {
    public enum DecodeError: Error, Equatable {
        case lengthInvalid(Int32)
    }

    /// ZooKeeper's limit on one election message (QuorumCnxManager.PACKETMAXSIZE).
    public static let messageBytesMax = 512 * 1024

    public private(set) var handshake: ElectionHandshake?
    private var buffer: [UInt8] = []

    public init() {}

    public mutating func feed(_ bytes: [UInt8]) { buffer.append(contentsOf: bytes) }

    /// Decodes the handshake; true once it has been read.
    public mutating func readHandshake() throws -> Bool {
        if handshake != nil { return true }
        guard let (decoded, consumed) = try ElectionHandshake.decode(buffer) else { return false }
        handshake = decoded
        buffer.removeFirst(consumed)
        return true
    }

    /// The next message payload, or nil until more bytes arrive.
    public mutating func nextMessage() throws -> [UInt8]? {
        guard buffer.count >= 4 else { return nil }
        let length = buffer[0..<4].reduce(Int32(0)) { $0 << 8 | Int32($1) }
        guard length > 0, Int(length) <= Self.messageBytesMax else { throw DecodeError.lengthInvalid(length) }
        guard buffer.count >= 4 + Int(length) else { return nil }
        let message = Array(buffer[4..<4 + Int(length)])
        buffer.removeFirst(4 + Int(length))
        return message
    }

    public static func frame(_ payload: [UInt8]) -> [UInt8] {
        var w = JuteWriter(capacity: payload.count + 4)
        w.writeInt32(Int32(payload.count))
        w.writeRaw(payload)
        return w.bytes
    }
}
