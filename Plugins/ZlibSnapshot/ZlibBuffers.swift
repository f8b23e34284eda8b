import CZlib

/// zlib's windowBits for its largest window (32 KiB, what Java's Deflater uses) plus 16, which
/// asks zlib for gzip framing (RFC 1952 header, CRC-32 and length trailer) instead of zlib's own.
let gzipWindowBits: Int32 = 15 + 16

/// zlib's default memLevel (as deflateInit uses): 128 KiB of hash state beside the 128 KiB window.
let deflateMemoryLevel: Int32 = 8

/// Output bytes zlib writes per call before they go to `emit`: the one buffer a transform owns
/// besides zlib's state (about 256 KiB deflating, 40 KiB inflating). A stream never accumulates.
let outputChunkBytes = 64 * 1024

/// Most input bytes handed to zlib per call: `avail_in` is a 32-bit `uInt`.
let inputSliceBytesMax = Int(UInt32.max)

/// The z_stream and output chunk of one transform. The z_stream sits on the heap at a fixed
/// address because zlib keeps a pointer back to it (and rejects a stream that moved); a Swift
/// stored property passed `inout` has no address guaranteed to last between calls.
struct ZlibBuffers {
    let stream: UnsafeMutablePointer<z_stream>
    let output: UnsafeMutablePointer<UInt8>

    static func allocate() -> ZlibBuffers {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        // Zeroed: no custom allocator (zlib uses malloc/free), no input, no output yet.
        stream.initialize(to: z_stream())
        return ZlibBuffers(stream: stream, output: .allocate(capacity: outputChunkBytes))
    }

    /// Frees the buffers; the caller has already ended the zlib state (deflateEnd/inflateEnd).
    func deallocate() {
        stream.deinitialize(count: 1)
        stream.deallocate()
        output.deallocate()
    }

    /// Points zlib at an empty output chunk.
    func resetOutput() {
        stream.pointee.next_out = output
        stream.pointee.avail_out = uInt(outputChunkBytes)
    }

    /// Hands what zlib wrote since `resetOutput` to `emit`.
    func emitOutput(_ emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        let produced = outputChunkBytes - Int(stream.pointee.avail_out)
        precondition((0...outputChunkBytes).contains(produced), "zlib wrote outside the output chunk")
        if produced > 0 { try emit(UnsafeRawBufferPointer(start: output, count: produced)) }
    }

    /// Bytes zlib has not yet taken from the current input slice.
    var inputPending: Int { Int(stream.pointee.avail_in) }

    /// Gives zlib `input` a slice at a time (as large as `avail_in` can count) and calls `drain`,
    /// which must run zlib until the slice is consumed. zlib never keeps a pointer to the caller's
    /// buffer past this call.
    func feed(_ input: UnsafeRawBufferPointer, drain: () throws -> Void) rethrows {
        defer {
            stream.pointee.next_in = nil
            stream.pointee.avail_in = 0
        }
        guard let base = input.baseAddress else { return }
        var offset = 0
        while offset < input.count {
            let count = min(input.count - offset, inputSliceBytesMax)
            // zlib declares next_in mutable for historical reasons; it never writes through it.
            stream.pointee.next_in = UnsafeMutablePointer(mutating: (base + offset).assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(count)
            try drain()
            precondition(inputPending == 0, "zlib left \(inputPending) input bytes unconsumed")
            offset += count
        }
    }
}

/// Where a transform is in its life. After an error (corrupt data, or `emit` throwing) the zlib
/// state is no longer trustworthy: every later call rethrows that error.
enum TransformState {
    case open
    case finished
    case failed(any Error)
}

extension TransformState {
    /// Runs `body` if the transform is open, recording a thrown error so later calls repeat it.
    /// Use after `finish` is a programming error, not a data error.
    mutating func guarded(_ what: String, _ body: () throws -> Void) throws {
        switch self {
        case .finished: preconditionFailure("\(what) used after finish")
        case .failed(let error): throw error
        case .open: break
        }
        do {
            try body()
        } catch {
            self = .failed(error)
            throw error
        }
    }
}
