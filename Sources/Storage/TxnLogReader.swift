import Jute
import Logging

/// Reads the txns of a data dir's logs after a given zxid, as recovery replays them.
///
/// A damaged tail (a record cut short, a bad checksum or end marker with nothing valid after it,
/// zeros from preallocation) ends the history there: the file is truncated at the last valid
/// record, with a log line. Damage with valid records after it means committed history is
/// missing, and stops recovery with an error rather than dropping it silently.
public struct TxnLogReader {
    public let files: [DataDirectory.File]
    let frameBytesMax: Int
    let logger: Logger

    public init(files: [DataDirectory.File], frameBytesMax: Int, logger: Logger) {
        self.files = files
        self.frameBytesMax = frameBytesMax
        self.logger = logger
    }

    /// A record as found in a file.
    public struct Record {
        public var header: TxnHeader
        public var txn: Txn
        public var offset: Int
    }

    enum Scan {
        case record(Record, next: Int)
        case end
        case damaged(String)
    }

    /// Calls `body` for every txn with zxid > `after`, in order.
    public func replay(after: Int64, _ body: (TxnHeader, Txn) throws -> Void) throws {
        var lastZxid = after
        for (index, file) in files.enumerated() {
            let bytes = try Self.load(file.path)
            if bytes.isEmpty {
                // A crash right after creating the file; ZooKeeper would refuse to start.
                guard index == files.count - 1 else { throw StorageError("\(file.path) is empty but later logs exist") }
                logger.warning("\(file.path) is empty (a crash while creating it); removing it")
                try Directory.remove(file.path)
                return
            }
            try checkHeader(bytes, file.path)
            var offset = TxnLogFormat.headerBytes
            scanning: while true {
                switch scan(bytes, at: offset) {
                case .end:
                    break scanning
                case .record(let record, let next):
                    if record.header.zxid > lastZxid {
                        try checkContiguous(lastZxid, record.header.zxid, after: after, file.path)
                        try body(record.header, record.txn)
                        lastZxid = record.header.zxid
                    }
                    offset = next
                case .damaged(let reason):
                    try handleDamage(reason, bytes: bytes, at: offset, fileIndex: index)
                    break scanning
                }
            }
        }
    }

    /// Every record of one file, for `paddock log dump`; stops at the end or at damage.
    public static func records(of path: String, frameBytesMax: Int, logger: Logger) throws -> (records: [Record], damage: String?) {
        let reader = TxnLogReader(files: [], frameBytesMax: frameBytesMax, logger: logger)
        let bytes = try load(path)
        try reader.checkHeader(bytes, path)
        var records: [Record] = []
        var offset = TxnLogFormat.headerBytes
        while true {
            switch reader.scan(bytes, at: offset) {
            case .end: return (records, nil)
            case .damaged(let reason): return (records, "at offset \(offset): \(reason)")
            case .record(let record, let next):
                records.append(record)
                offset = next
            }
        }
    }

    private func checkHeader(_ bytes: [UInt8], _ path: String) throws {
        var reader = JuteReader(bytes)
        guard bytes.count >= TxnLogFormat.headerBytes, try reader.readInt32() == TxnLogFormat.magic else {
            throw StorageError("\(path) is not a txn log (bad magic)")
        }
    }

    /// Zxids within one epoch follow each other: a gap means a log is missing.
    private func checkContiguous(_ last: Int64, _ next: Int64, after: Int64, _ path: String) throws {
        let sameEpoch = last >> 32 == next >> 32
        if sameEpoch && next != last + 1 {
            throw StorageError("txn history has a gap: 0x\(DataDirectory.hex(last)) is followed by 0x\(DataDirectory.hex(next)) in \(path)")
        }
    }

    func scan(_ bytes: [UInt8], at offset: Int) -> Scan {
        let available = bytes.count - offset
        if available < 12 { return allZero(bytes, from: offset) ? .end : .damaged("record cut short") }
        var reader = JuteReader(bytes, offset: offset)
        let checksum = (try? reader.readInt64()) ?? 0
        let length = Int((try? reader.readInt32()) ?? 0)
        if checksum == 0 && length == 0 { return allZero(bytes, from: offset) ? .end : .damaged("zero record before data") }
        guard length > TxnLogFormat.txnHeaderBytes, length <= frameBytesMax * 2 else { return .damaged("invalid record length \(length)") }
        guard available >= TxnLogFormat.recordOverheadBytes + length else { return .damaged("record cut short") }
        let entryStart = offset + 12
        let entry = Array(bytes[entryStart..<entryStart + length])
        guard Int64(Adler32.checksum(entry)) == checksum else { return .damaged("checksum mismatch") }
        guard bytes[entryStart + length] == TxnLogFormat.endOfRecord else { return .damaged("missing end-of-record marker") }
        guard let (header, txn) = try? TxnLogFormat.decodeEntry(entry) else { return .damaged("undecodable txn") }
        return .record(Record(header: header, txn: txn, offset: offset), next: entryStart + length + 1)
    }

    /// Whether everything from `offset` on is zero (preallocated space). Compares whole blocks
    /// with memcmp: a log file is mostly preallocated zeros.
    private func allZero(_ bytes: [UInt8], from offset: Int) -> Bool {
        bytes.withUnsafeBytes { raw in
            var at = offset
            while at < raw.count {
                let length = min(Self.zeroBlock.count, raw.count - at)
                let same = Self.zeroBlock.withUnsafeBytes { memcmp(raw.baseAddress! + at, $0.baseAddress!, length) }
                if same != 0 { return false }
                at += length
            }
            return true
        }
    }

    private static let zeroBlock = [UInt8](repeating: 0, count: 64 * 1024)

    /// Tail damage is truncated away; damage followed by any valid record is fatal.
    private func handleDamage(_ reason: String, bytes: [UInt8], at offset: Int, fileIndex: Int) throws {
        let file = files[fileIndex]
        if let later = validRecordOffset(in: bytes, after: offset) {
            throw StorageError("\(file.path) is corrupt at offset \(offset) (\(reason)) but holds valid txns after it (offset \(later)); refusing to drop committed history")
        }
        for laterFile in files[(fileIndex + 1)...] {
            let laterBytes = try Self.load(laterFile.path)
            if laterBytes.count > TxnLogFormat.headerBytes, case .record = scan(laterBytes, at: TxnLogFormat.headerBytes) {
                throw StorageError("\(file.path) is corrupt at offset \(offset) (\(reason)) and later logs hold txns; refusing to drop committed history")
            }
        }
        logger.warning("\(file.path): torn tail at offset \(offset) (\(reason)); truncating to the last valid record")
        let handle = try StorageFile(path: file.path, flags: O_WRONLY)
        try handle.truncate(to: offset)
        try handle.sync()
    }

    /// Looks for a record that checks out anywhere after a damaged one.
    private func validRecordOffset(in bytes: [UInt8], after offset: Int) -> Int? {
        var candidate = offset + 1
        while candidate + TxnLogFormat.recordOverheadBytes + TxnLogFormat.txnHeaderBytes < bytes.count {
            if bytes[candidate] == 0 && allZero(bytes, from: candidate) { return nil }
            // Records start with a checksum whose top four bytes are zero; skip other offsets fast.
            if bytes[candidate] != 0 { candidate += 1; continue }
            if case .record = scan(bytes, at: candidate) { return candidate }
            candidate += 1
        }
        return nil
    }

    public static func load(_ path: String) throws -> [UInt8] {
        let file = try StorageFile(path: path, flags: O_RDONLY)
        return try file.read(try file.size())
    }
}

#if canImport(Glibc)
import Glibc
#endif
