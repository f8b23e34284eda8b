import ModuleAPI

/// The checks every SnapshotCodec must pass, whatever its format: a test-support target that
/// each codec's tests run (`XCTAssertNoThrow(try SnapshotCodecConformance.check(MyCodec()))`).
/// It reports through `SnapshotCodecConformanceFailure`, not XCTest, so it needs only ModuleAPI.
public enum SnapshotCodecConformance {
    /// Chunk sizes the round trips feed input in: single bytes, an odd size that splits every
    /// structure at awkward places, and a large block.
    public static let chunkSizes = [1, 7, 64 * 1024]

    /// Runs every check; throws the first failure.
    public static func check(_ codec: any SnapshotCodec) throws {
        try checkEmptyInputRoundTrips(codec)
        try checkRoundTripsInChunks(codec)
        try checkEmptyUpdatesAreHarmless(codec)
    }

    /// Compressing no bytes at all gives a stream that decompresses to no bytes.
    public static func checkEmptyInputRoundTrips(_ codec: any SnapshotCodec) throws {
        let compressed = try compress(codec, [], chunkBytes: 1)
        let restored = try decompress(codec, compressed, chunkBytes: 1)
        try expect(restored.isEmpty, codec, "empty input came back as \(restored.count) bytes")
    }

    /// Random and repetitive data survive a round trip whatever the chunking on either side.
    public static func checkRoundTripsInChunks(_ codec: any SnapshotCodec) throws {
        let inputs: [(String, [UInt8])] = [
            ("small random", TestData.random(count: 1_000, seed: 1)),
            ("random", TestData.random(count: 200_000, seed: 2)),
            ("repetitive", TestData.snapshotLike(count: 300_000)),
        ]
        for (name, input) in inputs {
            for compressChunk in chunkSizes {
                // Byte-at-a-time over large inputs costs seconds and proves nothing more.
                if compressChunk == 1 && input.count > 10_000 { continue }
                let compressed = try compress(codec, input, chunkBytes: compressChunk)
                for decompressChunk in chunkSizes where decompressChunk > 1 || compressed.count <= 10_000 {
                    let restored = try decompress(codec, compressed, chunkBytes: decompressChunk)
                    try expect(
                        restored == input, codec,
                        "\(name) input (\(input.count) bytes) compressed in \(compressChunk)-byte chunks and "
                            + "decompressed in \(decompressChunk)-byte chunks came back different "
                            + "(\(restored.count) bytes)")
                }
            }
        }
    }

    /// Empty updates anywhere in a stream change nothing.
    public static func checkEmptyUpdatesAreHarmless(_ codec: any SnapshotCodec) throws {
        let input = TestData.snapshotLike(count: 5_000)
        let plain = try compress(codec, input, chunkBytes: 1_000)
        let compressor = codec.makeCompressor()
        var compressed: [UInt8] = []
        let empty: [UInt8] = []
        for chunk in TestData.chunks(of: input, size: 1_000) {
            try empty.withUnsafeBytes { try compressor.update($0) { compressed.append(contentsOf: $0) } }
            try chunk.withUnsafeBytes { try compressor.update($0) { compressed.append(contentsOf: $0) } }
        }
        try compressor.finish { compressed.append(contentsOf: $0) }
        try expect(compressed == plain, codec, "an empty update changed the compressed stream")
        try expect(try decompress(codec, compressed, chunkBytes: 999) == input, codec, "empty updates broke the round trip")
    }

    // MARK: Helpers other tests use too

    /// Runs `input` through a fresh compressor, `chunkBytes` at a time.
    public static func compress(_ codec: any SnapshotCodec, _ input: [UInt8], chunkBytes: Int) throws -> [UInt8] {
        try run(codec.makeCompressor(), input, chunkBytes: chunkBytes)
    }

    /// Runs `input` through a fresh decompressor, `chunkBytes` at a time.
    public static func decompress(_ codec: any SnapshotCodec, _ input: [UInt8], chunkBytes: Int) throws -> [UInt8] {
        try run(codec.makeDecompressor(), input, chunkBytes: chunkBytes)
    }

    /// Feeds `input` to `transform` in chunks, then finishes it, collecting all output.
    public static func run(_ transform: any ByteStreamTransform, _ input: [UInt8], chunkBytes: Int) throws -> [UInt8] {
        precondition(chunkBytes > 0, "chunks must hold at least one byte")
        var output: [UInt8] = []
        for chunk in TestData.chunks(of: input, size: chunkBytes) {
            try chunk.withUnsafeBytes { try transform.update($0) { output.append(contentsOf: $0) } }
        }
        try transform.finish { output.append(contentsOf: $0) }
        return output
    }

    private static func expect(_ condition: Bool, _ codec: any SnapshotCodec, _ message: String) throws {
        if !condition { throw SnapshotCodecConformanceFailure(codec: "\(type(of: codec))", message: message) }
    }
}

public struct SnapshotCodecConformanceFailure: Error, CustomStringConvertible {
    var codec: String
    var message: String
    public var description: String { "\(codec) fails SnapshotCodec conformance: \(message)" }
}

/// Deterministic inputs, so a failure reproduces.
public enum TestData {
    /// Incompressible bytes from a fixed-seed SplitMix64.
    public static func random(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 8)
        while bytes.count < count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            withUnsafeBytes(of: z) { bytes.append(contentsOf: $0) }
        }
        return Array(bytes.prefix(count))
    }

    /// Something like a serialized tree: paths, zxids, times, short values, repeated structure.
    public static func snapshotLike(count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 200)
        var node = 0
        while bytes.count < count {
            bytes.append(contentsOf: Array("/app/service-\(node % 97)/lock-\(String(node, radix: 10))".utf8))
            for field in [UInt64(0x1_0000_0000 + node), UInt64(1_700_000_000_000 + node * 13), UInt64(node % 5)] {
                withUnsafeBytes(of: field.bigEndian) { bytes.append(contentsOf: $0) }
            }
            bytes.append(contentsOf: Array("{\"host\":\"10.0.\(node % 16).\(node % 250)\",\"port\":\(2000 + node % 100)}".utf8))
            node += 1
        }
        return Array(bytes.prefix(count))
    }

    public static func chunks(of bytes: [UInt8], size: Int) -> [ArraySlice<UInt8>] {
        stride(from: 0, to: bytes.count, by: size).map { bytes[$0..<min($0 + size, bytes.count)] }
    }
}
