import ArgumentParser
import Kernel
import Storage

/// ZooKeeper's PurgeTxnLog (zkCleanup.sh): keep the N newest snapshots and the logs they need.
struct PurgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge", abstract: "Remove old snapshots and txn logs, keeping the newest N snapshots.")

    @Option(name: .long, help: "zoo.cfg naming dataDir and dataLogDir.")
    var config: String = "conf/zoo.cfg"

    @Option(name: .customShort("n"), help: "Snapshots to keep (at least 3).")
    var count: Int = 3

    func validate() throws {
        guard count >= Purge.retainMin else { throw ValidationError("-n must be at least \(Purge.retainMin)") }
    }

    func run() throws {
        let logger = bootstrapLogging()
        let settings = try loadConfig(config, logger: logger)
        let directory = DataDirectory(dataDir: settings.dataDir, dataLogDir: settings.effectiveDataLogDir)
        let removed = try Purge.run(directory, retain: count, logger: logger)
        print("removed \(removed.count) files")
    }
}
