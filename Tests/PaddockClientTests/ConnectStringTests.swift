import Testing

@testable import PaddockClient

/// Connection strings and client-side path checks, without a server.
@Suite struct ConnectStringTests {
    @Test func hostsPortsAndChroot() throws {
        let parsed = try ConnectString("h1:2181, h2 ,[::1]:2182/app/x")
        #expect(parsed.servers.map(\.description) == ["h1:2181", "h2:2181", "[::1]:2182"])
        #expect(parsed.chroot == "/app/x")
        #expect(parsed.serverPath("/") == "/app/x" && parsed.serverPath("/a") == "/app/x/a")
        #expect(parsed.clientPath("/app/x") == "/" && parsed.clientPath("/app/x/a") == "/a")
        #expect(try ConnectString("h:1/").chroot == nil, "a bare / is no chroot")
    }

    @Test(arguments: [
        ("", "names no server"), ("h:0", "bad port"), ("h:70000", "bad port"), ("h:x", "bad port"),
        ("[::1", "bad server"), ("::1:2181", "bad server"), ("h/app/", "must not end with /"),
    ])
    func badStringsSayWhy(text: String, reason: String) {
        #expect { try ConnectString(text) } throws: { error in "\(error)".contains(reason) }
    }

    @Test(arguments: [
        ("", "Path length must be > 0"), ("a", "Path must start with / character"),
        ("/a/", "Path must not end with / character"),
        ("/a//b", #"Invalid path string "/a//b" caused by empty node name specified @3"#),
        ("/a/./b", #"Invalid path string "/a/./b" caused by relative paths not allowed @3"#),
        ("/a/../b", #"Invalid path string "/a/../b" caused by relative paths not allowed @4"#),
        ("/a\u{1}", #"Invalid path string "/a\#u{1}" caused by invalid character @2"#),
    ])
    func badPathsGiveZooKeepersMessages(path: String, message: String) {
        #expect(throws: ClientError.badArguments(message)) { try PathRules.validate(path) }
    }

    /// The one-pass ASCII check may only accept what the full UTF-16 rules accept.
    @Test func quickCheckNeverAcceptsWhatTheFullRulesRefuse() {
        let pieces = ["/", "/", ".", "..", "a", "b1", " ", "\u{0}", "\u{7f}", "é", "\u{1}"]
        var generator = SystemRandomNumberGenerator()
        var accepted = 0
        for _ in 0..<20_000 {
            let path = (0..<Int.random(in: 1...6, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            for sequential in [false, true] where PlainPath.isPlain(path, sequential: sequential) {
                accepted += 1
                #expect(throws: Never.self, "\(path) sequential \(sequential)") {
                    try PathRules.checkEveryUnit(path, sequential: sequential)
                }
            }
        }
        #expect(accepted > 1000)
    }

    @Test func sequentialPathsMayEndInASlash() throws {
        try PathRules.validate("/queue/", sequential: true)
        try PathRules.validate("/a..b/.c")
    }
}
