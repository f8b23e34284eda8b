import Foundation
import Linearizability

// history-check FILE...: checks JSON Lines histories (see HistoryFile) for linearizability and
// prints one figures line per file; exits 1 on a violation (with the key's explanation), 2 on a
// file that cannot be read.
var violations = 0
for path in CommandLine.arguments.dropFirst() {
    let verdicts: [KeyVerdict]
    do {
        verdicts = try HistoryFile(contentsOf: String(contentsOfFile: path, encoding: .utf8)).check()
    } catch {
        FileHandle.standardError.write(Data("history-check: \(path): \(error)\n".utf8))
        exit(2)
    }
    let bad = verdicts.filter { !$0.linearizable }
    let operations = verdicts.reduce(0) { $0 + $1.operations }
    let steps = verdicts.reduce(0) { $0 + $1.steps }
    print("HISTORY file=\(path) keys=\(verdicts.count) operations=\(operations) search_steps=\(steps) violations=\(bad.count)")
    for verdict in bad {
        print("violation on \(verdict.key): \(verdict.explanation ?? "")")
    }
    violations += bad.count
}
exit(violations == 0 ? 0 : 1)
