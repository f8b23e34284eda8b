import ModuleAPI

/// Snapshots as gzip (`zookeeper.snapshot.compression.method=gz`): `snapshot.<zxid>.gz` holds one
/// standard gzip member (RFC 1952), what ZooKeeper 3.8 writes with Java's GZIPOutputStream and reads
/// with GZIPInputStream, so data dirs move between Paddock and ZooKeeper in both directions.
public struct GzipSnapshotCodec: SnapshotCodec {
    /// Level 1, not zlib's and Java's default 6 (what ZooKeeper uses; any level reads back the
    /// same). Measured here on 64 MiB of snapshot-like data (release build, 2 busy cores): level 1
    /// deflates at 70-80 MiB/s to 4.3x smaller, level 6 at 20 MiB/s to 5.0x smaller. Four times
    /// the CPU for a file 14% smaller is a poor trade on a server whose cores also serve clients
    /// while a snapshot is written; `init(level:)` buys the bytes back where disk is tighter.
    public static let defaultLevel = 1

    /// Deflate level, 0 (stored, no compression) through 9 (smallest, slowest).
    public let level: Int

    public init(level: Int = GzipSnapshotCodec.defaultLevel) {
        precondition((0...9).contains(level), "gzip level \(level) is outside 0...9")
        self.level = level
    }

    public var fileSuffix: String { ".gz" }

    public func makeCompressor() -> any ByteStreamTransform { GzipCompressor(level: Int32(level)) }

    public func makeDecompressor() -> any ByteStreamTransform { GzipDecompressor() }
}
