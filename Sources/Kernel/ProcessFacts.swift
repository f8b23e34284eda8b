#if canImport(Glibc)
import Glibc
#endif

/// Facts about this process and machine that `envi` and `mntr` report, read from the OS
/// (not from environment variables, which only the executable reads).
enum ProcessFacts {
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// (os.arch, os.version) as Java names them: x86_64 is "amd64".
    static func osArchAndVersion() -> (String, String) {
        var names = utsname()
        uname(&names)
        let machine = withUnsafeBytes(of: &names.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let release = withUnsafeBytes(of: &names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return (machine == "x86_64" ? "amd64" : machine, release)
    }

    static func userNameAndHome() -> (String, String) {
        guard let entry = getpwuid(getuid()) else { return ("unknown", "/") }
        return (String(cString: entry.pointee.pw_name), String(cString: entry.pointee.pw_dir))
    }

    static func workingDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func openFileDescriptorCount() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
        }
        return count - 1 // the descriptor opendir itself holds
    }

    static func maxFileDescriptorCount() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        return Int(limit.rlim_cur)
    }
}
