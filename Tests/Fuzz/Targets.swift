import DataTree
import Foundation
import Jute
@testable import Kernel
import Logging
import ModuleAPI
import Storage
import ZAB
import ZlibSnapshot

/// Everything that parses bytes from outside the process, one input at a time. Each target must
/// reject bad input with an error, never crash; `run` returns normally either way.
enum FuzzTarget: String, CaseIterable {
    /// A client connection's byte stream through the frame decoder into a live kernel: the
    /// connect request, then requests of every op, each made durable at once.
    case clientStream = "client-stream"
    /// A quorum connection's byte stream cut into packets; proposals' txns decoded.
    case quorumStream = "quorum-stream"
    case txnLog = "txn-log"
    case snapshot
    case snapshotGzip = "snapshot-gz"
    case config

    func run(_ bytes: [UInt8]) {
        switch self {
        case .clientStream: ClientStreamHarness().run(bytes)
        case .quorumStream: Self.quorum(bytes)
        case .txnLog: Self.throughFile(bytes) { path in _ = try? TxnLogReader.records(of: path, frameBytesMax: 1 << 20, logger: quiet) }
        case .snapshot: Self.throughFile(bytes) { path in Self.snapshot(path, codec: UncompressedSnapshotCodec()) }
        case .snapshotGzip: Self.throughFile(bytes) { path in Self.snapshot(path, codec: GzipSnapshotCodec()) }
        case .config: _ = try? Config.parse(String(decoding: bytes, as: UTF8.self))
        }
    }

    private static func quorum(_ bytes: [UInt8]) {
        var decoder = QuorumStreamDecoder(packetBytesMax: 1 << 20)
        decoder.feed(bytes)
        while let packet = try? decoder.next() {
            var reader = JuteReader(packet.data ?? [])
            if let header = try? TxnHeader(from: &reader) { _ = try? Txn(type: header.type, from: &reader) }
        }
    }

    private static func snapshot(_ path: String, codec: any SnapshotCodec) {
        guard let reader = try? SnapshotReader(path: path, codec: codec) else { return }
        _ = try? reader.load(zxid: 0, logger: quiet)
    }

    /// The readers take files: the input goes to one in memory-backed /dev/shm, reused.
    private static let scratchFile = "/dev/shm/paddock-fuzz-\(getpid())"

    private static func throughFile(_ bytes: [UInt8], _ body: (String) -> Void) {
        _ = FileManager.default.createFile(atPath: scratchFile, contents: Data(bytes))
        body(scratchFile)
    }

    /// Removes the scratch file and data dir this process made.
    static func cleanUp() {
        try? FileManager.default.removeItem(atPath: scratchFile)
        try? FileManager.default.removeItem(atPath: ClientStreamHarness.root)
    }
}

private let quiet: Logger = {
    var logger = Logger(label: "fuzz")
    logger.logLevel = .critical
    return logger
}()

/// A kernel with a fake log that makes every proposal durable at once, and one fake connection.
final class ClientStreamHarness {
    final class ImmediateLog: ProposalLog {
        var last: Int64 = 0
        func append(_ header: TxnHeader, _ txn: Txn) { last = header.zxid }
        func roll() {}
        func truncate(after zxid: Int64, in dataDirectory: DataDirectory) throws {}
    }

    final class Connection: ClientConnection, @unchecked Sendable {
        let id: ConnectionID = 1
        var remoteAddress: String { "127.0.0.1:1" }
        var remoteHost: String { "127.0.0.1" }
        var closed = false
        func send(_ bytes: [UInt8]) {}
        func close() { closed = true }
        func setReading(_ enabled: Bool) {}
    }

    struct Clock: Kernel.Clock {
        func wallMs() -> Int64 { 1_700_000_000_000 }
        func monotonicMs() -> Int64 { 1_000 }
    }

    static let root = "/dev/shm/paddock-fuzz-dir-\(getpid())"
    static let directory: DataDirectory = {
        let directory = DataDirectory(dataDir: root, dataLogDir: root)
        try! directory.create()
        return directory
    }()

    func run(_ bytes: [UInt8]) {
        var config = try! Config.parse("snapCount=1000000\n")
        config.dataDir = Self.root
        let log = ImmediateLog()
        let state = KernelState(config: config, logger: quiet, clock: Clock(), authProviders: [], tree: DataTree(), log: log,
                                dataDirectory: Self.directory, snapshotCodec: UncompressedSnapshotCodec(), post: { _ in })
        let fake = Connection()
        state.opened(fake)
        guard let connection = state.connections[fake.id] else { return }
        var decoder = FrameDecoder(frameBytesMax: 1 << 20, fourLetterWords: FourLetterWords.all)
        decoder.append(bytes)
        while !fake.closed {
            guard let message = try? decoder.next() else { return }
            switch message {
            case .frame(let frame): state.handleFrame(connection, frame)
            case .fourLetterWord, .bytes: return
            }
            if log.last > 0 { state.durable(through: log.last) }
        }
    }
}
