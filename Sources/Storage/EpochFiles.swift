/// ZooKeeper's `version-2/acceptedEpoch` and `version-2/currentEpoch` files: the epoch a server
/// last promised to follow and the epoch of the leader it last synced with. ASCII decimal with
/// no newline, replaced atomically (write a .tmp, fsync, rename), as ZooKeeper writes them.
public struct EpochFiles: Sendable {
    public let directory: String

    public init(_ dataDirectory: DataDirectory) {
        directory = dataDirectory.snapshotDirectory
    }

    public enum Name: String, Sendable {
        case accepted = "acceptedEpoch"
        case current = "currentEpoch"
    }

    /// nil when the file does not exist yet (a server that never joined an ensemble).
    public func read(_ name: Name) throws -> Int64? {
        let path = directory + "/" + name.rawValue
        guard access(path, F_OK) == 0 else { return nil }
        let text = String(decoding: try TxnLogReader.load(path), as: UTF8.self)
        guard let epoch = Int64(text.trimmingLineEnd()) else {
            throw StorageError("\(path) does not hold an epoch: '\(text)'")
        }
        return epoch
    }

    public func write(_ name: Name, _ epoch: Int64) throws {
        let path = directory + "/" + name.rawValue
        let temporary = path + ".tmp"
        let file = try StorageFile(path: temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        try file.write(Array(String(epoch).utf8))
        try file.sync()
        file.close()
        guard rename(temporary, path) == 0 else { throw StorageError.errno("cannot rename to", path) }
        try Directory.sync(directory)
    }
}

extension String {
    fileprivate func trimmingLineEnd() -> Substring {
        var text = Substring(self)
        while let last = text.last, last == "\n" || last == "\r" || last == " " { text.removeLast() }
        return text
    }
}

#if canImport(Glibc)
import Glibc
#endif
