import Jute

/// ZooKeeper's txn log file format (FileTxnLog): a 16-byte header, then records of
/// `long adler32(entry)`, `int length`, `entry` (TxnHeader + txn body [+ TxnDigest]), `byte 'B'`.
/// Preallocated zeros after the last record read as the end.
public enum TxnLogFormat {
    public static let magic: Int32 = 0x5A4B_4C47 // "ZKLG"
    public static let version: Int32 = 2
    public static let headerBytes = 16
    public static let endOfRecord: UInt8 = 0x42 // 'B'
    /// Checksum, length and end marker around each entry.
    public static let recordOverheadBytes = 13
    static let txnHeaderBytes = 32

    public static func fileHeader() -> [UInt8] {
        var w = JuteWriter(capacity: headerBytes)
        w.writeInt32(magic)
        w.writeInt32(version)
        w.writeInt64(0) // dbid: ZooKeeper 3.8 always writes 0
        return w.bytes
    }

    /// Appends one record to `buffer`. Paddock writes no TxnDigest (it is optional for readers,
    /// and ZooKeeper only logs a mismatch).
    public static func appendRecord(_ header: TxnHeader, _ txn: Txn, to buffer: inout [UInt8]) {
        var entry = JuteWriter(capacity: 128)
        header.write(to: &entry)
        txn.write(to: &entry)
        var framing = JuteWriter(capacity: 12)
        framing.writeInt64(Int64(Adler32.checksum(entry.bytes)))
        framing.writeInt32(Int32(entry.bytes.count))
        buffer.append(contentsOf: framing.bytes)
        buffer.append(contentsOf: entry.bytes)
        buffer.append(endOfRecord)
    }

    /// Decodes an entry: header, body, and a TxnDigest if 12 bytes remain.
    public static func decodeEntry(_ entry: [UInt8]) throws -> (TxnHeader, Txn) {
        var reader = JuteReader(entry)
        let header = try TxnHeader(from: &reader)
        let txn = try Txn(type: header.type, from: &reader)
        guard reader.remaining == 0 || reader.remaining == 12 else {
            throw StorageError("txn 0x\(DataDirectory.hex(header.zxid)) has \(reader.remaining) unexpected trailing bytes")
        }
        return (header, txn)
    }
}
