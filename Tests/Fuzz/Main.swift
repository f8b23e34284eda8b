#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// paddock-fuzz: the coverage-guided fuzzers of every outside input (see FuzzTarget).
///
/// Built for fuzzing (`scripts/fuzz.sh`: -sanitize=fuzzer,address -DFUZZING), it is libFuzzer
/// with the target named by PADDOCK_FUZZ_TARGET and libFuzzer's own arguments (corpus dirs,
/// -max_total_time, ...). Built normally, it replays files through a target, which is how the
/// test suite runs the seed corpus and every crash found so far as regression tests:
///     paddock-fuzz replay <target> <file or dir>...
@main struct FuzzMain {
    static func main() {
        #if FUZZING
        guard let name = ProcessInfo.processInfo.environment["PADDOCK_FUZZ_TARGET"], let target = FuzzTarget(rawValue: name) else {
            fail("PADDOCK_FUZZ_TARGET must be one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        selected = target
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(runFuzzerDriver(&argc, &argv, fuzzOne))
        #else
        let arguments = CommandLine.arguments.dropFirst()
        guard arguments.count >= 3, arguments.first == "replay", let target = FuzzTarget(rawValue: arguments.dropFirst().first!) else {
            fail("usage: paddock-fuzz replay <\(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|"))> <file or dir>...")
        }
        var count = 0
        for path in arguments.dropFirst(2) {
            for file in files(at: path) {
                guard let data = FileManager.default.contents(atPath: file) else { fail("cannot read \(file)") }
                target.run(Array(data))
                count += 1
            }
        }
        FuzzTarget.cleanUp()
        print("replayed \(count) inputs through \(target.rawValue)")
        #endif
    }

    static func files(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { fail("no such file \(path)") }
        guard isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.sorted().map { path + "/" + $0 }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("paddock-fuzz: \(message)\n".utf8))
        exit(2)
    }
}

#if FUZZING
nonisolated(unsafe) private var selected = FuzzTarget.config

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    selected.run(count == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: count)))
    return 0
}

/// libFuzzer's entry for programs that keep their own main (SwiftPM links executables to theirs).
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt
#endif
