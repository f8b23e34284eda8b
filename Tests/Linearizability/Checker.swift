/// A sequential specification: the states an operation may leave behind, given the state before
/// it, its input and its output (nil when the outcome is unknown, as after a connection loss: the
/// operation may or may not have taken effect). An empty answer means the output is impossible.
public protocol SequentialModel {
    associatedtype State: Hashable
    associatedtype Input
    associatedtype Output
    static var initial: State { get }
    static func step(_ state: State, _ input: Input, _ output: Output?) -> [State]
    static func describe(_ input: Input, _ output: Output?) -> String
}

/// One client operation as a test saw it: invoked at `call`, completed at `completion` (nil when
/// the client never learned the outcome; then `output` is nil too). Times are in any unit that
/// only grows, shared by every client of the history.
public struct ClientOperation<Input, Output> {
    public var client: Int
    public var key: String
    public var input: Input
    public var output: Output?
    public var call: Int64
    public var completion: Int64?

    public init(client: Int, key: String, input: Input, output: Output?, call: Int64, completion: Int64?) {
        precondition(completion.map { $0 >= call } ?? true, "an operation completes after its call")
        precondition(completion != nil || output == nil, "an operation with an output has completed")
        self.client = client
        self.key = key
        self.input = input
        self.output = output
        self.call = call
        self.completion = completion
    }
}

/// What checking one key's history found.
public struct KeyVerdict {
    public var key: String
    public var operations: Int
    public var linearizable: Bool
    /// Search steps taken (each a try to place one operation).
    public var steps: Int
    /// For a violation: how far the longest valid ordering got, and the operations it could not
    /// place next, in call order.
    public var explanation: String?
}

/// Decides whether a history of operations on independent keys is linearizable against a model,
/// as Knossos and Porcupine do: keys are checked apart (linearizability is compositional), and for
/// each key a depth-first search (Wing & Gong, with Lowe's memo of visited (placed set, state)
/// pairs) tries to order the operations so that each takes effect between its call and its
/// completion and every output matches the model. Operations whose outcome is unknown may take
/// effect at any point after their call, or never.
public enum LinearizabilityChecker {
    public static func check<M: SequentialModel>(_ model: M.Type, _ history: [ClientOperation<M.Input, M.Output>]) -> [KeyVerdict] {
        var byKey: [String: [ClientOperation<M.Input, M.Output>]] = [:]
        for operation in history { byKey[operation.key, default: []].append(operation) }
        return byKey.keys.sorted().map { key in checkKey(M.self, key: key, byKey[key]!) }
    }

    /// One call or completion, in time order; a doubly linked list of them is the search's
    /// to-do list, from which placed operations are unlinked and relinked on backtracking.
    private struct Event {
        var operation: Int
        var isCall: Bool
        var previous = 0
        var next = 0
        /// For a call: the index of its completion event.
        var completion = 0
    }

    static func checkKey<M: SequentialModel>(_ model: M.Type, key: String, _ operations: [ClientOperation<M.Input, M.Output>]) -> KeyVerdict {
        let count = operations.count
        // Event 0 is the list's head. A completion at the same time as a call sorts after it, so
        // operations that touch in time count as concurrent (the lenient reading).
        var order: [(time: Int64, isCall: Bool, operation: Int)] = []
        for (index, operation) in operations.enumerated() {
            order.append((operation.call, true, index))
            order.append((operation.completion ?? Int64.max, false, index))
        }
        order.sort { ($0.time, $0.isCall ? 0 : 1, $0.operation) < ($1.time, $1.isCall ? 0 : 1, $1.operation) }
        var events = [Event(operation: -1, isCall: false)]
        var completionEvent = [Int](repeating: 0, count: count)
        for item in order {
            events.append(Event(operation: item.operation, isCall: item.isCall))
            if !item.isCall { completionEvent[item.operation] = events.count - 1 }
        }
        for index in events.indices {
            events[index].previous = index - 1
            events[index].next = index + 1 < events.count ? index + 1 : 0
            if events[index].isCall { events[index].completion = completionEvent[events[index].operation] }
        }
        events[0].previous = events.count - 1

        func unlink(_ index: Int) {
            events[events[index].previous].next = events[index].next
            events[events[index].next].previous = events[index].previous
        }
        func relink(_ index: Int) {
            events[events[index].previous].next = index
            events[events[index].next].previous = index
        }

        var placed = [UInt64](repeating: 0, count: (count + 63) / 64)
        var state = M.initial
        var stack: [Placement<M.State>] = []
        var visited: Set<Visited<M.State>> = []
        var steps = 0
        var deepest = 0
        var stuckAtDeepest: [Int] = []

        /// Places the operation of `callEvent` with the first choice from `first` on that leads
        /// somewhere new.
        func place(_ callEvent: Int, choices: [M.State], from first: Int, before: M.State) -> Bool {
            let operation = events[callEvent].operation
            for choice in first..<choices.count {
                steps += 1
                placed[operation / 64] |= 1 << UInt64(operation % 64)
                if visited.insert(Visited(placed: placed, state: choices[choice])).inserted {
                    stack.append(Placement(callEvent: callEvent, before: before, choices: choices, choice: choice))
                    state = choices[choice]
                    unlink(callEvent)
                    unlink(events[callEvent].completion)
                    return true
                }
                placed[operation / 64] &= ~(1 << UInt64(operation % 64))
            }
            return false
        }

        var cursor = events[0].next
        while events[0].next != 0 {
            if events[cursor].isCall {
                let operation = operations[events[cursor].operation]
                let choices = M.step(state, operation.input, operation.output)
                if place(cursor, choices: choices, from: 0, before: state) {
                    if stack.count > deepest {
                        deepest = stack.count
                        stuckAtDeepest = []
                    }
                    cursor = events[0].next
                } else {
                    cursor = events[cursor].next
                }
                continue
            }
            // A completion whose operation is not placed: everything placed since must move.
            if stack.count == deepest && !stuckAtDeepest.contains(events[cursor].operation) {
                stuckAtDeepest.append(events[cursor].operation)
            }
            guard let last = stack.popLast() else {
                return KeyVerdict(key: key, operations: count, linearizable: false, steps: steps,
                                  explanation: explain(M.self, operations, placedCount: deepest, stuck: stuckAtDeepest))
            }
            // Take the last placement back; try its other outcomes, else move on past it.
            let operation = events[last.callEvent].operation
            placed[operation / 64] &= ~(1 << UInt64(operation % 64))
            state = last.before
            relink(events[last.callEvent].completion)
            relink(last.callEvent)
            if place(last.callEvent, choices: last.choices, from: last.choice + 1, before: last.before) {
                cursor = events[0].next
            } else {
                cursor = events[last.callEvent].next
            }
        }
        return KeyVerdict(key: key, operations: count, linearizable: true, steps: steps, explanation: nil)
    }

    private static func explain<M: SequentialModel>(_ model: M.Type, _ operations: [ClientOperation<M.Input, M.Output>],
                                                    placedCount: Int, stuck: [Int]) -> String {
        func line(_ index: Int) -> String {
            let operation = operations[index]
            let completion = operation.completion.map(String.init) ?? "never"
            return "client \(operation.client) [\(operation.call), \(completion)] \(M.describe(operation.input, operation.output))"
        }
        var text = "no valid order: the longest placed \(placedCount) of \(operations.count) operations, then none of these could take effect:\n"
        text += stuck.sorted { operations[$0].call < operations[$1].call }.map { "  " + line($0) }.joined(separator: "\n")
        if operations.count <= 40 {
            text += "\nthe key's whole history, by call:\n"
            text += operations.indices.sorted { operations[$0].call < operations[$1].call }.map { "  " + line($0) }.joined(separator: "\n")
        }
        return text
    }
}

/// A search position already explored: which operations are placed, and the state they left.
private struct Visited<State: Hashable>: Hashable {
    var placed: [UInt64]
    var state: State
}

/// An operation placed in the ordering being built, with what it may be undone to.
private struct Placement<State> {
    var callEvent: Int
    var before: State
    var choices: [State]
    var choice: Int
}
