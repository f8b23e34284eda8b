import Foundation
import CodecConformance
import ModuleAPI
import XCTest
import ZlibSnapshot

final class GzipSnapshotCodecTests: XCTestCase {
    let codec = GzipSnapshotCodec()
    /// The codec's output chunk (outputChunkBytes): no single emit may be larger.
    let outputChunkBytes = 64 * 1024

    func testPassesSnapshotCodecConformance() throws {
        try SnapshotCodecConformance.check(codec)
    }

    func testFileSuffixIsZooKeepers() {
        XCTAssertEqual(codec.fileSuffix, ".gz")
        XCTAssertEqual(codec.level, 1)
    }

    func testRoundTripsInOddChunksAtEveryLevel() throws {
        let inputs = [TestData.random(count: 3_000, seed: 7), TestData.snapshotLike(count: 200_000)]
        for level in [0, 1, 6, 9] {
            let codec = GzipSnapshotCodec(level: level)
            for input in inputs {
                for chunkBytes in [7, 64 * 1024] {
                    let compressed = try compress(input, chunkBytes: chunkBytes, codec: codec)
                    XCTAssertEqual(try decompress(compressed, chunkBytes: chunkBytes), input, "level \(level), \(chunkBytes)-byte chunks")
                }
            }
        }
    }

    func testSmallInputOneByteAtATime() throws {
        let input = TestData.snapshotLike(count: 2_000) + TestData.random(count: 2_000, seed: 3)
        let compressed = try compress(input, chunkBytes: 1)
        XCTAssertEqual(compressed, try compress(input, chunkBytes: input.count), "chunking must not change the stream")
        XCTAssertEqual(try decompress(compressed, chunkBytes: 1), input)
    }

    func testEmptyInputIsAMinimalGzipMember() throws {
        let compressed = try compress([], chunkBytes: 1)
        XCTAssertEqual(Array(compressed.prefix(3)), [0x1F, 0x8B, 0x08], "gzip magic and deflate method")
        XCTAssertEqual(compressed.count, 20, "10-byte header, 2-byte empty final block, 8-byte trailer")
        XCTAssertEqual(try decompress(compressed, chunkBytes: 1), [])
    }

    func testRepetitiveDataShrinks() throws {
        let input = TestData.snapshotLike(count: 1_000_000)
        let compressed = try compress(input, chunkBytes: 64 * 1024)
        XCTAssertLessThan(compressed.count, input.count / 4)
    }

    // MARK: Streaming: output flows during update and in bounded pieces

    func testCompressorEmitsBoundedChunksBeforeFinish() throws {
        let input = TestData.random(count: 2_000_000, seed: 11)
        let (emits, beforeFinish) = try emitSizes(codec.makeCompressor(), input, chunkBytes: 256 * 1024)
        XCTAssertLessThanOrEqual(emits.max() ?? 0, outputChunkBytes)
        XCTAssertGreaterThan(beforeFinish, input.count / 2, "compressed output must flow while input is fed")
    }

    func testDecompressorEmitsBoundedChunksBeforeFinish() throws {
        // 8 MiB of zeros compress to ~8 KiB: one small update expands into many output chunks.
        let input = [UInt8](repeating: 0, count: 8 << 20)
        let compressed = try compress(input, chunkBytes: 1 << 20)
        let (emits, beforeFinish) = try emitSizes(codec.makeDecompressor(), compressed, chunkBytes: compressed.count)
        XCTAssertLessThanOrEqual(emits.max() ?? 0, outputChunkBytes)
        XCTAssertEqual(emits.reduce(0, +), input.count)
        XCTAssertEqual(beforeFinish, input.count, "all output is emitted by update; finish only checks")
    }

    // MARK: Interoperability with gzip(1)

    func testSystemGzipReadsOurOutput() throws {
        let input = TestData.snapshotLike(count: 300_000) + TestData.random(count: 100_000, seed: 5)
        let file = try temporaryFile("ours.gz", contents: try compress(input, chunkBytes: 7))
        XCTAssertEqual(try runGzip(["-d", "-c", file.path]), input)
        XCTAssertEqual(try runGzip(["-t", file.path]), [], "gzip -t finds the stream sound")
    }

    func testWeReadSystemGzipOutput() throws {
        let input = TestData.snapshotLike(count: 300_000) + TestData.random(count: 50_000, seed: 6)
        // Without -n, gzip stores the file name and mtime: header fields ours never writes.
        let file = try temporaryFile("snapshot.100000001", contents: input)
        for level in ["-1", "-6", "-9"] {
            let compressed = try runGzip([level, "-c", file.path])
            XCTAssertEqual(compressed[3] & 0x08, 0x08, "FNAME flag set, so the name field is parsed")
            XCTAssertEqual(try decompress(compressed, chunkBytes: 7), input, "gzip \(level)")
            XCTAssertEqual(try decompress(compressed, chunkBytes: 64 * 1024), input, "gzip \(level)")
        }
    }

    func testConcatenatedMembersDecompressToTheirConcatenation() throws {
        let first = TestData.snapshotLike(count: 50_000)
        let second = TestData.random(count: 30_000, seed: 8)
        let file = try temporaryFile("second", contents: second)
        let stream = try compress(first, chunkBytes: 4_096) + (try runGzip(["-c", file.path])) + (try compress([], chunkBytes: 1))
        for chunkBytes in [1, 7, 64 * 1024] {
            XCTAssertEqual(try decompress(stream, chunkBytes: chunkBytes), first + second, "\(chunkBytes)-byte chunks")
        }
    }

    // MARK: Damaged streams

    func testTruncatedStreamThrowsFromFinish() throws {
        let compressed = try compress(TestData.snapshotLike(count: 100_000), chunkBytes: 64 * 1024)
        // Cut inside the header, the deflate data, the CRC and the length of the trailer.
        for kept in [1, 10, compressed.count / 2, compressed.count - 8, compressed.count - 5, compressed.count - 1] {
            let decompressor = codec.makeDecompressor()
            try Array(compressed.prefix(kept)).withUnsafeBytes { try decompressor.update($0) { _ in } }
            XCTAssertThrowsError(try decompressor.finish { _ in }, "kept \(kept) of \(compressed.count) bytes") { error in
                XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
            }
        }
    }

    func testEmptyCompressedStreamIsAnError() {
        XCTAssertThrowsError(try decompress([], chunkBytes: 1)) { error in
            XCTAssertTrue(error is CodecError)
            XCTAssertTrue("\(error)".contains("empty"), "\(error)")
        }
    }

    func testCorruptedByteThrows() throws {
        let input = TestData.snapshotLike(count: 100_000)
        let compressed = try compress(input, chunkBytes: 64 * 1024)
        let count = compressed.count
        let places = [
            (0, "incorrect header check"),  // magic
            (2, "unknown compression method"),
            (3, "unknown header flags set"),  // reserved FLG bits
            (10, "corrupt"),  // first deflate byte
            (count / 2, "corrupt"),  // middle of the deflate data
            (count - 8, "incorrect data check"),  // CRC-32
            (count - 1, "incorrect length check"),  // ISIZE
        ]
        for (offset, expected) in places {
            var damaged = compressed
            damaged[offset] ^= 0xFF
            XCTAssertThrowsError(try decompress(damaged, chunkBytes: 7), "byte \(offset) of \(count)") { error in
                XCTAssertTrue(error is CodecError, "\(type(of: error))")
                XCTAssertTrue("\(error)".contains("corrupt"), "\(error)")
                XCTAssertTrue("\(error)".contains(expected), "byte \(offset): \(error)")
            }
        }
    }

    func testGarbageAfterAMemberIsAnError() throws {
        let stream = try compress(TestData.snapshotLike(count: 1_000), chunkBytes: 1_000) + [0, 0, 0, 0]
        XCTAssertThrowsError(try decompress(stream, chunkBytes: 64 * 1024)) { error in
            XCTAssertTrue("\(error)".contains("corrupt"), "\(error)")
        }
    }

    func testErrorRepeatsOnLaterCalls() throws {
        let decompressor = codec.makeDecompressor()
        let garbage: [UInt8] = Array("not gzip at all".utf8)
        XCTAssertThrowsError(try garbage.withUnsafeBytes { try decompressor.update($0) { _ in } })
        XCTAssertThrowsError(try garbage.withUnsafeBytes { try decompressor.update($0) { _ in } })
        XCTAssertThrowsError(try decompressor.finish { _ in })
    }

    // MARK: Helpers

    private func compress(_ input: [UInt8], chunkBytes: Int, codec: GzipSnapshotCodec = GzipSnapshotCodec()) throws -> [UInt8] {
        try SnapshotCodecConformance.compress(codec, input, chunkBytes: chunkBytes)
    }

    private func decompress(_ input: [UInt8], chunkBytes: Int) throws -> [UInt8] {
        try SnapshotCodecConformance.decompress(codec, input, chunkBytes: chunkBytes)
    }

    /// Sizes of each emit, and how many bytes came out before `finish`.
    private func emitSizes(_ transform: any ByteStreamTransform, _ input: [UInt8], chunkBytes: Int) throws -> ([Int], Int) {
        var sizes: [Int] = []
        for chunk in TestData.chunks(of: input, size: chunkBytes) {
            try chunk.withUnsafeBytes { try transform.update($0) { sizes.append($0.count) } }
        }
        let beforeFinish = sizes.reduce(0, +)
        try transform.finish { sizes.append($0.count) }
        return (sizes, beforeFinish)
    }

    private func temporaryFile(_ name: String, contents: [UInt8]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ZlibSnapshotTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent(name)
        try Data(contents).write(to: file)
        return file
    }

    /// Runs /bin/gzip and returns its stdout; fails the test if it exits non-zero.
    private func runGzip(_ arguments: [String]) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        // Read before waiting, or a full pipe would block gzip forever.
        let bytes = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "gzip \(arguments.joined(separator: " "))")
        return Array(bytes)
    }
}
