#if canImport(Glibc)
import Glibc
#endif

struct SystemClock: Clock {
    func wallMs() -> Int64 { Self.read(CLOCK_REALTIME) }
    func monotonicMs() -> Int64 { Self.read(CLOCK_MONOTONIC) }

    private static func read(_ clock: clockid_t) -> Int64 {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
