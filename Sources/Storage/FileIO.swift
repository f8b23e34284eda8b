#if canImport(Glibc)
import Glibc
#endif

/// A storage failure with the file and the OS's reason.
public struct StorageError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }

    static func errno(_ what: String, _ path: String) -> StorageError {
        StorageError("\(what) \(path): \(String(cString: strerror(Glibc.errno)))")
    }
}

/// A file opened for the storage layer: thin, checked wrappers over POSIX calls.
final class StorageFile {
    let path: String
    private(set) var descriptor: Int32

    init(path: String, flags: Int32, mode: mode_t = 0o644) throws {
        self.path = path
        descriptor = open(path, flags | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw StorageError.errno("cannot open", path) }
    }

    deinit { close() }

    func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if Glibc.errno == EINTR { continue }
                throw StorageError.errno("cannot write", path)
            }
            offset += written
        }
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Reads up to `count` bytes at the current position; fewer only at end of file.
    func read(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + filled, count - filled) }
            if got < 0 {
                if Glibc.errno == EINTR { continue }
                throw StorageError.errno("cannot read", path)
            }
            if got == 0 { break }
            filled += got
        }
        bytes.removeLast(count - filled)
        return bytes
    }

    func size() throws -> Int {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw StorageError.errno("cannot stat", path) }
        return Int(info.st_size)
    }

    func truncate(to size: Int) throws {
        guard ftruncate(descriptor, off_t(size)) == 0 else { throw StorageError.errno("cannot resize", path) }
    }

    /// Flushes data (and the size, if it changed) to the disk.
    func sync() throws {
        guard fdatasync(descriptor) == 0 else { throw StorageError.errno("cannot fsync", path) }
    }
}

enum Directory {
    static func create(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o755) != 0 && Glibc.errno != EEXIST { throw StorageError.errno("cannot create directory", prefix) }
        }
    }

    static func list(_ path: String) throws -> [String] {
        guard let directory = opendir(path) else { throw StorageError.errno("cannot list", path) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Makes a new or removed file's directory entry durable.
    static func sync(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw StorageError.errno("cannot open directory", path) }
        defer { Glibc.close(descriptor) }
        guard fsync(descriptor) == 0 else { throw StorageError.errno("cannot fsync directory", path) }
    }

    static func remove(_ path: String) throws {
        guard unlink(path) == 0 else { throw StorageError.errno("cannot remove", path) }
    }
}
