import DataTree
import Foundation
import Jute
@testable import Kernel
import Logging
import ModuleAPI
import Storage
import XCTest

/// The request pipeline driven step by step: a fake log decides when proposals become durable,
/// fake connections record what the server sends.
final class PipelineTests: XCTestCase {
    final class FakeLog: ProposalLog {
        var appended: [(TxnHeader, Txn)] = []
        var rolls = 0
        func append(_ header: TxnHeader, _ txn: Txn) { appended.append((header, txn)) }
        func roll() { rolls += 1 }
        func truncate(after zxid: Int64, in dataDirectory: DataDirectory) throws {
            appended.removeAll { $0.0.zxid > zxid }
        }
    }

    final class FakeConnection: ClientConnection, @unchecked Sendable {
        let id: ConnectionID
        var remoteAddress: String { "127.0.0.1:\(id)" }
        var remoteHost: String { "127.0.0.1" }
        var sent: [[UInt8]] = []
        var closed = false
        init(id: ConnectionID) { self.id = id }
        func send(_ bytes: [UInt8]) { sent.append(Array(bytes.dropFirst(4))) }
        func close() { closed = true }
        func setReading(_ enabled: Bool) {}

        /// Reply headers (xid, err) of everything sent after the connect response.
        var replies: [(xid: Int32, err: Int32)] {
            sent.dropFirst().map { frame in
                var r = JuteReader(frame)
                let header = try! ReplyHeader(from: &r)
                return (header.xid, header.err)
            }
        }
    }

    struct FixedClock: Kernel.Clock {
        func wallMs() -> Int64 { 1_700_000_000_000 }
        func monotonicMs() -> Int64 { 1_000 }
    }

    var log: FakeLog!
    var state: KernelState!
    var root = ""

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "paddock-pipeline-\(UUID().uuidString)"
        let directory = DataDirectory(dataDir: root, dataLogDir: root)
        try directory.create()
        var config = try Config.parse("snapCount=10\n")
        config.dataDir = root
        log = FakeLog()
        state = KernelState(config: config, logger: Logger(label: "test"), clock: FixedClock(), authProviders: [],
                            tree: DataTree(), log: log, dataDirectory: directory,
                            snapshotCodec: UncompressedSnapshotCodec(), post: { _ in })
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Opens a connection with a durable session.
    func connect(_ id: ConnectionID) -> (FakeConnection, ServerConnection) {
        let fake = FakeConnection(id: id)
        state.opened(fake)
        let server = state.connections[id]!
        state.handleFrame(server, ConnectRequest(timeOut: 30000).serialized())
        state.durable(through: log.appended.last!.0.zxid)
        XCTAssertEqual(fake.sent.count, 1, "the connect response once createSession is durable")
        return (fake, server)
    }

    func request(_ xid: Int32, _ op: OpCode, _ body: some JuteRecord) -> [UInt8] {
        var w = JuteWriter()
        RequestHeader(xid: xid, type: op.rawValue).write(to: &w)
        body.write(to: &w)
        return w.bytes
    }

    func create(_ xid: Int32, _ path: String) -> [UInt8] {
        request(xid, .create, CreateRequest(path: path, data: [1], acl: ACL.openUnsafe, flags: 0))
    }

    func testWriteIsAnsweredOnlyOnceDurable() {
        let (fake, server) = connect(1)
        state.handleFrame(server, create(1, "/a"))
        XCTAssertEqual(fake.replies.count, 0, "no reply before the log has the txn on disk")
        XCTAssertNil(state.tree.node("/a"), "nor is the tree changed")
        state.durable(through: log.appended.last!.0.zxid)
        XCTAssertEqual(fake.replies.map(\.xid), [1])
        XCTAssertNotNil(state.tree.node("/a"))
    }

    func testReadWaitsForTheSessionsOwnWriteButNotForOthers() {
        let (writer, writerServer) = connect(1)
        let (other, otherServer) = connect(2)
        state.handleFrame(writerServer, create(1, "/a"))
        state.handleFrame(writerServer, request(2, .exists, ExistsRequest(path: "/a", watch: false)))
        state.handleFrame(otherServer, request(7, .exists, ExistsRequest(path: "/a", watch: false)))
        XCTAssertEqual(writer.replies.count, 0, "the read waits behind its session's write")
        XCTAssertEqual(other.replies.map(\.err), [KeeperError.noNode.rawValue], "another session reads committed state")
        state.durable(through: log.appended.last!.0.zxid)
        XCTAssertEqual(writer.replies.map(\.xid), [1, 2])
        XCTAssertEqual(writer.replies.map(\.err), [0, 0], "the read sees the session's own write")
    }

    func testPipelinedWritesAreAllInFlightAndKeepTheirOrder() {
        let (fake, server) = connect(1)
        for xid in Int32(1)...5 { state.handleFrame(server, create(xid, "/n\(xid)")) }
        XCTAssertEqual(log.appended.count, 6, "createSession and five creates are logged without waiting")
        state.durable(through: log.appended[3].0.zxid)
        XCTAssertEqual(fake.replies.map(\.xid), [1, 2, 3])
        state.durable(through: log.appended.last!.0.zxid)
        XCTAssertEqual(fake.replies.map(\.xid), [1, 2, 3, 4, 5])
    }

    func testFailedWriteIsLoggedAsAnErrorTxnWithItsOwnZxid() {
        let (fake, server) = connect(1)
        state.handleFrame(server, request(1, .delete, DeleteRequest(path: "/missing", version: -1)))
        let (header, txn) = log.appended.last!
        XCTAssertEqual(header.type, OpCode.error.rawValue)
        XCTAssertEqual(txn, .error(KeeperError.noNode.rawValue))
        state.durable(through: header.zxid)
        XCTAssertEqual(fake.replies.map(\.err), [KeeperError.noNode.rawValue])
    }

    func testWatchEventGoesOutBeforeTheReplyThatCausedIt() {
        let (fake, server) = connect(1)
        state.handleFrame(server, request(1, .exists, ExistsRequest(path: "/w", watch: true)))
        state.handleFrame(server, create(2, "/w"))
        state.durable(through: log.appended.last!.0.zxid)
        XCTAssertEqual(fake.replies.map(\.xid), [1, ReservedXid.notification, 2])
    }

    func testSnapshotCountRollsTheLog() {
        let (_, server) = connect(1)
        for xid in Int32(1)...12 { state.handleFrame(server, create(xid, "/s\(xid)")) }
        XCTAssertGreaterThanOrEqual(log.rolls, 1, "snapCount=10 rolls the log within 10 txns")
    }
}
