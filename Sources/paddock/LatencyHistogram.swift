/// An HDR-style histogram of latencies in microseconds: values below 2048 are counted exactly,
/// larger ones in buckets of 1/1024 of their power of two (three significant digits), so
/// percentiles are right to 0.1% at any scale with fixed memory and no allocation per record.
struct LatencyHistogram {
    private static let subBuckets = 2048
    private static let halfSubBuckets = 1024
    /// Enough buckets for an hour in microseconds (2^32 µs).
    private static let countsLength = halfSubBuckets * (32 - 10 + 1) + halfSubBuckets

    private var counts = [UInt64](repeating: 0, count: countsLength)
    private(set) var total: UInt64 = 0
    private(set) var maxMicros: UInt64 = 0

    mutating func record(micros: UInt64) {
        let index = Self.index(of: micros)
        precondition(index < counts.count, "latency \(micros) µs is beyond the histogram's hour")
        counts[index] += 1
        total += 1
        maxMicros = max(maxMicros, micros)
    }

    mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        total += other.total
        maxMicros = max(maxMicros, other.maxMicros)
    }

    /// The value at or below which `percent` of the records fall (the bucket's highest value).
    func percentile(_ percent: Double) -> UInt64 {
        guard total > 0 else { return 0 }
        let rank = max(1, UInt64((percent / 100 * Double(total)).rounded(.up)))
        var seen: UInt64 = 0
        for (index, count) in counts.enumerated() where count > 0 {
            seen += count
            if seen >= rank { return min(Self.highestValue(at: index), maxMicros) }
        }
        return maxMicros
    }

    static func index(of value: UInt64) -> Int {
        let bucket = max(0, 63 - (value | UInt64(subBuckets - 1)).leadingZeroBitCount - 10)
        return bucket * halfSubBuckets + Int(value >> UInt64(bucket))
    }

    static func highestValue(at index: Int) -> UInt64 {
        let bucket = index < subBuckets ? 0 : index / halfSubBuckets - 1
        let sub = UInt64(index - bucket * halfSubBuckets)
        return ((sub + 1) << UInt64(bucket)) - 1
    }
}
