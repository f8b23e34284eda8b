import Glibc
import ModuleAPI

/// ZooKeeper's `ip` scheme: a client is identified by its address (every session gets that id at
/// connect, and `addauth ip` re-adds it); ACL entries name an address or a CIDR range,
/// IPv4 (`10.0.0.0/8`) or IPv6 (`fd00::/8`).
public struct IPAuthProvider: AuthProvider {
    public init() {}

    public var scheme: String { "ip" }
    /// An address is not a user: the `auth` ACL scheme does not use it.
    public var isAuthenticated: Bool { false }

    public func authenticate(_ auth: [UInt8], remoteHost: String) -> [String]? { [remoteHost] }

    public func matches(id: String, expression: String) -> Bool {
        guard let range = Self.range(expression), let address = Self.address(id), address.count == range.bytes.count else {
            return false
        }
        var bitsLeft = range.prefixBits
        for (a, b) in zip(address, range.bytes) where bitsLeft > 0 {
            let mask: UInt8 = bitsLeft >= 8 ? 0xff : ~(0xff >> UInt8(bitsLeft))
            if a & mask != b & mask { return false }
            bitsLeft -= 8
        }
        return true
    }

    public func isValid(expression: String) -> Bool { Self.range(expression) != nil }

    public func userName(for id: String) -> String { id }

    /// "address[/bits]" as network bytes and a prefix length (the full length without "/bits").
    static func range(_ expression: String) -> (bytes: [UInt8], prefixBits: Int)? {
        let parts = expression.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bytes = address(String(parts[0])) else { return nil }
        let fullBits = bytes.count * 8
        guard parts.count == 2 else { return (bytes, fullBits) }
        guard let bits = Int(parts[1]), (0...fullBits).contains(bits) else { return nil }
        return (bytes, bits)
    }

    /// An IPv4 or IPv6 literal as its network bytes.
    static func address(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
