import ArgumentParser
import Glibc
import Kernel
import Logging

/// Logs to stderr; PADDOCK_LOG_LEVEL (trace ... critical) sets the level, info by default.
/// Only the executable reads the environment.
func bootstrapLogging() -> Logger {
    let level = getenv("PADDOCK_LOG_LEVEL").flatMap { Logger.Level(rawValue: String(cString: $0)) } ?? .info
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
    return Logger(label: "paddock")
}

/// Reads zoo.cfg; a bad file stops the command with the key and line named.
func loadConfig(_ path: String, logger: Logger) throws -> Kernel.Config {
    do {
        let config = try Kernel.Config.parse(try readFile(path), file: path)
        for warning in config.warnings { logger.warning("\(path): \(warning)") }
        return config
    } catch {
        logger.critical("invalid configuration: \(error)")
        throw ExitCode(2)
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
