import ModuleAPI

/// ZooKeeper's `digest` scheme: `addauth digest user:password` authenticates as the id
/// `user:base64(sha1("user:password"))`, exactly ZooKeeper's, so existing digests in ACLs and
/// superDigest values keep working.
public struct DigestAuthProvider: AuthProvider {
    public init() {}

    public var scheme: String { "digest" }
    public var isAuthenticated: Bool { true }

    public func authenticate(_ auth: [UInt8], remoteHost: String) -> [String]? {
        guard let colon = auth.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let user = String(decoding: auth[..<colon], as: UTF8.self)
        return [user + ":" + Base64.encode(SHA1.hash(auth))]
    }

    public func matches(id: String, expression: String) -> Bool { id == expression }

    public func isValid(expression: String) -> Bool {
        expression.split(separator: ":", omittingEmptySubsequences: false).count == 2
    }

    public func userName(for id: String) -> String {
        String(id.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0])
    }
}
