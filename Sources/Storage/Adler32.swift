/// Adler-32 (zlib's, seed 1): ZooKeeper's checksum for txn log records and snapshot files.
public struct Adler32 {
    private var a: UInt32 = 1
    private var b: UInt32 = 0
    /// Largest n such that 255n(n+1)/2 + (n+1)(65521-1) fits in 32 bits: sums may wait this long
    /// before the modulo.
    private static let blockBytesMax = 5552
    private static let modulus: UInt32 = 65521

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var index = 0
        while index < bytes.count {
            let end = min(index + Self.blockBytesMax, bytes.count)
            while index < end {
                a &+= UInt32(bytes[index])
                b &+= a
                index += 1
            }
            a %= Self.modulus
            b %= Self.modulus
        }
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public var value: UInt32 { b << 16 | a }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var adler = Adler32()
        adler.update(bytes)
        return adler.value
    }
}
