@testable import Kernel
import XCTest

final class ConfigTests: XCTestCase {
    func testDefaultsAreZooKeepers() throws {
        let config = try Config.parse("clientPort=2181\ndataDir=/tmp/x\n")
        XCTAssertEqual(config.tickTime, 2000)
        XCTAssertEqual(config.effectiveMinSessionTimeout, 4000)
        XCTAssertEqual(config.effectiveMaxSessionTimeout, 40000)
        XCTAssertEqual(config.maxClientCnxns, 60)
        XCTAssertEqual(config.juteMaxBuffer, 0xfffff)
        XCTAssertEqual(config.fourLetterWordWhitelist, ["srvr"])
        XCTAssertEqual(config.effectiveDataLogDir, "/tmp/x")
    }

    func testSystemPropertyKeysWorkWithAndWithoutPrefix() throws {
        let config = try Config.parse("""
            zookeeper.extendedTypesEnabled=true
            znode.container.checkIntervalMs=100
            zookeeper.snapshot.compression.method=gz
            4lw.commands.whitelist=ruok, stat
            """)
        XCTAssertTrue(config.extendedTypesEnabled)
        XCTAssertEqual(config.containerCheckIntervalMs, 100)
        XCTAssertEqual(config.snapshotCompressionMethod, "gz")
        XCTAssertEqual(config.fourLetterWordWhitelist, ["ruok", "stat"])
    }

    func testBadValueNamesKeyAndLine() {
        XCTAssertThrowsError(try Config.parse("# comment\ntickTime=2000\n\nclientPort=abc\n", file: "z.cfg")) { error in
            let problem = error as! ConfigError
            XCTAssertEqual(problem.line, 4)
            XCTAssertEqual(problem.key, "clientPort")
            XCTAssertTrue(problem.description.hasPrefix("z.cfg:4: clientPort:"), problem.description)
        }
        XCTAssertThrowsError(try Config.parse("tickTime=-5")) { XCTAssertEqual(($0 as! ConfigError).key, "tickTime") }
        XCTAssertThrowsError(try Config.parse("forceSync=maybe")) { XCTAssertEqual(($0 as! ConfigError).line, 1) }
        XCTAssertThrowsError(try Config.parse("justAWord")) { XCTAssertEqual(($0 as! ConfigError).line, 1) }
    }

    func testUnknownKeyIsAWarningNotAnError() throws {
        let config = try Config.parse("noSuchKey=1\n")
        XCTAssertEqual(config.warnings, ["unknown key 'noSuchKey' ignored"])
    }

    func testServerLinesParseEvenStandalone() throws {
        let config = try Config.parse("""
            server.1=127.0.0.1:2888:3888
            server.2=127.0.0.1:2889:3889:observer;127.0.0.1:2182
            """)
        XCTAssertEqual(config.servers.count, 2)
        XCTAssertEqual(config.servers[1], ServerEntry(id: 2, host: "127.0.0.1", quorumPort: 2889, electionPort: 3889,
                                                      isObserver: true, clientHost: "127.0.0.1", clientPort: 2182))
        XCTAssertThrowsError(try Config.parse("server.1=host:1")) { XCTAssertEqual(($0 as! ConfigError).key, "server.1") }
    }

    func testUnknownModuleListsTheKnownOnes() throws {
        let config = try Config.parse("paddock.transport=carrier-pigeon")
        XCTAssertThrowsError(try ModuleRegistry().resolve(config)) { error in
            XCTAssertEqual((error as! ModuleError).key, "paddock.transport")
            XCTAssertTrue("\(error)".contains("known:"))
        }
    }

    func testQuorumPortsMayNameTheirOwnTransport() throws {
        var registry = ModuleRegistry()
        registry.registerTransport("libuv") { _ in preconditionFailure("resolving creates no transport") }
        XCTAssertNil(try Config.parse("clientPort=2181").quorumTransport, "the client port's transport by default")
        let config = try Config.parse("paddock.transport=libuv\npaddock.quorum.transport=carrier-pigeon")
        XCTAssertEqual(config.quorumTransport, "carrier-pigeon")
        XCTAssertThrowsError(try registry.resolve(config)) { error in
            XCTAssertEqual((error as! ModuleError).key, "paddock.quorum.transport")
            XCTAssertTrue("\(error)".contains("known: libuv"))
        }
        XCTAssertNoThrow(try registry.resolve(try Config.parse("paddock.quorum.transport=libuv")))
    }

    func testMinAboveMaxSessionTimeoutIsRefused() {
        XCTAssertThrowsError(try Config.parse("minSessionTimeout=50000\nmaxSessionTimeout=40000"))
    }
}
