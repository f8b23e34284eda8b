import ArgumentParser
import DigestAuth
import ExternalAuth
import IPAuth
import Kernel
import LibuvTransport
import NIOTransport
import Observer
import ZlibSnapshot

@main
struct Paddock: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "paddock",
        abstract: "A ZooKeeper-compatible coordination service.",
        subcommands: [ServerCommand.self, ClusterCommand.self, CliCommand.self, BenchCommand.self, PurgeCommand.self, SnapshotCommand.self, LogCommand.self],
        defaultSubcommand: ServerCommand.self)
}

/// The one place that lists the built-in modules.
func builtInModules() -> ModuleRegistry {
    var registry = ModuleRegistry()
    registry.registerTransport("libuv") { logger in LibuvTransport(logger: logger) }
    registry.registerTransport("nio") { logger in NIOTransport(logger: logger) }
    registry.registerAuthProvider("digest", aliases: ["org.apache.zookeeper.server.auth.DigestAuthenticationProvider"],
                                  DigestAuthProvider())
    registry.registerAuthProvider("ip", aliases: ["org.apache.zookeeper.server.auth.IPAuthenticationProvider"],
                                  IPAuthProvider())
    registry.registerSnapshotCodec("gz", GzipSnapshotCodec())
    registry.registerRole("observer", ObserverRole())
    registry.externalAuthLoader = { path in try ExternalAuthProvider(path: path) }
    return registry
}
