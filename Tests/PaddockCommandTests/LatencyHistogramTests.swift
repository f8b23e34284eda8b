import Testing

@testable import paddock

@Suite struct LatencyHistogramTests {
    @Test func percentilesOfExactlyCountedValues() {
        var histogram = LatencyHistogram()
        for value in 1...1000 { histogram.record(micros: UInt64(value)) }
        #expect(histogram.total == 1000)
        #expect(histogram.percentile(50) == 500)
        #expect(histogram.percentile(99) == 990)
        #expect(histogram.percentile(100) == 1000)
    }

    @Test func largeValuesKeepThreeSignificantDigits() {
        var histogram = LatencyHistogram()
        let values: [UInt64] = [2_047, 2_048, 3_000, 123_456, 9_876_543, 3_600_000_000]
        for value in values { histogram.record(micros: value) }
        for (rank, value) in values.enumerated() {
            let reported = histogram.percentile((Double(rank) + 0.5) / Double(values.count) * 100)
            #expect(reported >= value && Double(reported - value) <= Double(value) / 1000, "\(value) → \(reported)")
        }
    }

    @Test func mergingAddsCounts() {
        var fast = LatencyHistogram(), slow = LatencyHistogram()
        for _ in 0..<90 { fast.record(micros: 100) }
        for _ in 0..<10 { slow.record(micros: 50_000) }
        fast.merge(slow)
        #expect(fast.total == 100 && fast.maxMicros == 50_000)
        #expect(fast.percentile(90) == 100)
        #expect(fast.percentile(91) >= 50_000)
    }
}
