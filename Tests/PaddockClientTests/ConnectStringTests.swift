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

    @Test func sequentialPathsMayEndInASlash() throws {
        try PathRules.validate("/queue/", sequential: true)
        try PathRules.validate("/a..b/.c")
    }
}
