import Dispatch

/// The one serial executor that owns a server's KernelState. Transports and timers post work
/// here; nothing else touches the state.
///
/// Why @unchecked Sendable is safe: `state` is only read or written inside blocks run by the
/// serial `queue`, which never runs two blocks at once.
final class KernelExecutor: @unchecked Sendable {
    private let queue = DispatchQueue(label: "paddock.kernel")
    private var state: KernelState?
    private var timers: [DispatchSourceTimer] = []

    func install(_ state: KernelState) {
        queue.sync { self.state = state }
    }

    func post(_ work: @escaping @Sendable (KernelState) -> Void) {
        queue.async { [self] in
            guard let state else { return }
            work(state)
        }
    }

    /// Runs `work` once, `milliseconds` from now.
    func after(milliseconds: Int, _ work: @escaping @Sendable (KernelState) -> Void) {
        queue.asyncAfter(deadline: .now() + .milliseconds(milliseconds)) { [self] in
            guard let state else { return }
            work(state)
        }
    }

    func every(milliseconds: Int, _ work: @escaping @Sendable (KernelState) -> Void) {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + .milliseconds(milliseconds), repeating: .milliseconds(milliseconds))
        timer.setEventHandler { [self] in
            guard let state else { return }
            work(state)
        }
        timer.resume()
        queue.sync { timers.append(timer) }
    }

    func stopTimers() {
        queue.sync {
            for timer in timers { timer.cancel() }
            timers.removeAll()
        }
    }
}
