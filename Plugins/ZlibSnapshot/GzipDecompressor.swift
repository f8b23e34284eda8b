import CZlib
import ModuleAPI

/// Inflates a gzip stream: one member as ZooKeeper writes, or several concatenated (as `cat a.gz
/// b.gz` makes and Java's GZIPInputStream reads). Every member's CRC-32 and length are checked.
/// Bytes after a member that do not start another gzip member are corrupt data, not ignored:
/// a snapshot must be exactly what was written.
final class GzipDecompressor: ByteStreamTransform {
    /// Where the decompressor is between gzip members.
    private enum Member {
        /// No byte seen yet: an empty stream is not a gzip stream.
        case none
        /// Inside a member whose trailer zlib has not checked yet.
        case inside
        /// The last member ended with a valid trailer; another may follow.
        case ended
    }

    private let zlib = ZlibBuffers.allocate()
    private var state = TransformState.open
    private var member = Member.none
    /// Compressed bytes consumed so far, all members, so errors can say where.
    private var compressedBytesIn = 0

    init() {
        // inflateInit2 is a C macro; see GzipCompressor.init. gzipWindowBits accepts gzip framing
        // only: a zlib- or raw-deflate stream is rejected as having a bad header.
        let status = inflateInit2_(zlib.stream, gzipWindowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "inflateInit2_ failed with zlib status \(status)")
    }

    deinit {
        _ = inflateEnd(zlib.stream)
        zlib.deallocate()
    }

    func update(_ input: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        try state.guarded("gzip decompressor") {
            try zlib.feed(input) { try inflateAvailable(emit) }
        }
    }

    func finish(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        try state.guarded("gzip decompressor") {
            // inflate always writes all the output it can, so nothing is left to emit; only
            // whether the stream was whole remains to be checked.
            switch member {
            case .ended: break
            case .none: throw CodecError("gzip stream is empty: no gzip header")
            case .inside:
                throw CodecError(
                    "gzip stream is truncated: it ends after \(compressedBytesIn) compressed bytes, "
                        + "inside a member (no complete gzip trailer)")
            }
        }
        state = .finished
    }

    /// Inflates the current input slice, emitting output chunk by chunk and starting a new member
    /// whenever one ends with input left.
    private func inflateAvailable(_ emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        let stream = zlib.stream
        while true {
            if zlib.inputPending > 0 { try startMemberIfNeeded() }
            zlib.resetOutput()
            let pendingBefore = zlib.inputPending
            let status = inflate(stream, Z_NO_FLUSH)
            compressedBytesIn += pendingBefore - zlib.inputPending
            switch status {
            case Z_STREAM_END:
                try zlib.emitOutput(emit)
                member = .ended
                if zlib.inputPending == 0 { return }
            case Z_OK, Z_BUF_ERROR:
                // Z_BUF_ERROR: no progress possible, i.e. the input ran out just as a chunk filled.
                try zlib.emitOutput(emit)
                if stream.pointee.avail_out > 0 {
                    // inflate stops only when input runs out, output fills or a member ends.
                    precondition(zlib.inputPending == 0, "inflate stopped with input left")
                    return
                }
            case Z_DATA_ERROR, Z_NEED_DICT:
                throw corrupt(zlibMessage ?? "invalid data")
            case Z_MEM_ERROR:
                throw CodecError("gzip: out of memory while inflating")
            default:
                preconditionFailure("inflate failed with zlib status \(status)")
            }
        }
    }

    /// Moves from "no member yet" or "member ended" to "inside a member" as its first byte arrives.
    private func startMemberIfNeeded() throws {
        switch member {
        case .inside: return
        case .none: break
        case .ended:
            let status = inflateReset(zlib.stream)
            precondition(status == Z_OK, "inflateReset failed with zlib status \(status)")
        }
        member = .inside
    }

    private var zlibMessage: String? {
        zlib.stream.pointee.msg.map { String(cString: $0) }
    }

    private func corrupt(_ reason: String) -> CodecError {
        CodecError("gzip data is corrupt near compressed byte \(compressedBytesIn): \(reason)")
    }
}
