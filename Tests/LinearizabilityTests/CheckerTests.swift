import Linearizability
import Simulation
import Testing

/// The checker against histories whose verdict is known by construction.
@Suite struct CheckerTests {
    typealias RegisterOp = ClientOperation<ZnodeRegister.Input, ZnodeRegister.Output>

    private static func op(_ client: Int, _ input: ZnodeRegister.Input, _ output: ZnodeRegister.Output?,
                           _ call: Int64, _ completion: Int64?, key: String = "/r") -> RegisterOp {
        ClientOperation(client: client, key: key, input: input, output: output, call: call, completion: completion)
    }

    private static func linearizable(_ history: [RegisterOp]) -> Bool {
        LinearizabilityChecker.check(ZnodeRegister.self, history).allSatisfy(\.linearizable)
    }

    @Test func concurrentWritesMayTakeEffectInEitherOrder() {
        let history = [
            Self.op(1, .create("a"), .ok(version: 0), 0, 1),
            Self.op(1, .write("b"), .ok(version: 1), 2, 10),
            Self.op(2, .write("c"), .ok(version: 2), 3, 9),
            Self.op(3, .read, .read(value: "b", version: 2), 11, 12),
        ]
        #expect(!Self.linearizable(history), "the version says c came second, so b cannot be read after both")
        var swapped = history
        swapped[1].output = .ok(version: 2)
        swapped[2].output = .ok(version: 1)
        #expect(Self.linearizable(swapped))
    }

    @Test func aStaleReadAfterACompletedWriteIsAViolation() {
        let history = [
            Self.op(1, .create("old"), .ok(version: 0), 0, 1),
            Self.op(1, .write("new"), .ok(version: 1), 2, 3),
            Self.op(2, .read, .read(value: "old", version: 0), 4, 5),
        ]
        let verdict = LinearizabilityChecker.check(ZnodeRegister.self, history)[0]
        #expect(!verdict.linearizable)
        #expect(verdict.explanation?.contains("read => old v0") == true)
        // Overlapping the write, the same read is fine.
        var overlapping = history
        overlapping[2].call = 2
        #expect(Self.linearizable(overlapping))
    }

    @Test func aLostAcknowledgedWriteIsAViolation() {
        let history = [
            Self.op(1, .create("0"), .ok(version: 0), 0, 1),
            Self.op(1, .compareAndSet(expectedVersion: 0, "1"), .ok(version: 1), 2, 3),
            Self.op(2, .compareAndSet(expectedVersion: 0, "x"), .ok(version: 1), 4, 5),
        ]
        #expect(!Self.linearizable(history), "two CAS from version 0 cannot both succeed")
    }

    @Test func anUnknownOutcomeMayHaveHappenedOrNot() {
        let happened = [
            Self.op(1, .create("0"), .ok(version: 0), 0, 1),
            Self.op(1, .write("lost?"), nil, 2, nil),
            Self.op(2, .read, .read(value: "lost?", version: 1), 5, 6),
        ]
        #expect(Self.linearizable(happened))
        var didNot = happened
        didNot[2].output = .read(value: "0", version: 0)
        #expect(Self.linearizable(didNot))
        // But it cannot take effect before it was sent.
        var early = happened
        early[2].call = 0
        early[2].completion = 1
        early[0].call = -2
        early[0].completion = -1
        #expect(!Self.linearizable(early))
        // Nor can it be seen and then unseen.
        let flicker = happened + [Self.op(3, .read, .read(value: "0", version: 0), 7, 8)]
        #expect(!Self.linearizable(flicker))
    }

    @Test func keysAreCheckedApart() {
        let history = [
            Self.op(1, .create("a"), .ok(version: 0), 0, 1, key: "/a"),
            Self.op(1, .create("b"), .ok(version: 0), 0, 1, key: "/b"),
            Self.op(2, .read, .read(value: nil, version: nil), 2, 3, key: "/b"),
        ]
        let verdicts = LinearizabilityChecker.check(ZnodeRegister.self, history)
        #expect(verdicts.map(\.key) == ["/a", "/b"])
        #expect(verdicts.map(\.linearizable) == [true, false])
    }

    @Test func sequenceNumbersMustBeUniqueAndFollowEffectOrder() {
        func creates(_ outputs: [(Int32?, Int64, Int64?)]) -> Bool {
            let history = outputs.enumerated().map { index, item in
                ClientOperation<SequentialCreates.Input, SequentialCreates.Output>(
                    client: index, key: "/q", input: .create, output: item.0, call: item.1, completion: item.2)
            }
            return LinearizabilityChecker.check(SequentialCreates.self, history).allSatisfy(\.linearizable)
        }
        #expect(creates([(0, 0, 1), (1, 2, 3), (3, 4, 5)]), "numbers may skip")
        #expect(!creates([(0, 0, 1), (0, 2, 3)]), "a number given twice")
        #expect(!creates([(5, 0, 1), (4, 2, 3)]), "a later create with a smaller number")
        #expect(creates([(5, 0, 3), (4, 1, 2)]), "overlapping creates may take effect in either order")
        #expect(creates([(0, 0, 1), (nil, 1, nil), (1, 2, 3)]))
    }

    /// Histories produced by running random operations against the model one at a time, with
    /// call and completion times stretched around each effect so that many overlap: every one
    /// is linearizable. Changing one read's output to a value never written must be caught.
    @Test func randomSequentialExecutionsAreLinearizableAndTamperingIsCaught() {
        var generator = SimRandom(seed: 7)  // seeded, so a failing round replays
        var checkedSteps = 0
        for round in 0..<200 {
            var state = ZnodeRegister.initial
            var history: [RegisterOp] = []
            for index in 0..<40 {
                let input: ZnodeRegister.Input = switch generator.next() % 5 {
                case 0: .read
                case 1: .create("v\(index)")
                case 2: .write("v\(index)")
                case 3: .compareAndSet(expectedVersion: Int32(generator.next() % 3), "v\(index)")
                default: .delete(expectedVersion: nil)
                }
                let outputs = Self.outputs(state, input)
                let (output, after) = outputs[Int(generator.next() % UInt64(outputs.count))]
                state = after
                // The effect happens at time 10 * index; the op spans up to 25 either side of it.
                let effect = Int64(index * 10)
                let unknown = generator.next() % 10 == 0
                history.append(Self.op(Int(generator.next() % 4), input, unknown ? nil : output,
                                       effect - Int64(generator.next() % 25), unknown ? nil : effect + Int64(generator.next() % 25)))
            }
            let verdict = LinearizabilityChecker.check(ZnodeRegister.self, history)[0]
            #expect(verdict.linearizable, "round \(round)")
            checkedSteps += verdict.steps
            if let read = history.firstIndex(where: { if case .read(_?, _) = $0.output { true } else { false } }) {
                var tampered = history
                tampered[read].output = .read(value: "never written", version: 0)
                #expect(!Self.linearizable(tampered), "round \(round)")
            }
        }
        #expect(checkedSteps > 200 * 40)
    }

    /// What `input` outputs from `state` when it takes effect, and the state after (the model's
    /// own transitions, found by asking it about each candidate output).
    private static func outputs(_ state: ZnodeRegister.State, _ input: ZnodeRegister.Input) -> [(ZnodeRegister.Output, ZnodeRegister.State)] {
        let candidates: [ZnodeRegister.Output] = [
            .read(value: state.exists ? state.value : nil, version: state.exists ? state.version : nil),
            .ok(version: 0), .ok(version: state.version + 1), .ok(version: nil), .noNode, .nodeExists, .badVersion,
        ]
        return candidates.flatMap { output in ZnodeRegister.step(state, input, output).map { (output, $0) } }
    }
}
