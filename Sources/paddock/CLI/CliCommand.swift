import ArgumentParser
import CEditline
import Dispatch
import Glibc
import PaddockClient

/// `paddock cli -server host:port [cmd args]`: zkCli.sh's shell. With a command it runs that one
/// command and exits with its status (for scripts); without, it reads commands from the terminal.
struct CliCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cli", abstract: "A ZooKeeper shell with zkCli.sh's commands and output.")

    @Option(name: .customLong("server", withSingleDash: true), help: "Connection string (host:port,...[/chroot]).")
    var server = "localhost:2181"

    @Argument(parsing: .captureForPassthrough, help: "A command to run once, e.g. `get /a`; none starts the shell.")
    var command: [String] = []

    func run() throws {
        let status = Status()
        let done = DispatchSemaphore(value: 0)
        let words = command
        let hosts = server
        Task.detached {
            status.code = await Self.session(hosts: hosts, oneShot: words)
            done.signal()
        }
        done.wait()
        if status.code != 0 { throw ExitCode(status.code) }
    }

    private static func session(hosts: String, oneShot: [String]) async -> Int32 {
        let shell = Shell(hosts: hosts, interactive: oneShot.isEmpty, out: printOut, err: printErr)
        do {
            try await shell.connect()
        } catch {
            printErr("Cannot connect to \(hosts): \(error)")
            return 1
        }
        if !oneShot.isEmpty {
            let code = await shell.run(oneShot)
            await shell.client?.close()
            return code
        }
        while true {
            let state = shell.client == nil ? "CLOSED" : "CONNECTED"
            guard let line = readEditedLine(prompt: "[zk: \(shell.hosts)(\(state)) \(shell.history.count)] ") else { break }
            var words = split(line)
            // zkCli's `redo n` runs history line n again.
            if words.first == "redo", words.count == 2, let number = Int(words[1]), shell.history.indices.contains(number) {
                words = split(shell.history[number])
            }
            if words.first == "quit" { break }
            _ = await shell.run(words)
        }
        await shell.client?.close()
        return 0
    }

    /// Splits a line on spaces, keeping double- or single-quoted parts whole (zkCli's rule).
    static func split(_ line: String) -> [String] {
        var words: [String] = [], current = "", quote: Character?, inWord = false
        for character in line {
            if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
            } else if character == "\"" || character == "'" {
                quote = character
                inWord = true
            } else if character == " " || character == "\t" {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(character)
                inWord = true
            }
        }
        if inWord { words.append(current) }
        return words
    }
}

/// Why @unchecked Sendable is safe: written by the task before it signals, read after the wait.
private final class Status: @unchecked Sendable {
    var code: Int32 = 0
}

// Lines go out as they are made (fflush(nil) flushes stdout), so a pipe sees them in order.
private func printOut(_ text: String) {
    print(text)
    fflush(nil)
}

private func printErr(_ text: String) {
    fflush(nil)
    let line = Array((text + "\n").utf8)
    _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

/// A line from the terminal with libedit's editing (arrows, ^A/^E, ^R search) and history;
/// nil at end of input. From a pipe it reads plain lines.
private func readEditedLine(prompt: String) -> String? {
    guard isatty(STDIN_FILENO) != 0 else {
        print(prompt, terminator: "")
        fflush(nil)
        return Swift.readLine()
    }
    guard let raw = readline(prompt) else { return nil }
    defer { free(raw) }
    let line = String(cString: raw)
    if line.contains(where: { $0 != " " && $0 != "\t" }) { add_history(raw) }
    return line
}
