import ArgumentParser
import Dispatch
import Glibc
import Kernel
import Logging

struct ServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server", abstract: "Run a server (standalone unless zoo.cfg lists an ensemble).")

    @Option(name: .long, help: "zoo.cfg to read.")
    var config: String = "conf/zoo.cfg"

    func run() throws {
        let logger = bootstrapLogging()
        // A peer or client that closes while we write must cost that connection, not the
        // process: writes then fail with EPIPE instead of raising SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        var settings = try loadConfig(config, logger: logger)
        if let fault = getenv("PADDOCK_FAULT").map({ String(cString: $0) }) {
            settings.fault = try FaultSite(fault)
            logger.warning("fault injection armed: \(fault)")
        }
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
