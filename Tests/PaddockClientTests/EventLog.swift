import Foundation
import Synchronization

/// Everything a stream yields, collected by a task of its own, so a test can wait for what it
/// expects with a deadline without cancelling the stream (cancelling a waiting AsyncStream
/// iterator ends the stream).
final class EventLog<Element: Sendable>: Sendable {
    private let state = Mutex<(events: [Element], finished: Bool)>(([], false))

    init<S: AsyncSequence & Sendable>(_ stream: S) where S.Element == Element {
        // The task holds the log until the stream ends (at the latest when its session does).
        Task {
            do {
                for try await event in stream { self.state.withLock { $0.events.append(event) } }
            } catch {}
            self.state.withLock { $0.finished = true }
        }
    }

    var events: [Element] { state.withLock { $0.events } }
    var finished: Bool { state.withLock { $0.finished } }

    /// Polls until `done` holds of the events so far, or `limit` passes; returns the events.
    @discardableResult
    func wait(within limit: Duration = .seconds(10), until done: ([Element], Bool) -> Bool) async -> [Element] {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            let (events, finished) = state.withLock { ($0.events, $0.finished) }
            if done(events, finished) { return events }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return events
    }

    /// Waits for the stream's `count`th element.
    func element(_ count: Int, within limit: Duration = .seconds(10)) async -> Element? {
        let events = await wait(within: limit) { events, finished in events.count >= count || finished }
        return events.count >= count ? events[count - 1] : nil
    }
}
