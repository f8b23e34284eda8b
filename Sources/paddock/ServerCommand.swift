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
        let settings = try loadConfig(config, logger: logger)
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
