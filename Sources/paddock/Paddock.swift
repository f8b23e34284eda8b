import ArgumentParser
import Dispatch
import Glibc
import Kernel
import DigestAuth
import LibuvTransport
import ZlibSnapshot
import Logging

@main
struct Paddock: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "paddock",
        abstract: "A ZooKeeper-compatible coordination service.",
        subcommands: [Server.self],
        defaultSubcommand: Server.self)
}

/// The one place that lists the built-in modules.
func builtInModules() -> ModuleRegistry {
    var registry = ModuleRegistry()
    registry.registerTransport("libuv") { logger in LibuvTransport(logger: logger) }
    registry.registerAuthProvider("digest", aliases: ["org.apache.zookeeper.server.auth.DigestAuthenticationProvider"],
                                  DigestAuthProvider())
    registry.registerSnapshotCodec("gz", GzipSnapshotCodec())
    return registry
}

struct Server: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a server (standalone unless zoo.cfg lists an ensemble).")

    @Option(name: .long, help: "zoo.cfg to read.")
    var config: String = "conf/zoo.cfg"

    func run() throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfoLevel.fromEnvironment()
            return handler
        }
        let logger = Logger(label: "paddock")
        let settings: Kernel.Config
        do {
            settings = try Kernel.Config.parse(try readFile(config), file: config)
        } catch {
            logger.critical("invalid configuration: \(error)")
            throw ExitCode(2)
        }
        for warning in settings.warnings { logger.warning("\(config): \(warning)") }
        let server: PaddockServer
        do {
            let modules = try builtInModules().resolve(settings)
            server = try PaddockServer(config: settings, modules: modules, logger: logger)
            try server.start()
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        waitForTermination()
        server.shutdown()
    }
}

/// Blocks until SIGINT or SIGTERM.
func waitForTermination() {
    let done = DispatchSemaphore(value: 0)
    var sources: [DispatchSourceSignal] = []
    for signalNumber in [SIGINT, SIGTERM] {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler { done.signal() }
        source.resume()
        sources.append(source)
    }
    done.wait()
    sources.forEach { $0.cancel() }
}

/// Only main reads the environment: PADDOCK_LOG_LEVEL (trace ... critical), info by default.
enum ProcessInfoLevel {
    static func fromEnvironment() -> Logger.Level {
        guard let raw = getenv("PADDOCK_LOG_LEVEL") else { return .info }
        return Logger.Level(rawValue: String(cString: raw)) ?? .info
    }
}

struct FileError: Error, CustomStringConvertible {
    var description: String
}

func readFile(_ path: String) throws -> String {
    guard let file = fopen(path, "r") else {
        throw FileError(description: "cannot open \(path): \(String(cString: strerror(errno)))")
    }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = fread(&chunk, 1, chunk.count, file)
        if count == 0 { break }
        bytes.append(contentsOf: chunk[0..<count])
    }
    return String(decoding: bytes, as: UTF8.self)
}
