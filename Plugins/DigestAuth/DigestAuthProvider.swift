import ModuleAPI

/// ZooKeeper's `digest` scheme: `addauth digest user:password` authenticates as the id
/// `user:base64(sha1("user:password"))`, exactly ZooKeeper's, so existing digests in ACLs and
/// superDigest values keep working.
public struct DigestAuthProvider: AuthProvider {
    public init() {}

    public var scheme: String { "digest" }
    public var isAuthenticated: Bool { true }

    /// Like ZooKeeper, any bytes authenticate: the user is what precedes the first colon (all of
    /// it when there is none), the digest is over the whole string.
    public func authenticate(_ auth: [UInt8], remoteHost: String) -> [String]? {
        let user = String(decoding: auth.prefix { $0 != UInt8(ascii: ":") }, as: UTF8.self)
        return [user + ":" + Base64.encode(SHA1.hash(auth))]
    }

    public func matches(id: String, expression: String) -> Bool { id == expression }

    /// `user:digest` with exactly one colon-separated pair, judged as Java's split(":") does:
    /// trailing empty parts vanish, so "alice:" is invalid and ":hash" is valid.
    public func isValid(expression: String) -> Bool {
        var parts = expression.split(separator: ":", omittingEmptySubsequences: false)
        while parts.last?.isEmpty == true { parts.removeLast() }
        return parts.count == 2
    }

    public func userName(for id: String) -> String {
        String(id.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0])
    }
}
