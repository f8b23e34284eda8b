import ModuleAPI

/// Snapshots written as plain bytes (`zookeeper.snapshot.compression.method=none`), the
/// kernel's built-in codec.
public struct UncompressedSnapshotCodec: SnapshotCodec {
    public init() {}
    public var fileSuffix: String { "" }
    public func makeCompressor() -> any ByteStreamTransform { PassThrough() }
    public func makeDecompressor() -> any ByteStreamTransform { PassThrough() }

    final class PassThrough: ByteStreamTransform {
        func update(_ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
            if !input.isEmpty { try emit(input) }
        }
        func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws {}
    }
}
