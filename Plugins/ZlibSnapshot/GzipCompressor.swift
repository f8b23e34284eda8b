import CZlib
import ModuleAPI

/// Deflates a byte stream into one gzip member: zlib's minimal header (no name, mtime 0), the
/// deflate data, then the CRC-32 and length trailer. Java's GZIPInputStream and `gzip -d` read it.
final class GzipCompressor: ByteStreamTransform {
    private let zlib = ZlibBuffers.allocate()
    private var state = TransformState.open

    init(level: Int32) {
        precondition((0...9).contains(level), "gzip level \(level) is outside 0...9")
        // deflateInit2 is a C macro; its function takes the header's version and struct size so
        // zlib can refuse a mismatched library.
        let status = deflateInit2_(
            zlib.stream, level, Z_DEFLATED, gzipWindowBits, deflateMemoryLevel, Z_DEFAULT_STRATEGY,
            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        // Fails only on bad arguments, a library/header mismatch or no memory for 256 KiB.
        precondition(status == Z_OK, "deflateInit2_ failed with zlib status \(status)")
    }

    deinit {
        // Z_DATA_ERROR here only says the stream was abandoned before finish; nothing to report.
        _ = deflateEnd(zlib.stream)
        zlib.deallocate()
    }

    func update(_ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        try state.guarded("gzip compressor") {
            try zlib.feed(input) { try deflateAvailable(emit) }
        }
    }

    func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        try state.guarded("gzip compressor") {
            try deflateToEnd(emit)
        }
        state = .finished
    }

    /// Deflates the current input slice, emitting every full output chunk; zlib keeps what does
    /// not yet fill a deflate block for the next call.
    private func deflateAvailable(_ emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        repeat {
            zlib.resetOutput()
            let status = deflate(zlib.stream, Z_NO_FLUSH)
            // Z_BUF_ERROR only means no progress was possible (a full chunk was emitted just as
            // the input ran out); deflate has no data errors.
            precondition(status == Z_OK || status == Z_BUF_ERROR, "deflate failed with zlib status \(status)")
            try zlib.emitOutput(emit)
        } while zlib.stream.pointee.avail_out == 0
        // deflate stops only when input runs out or output fills; output did not fill.
        precondition(zlib.inputPending == 0, "deflate stopped with input left")
    }

    /// Flushes the last block and writes the gzip trailer.
    private func deflateToEnd(_ emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        while true {
            zlib.resetOutput()
            let status = deflate(zlib.stream, Z_FINISH)
            // With a whole empty chunk to write into, Z_FINISH always progresses.
            precondition(status == Z_OK || status == Z_STREAM_END, "deflate finish failed with zlib status \(status)")
            try zlib.emitOutput(emit)
            if status == Z_STREAM_END { return }
        }
    }
}
