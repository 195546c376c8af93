import Synchronization
import TocsinCore
import TocsinStore
import ZeroMQ

/// The events the ingest worker has just journaled, as records (`EventRecord`), for the classify worker of the same
/// process: classify then need not read each payload back from the journal and decode its JSON again (about half
/// of what it spends per event). The journal stays the record: classify reads it whenever the tap does not hold the
/// events right after its offset (at start, after a lag longer than the tap holds, after a write to the journal
/// that did not come through ingest, with the workers in separate processes, where there is no tap).
///
/// Ingest's journal writer reports every commit (`journaled(through:chunks:)`) as soon as it is durable, before the
/// ingest thread answers the platforms, and wakes the reader (`wake`); classify takes whole chunks. The tap knows
/// where the journal ends (from the journal's end when it was made, then from every commit): a reader at that end
/// waits for the next commit's chunk instead of reading the journal, where a commit is visible a moment before the
/// writer reports it. Nothing in a chunk is shared with ingest once published: classify frees two arrays per commit,
/// never an event's strings. At most `capacity` events are held: past it the oldest chunks are dropped, and the
/// reader reads those from the journal.
public final class JournalTap: Sendable {
    /// The records of consecutive journal sequence numbers, `first` on.
    public struct Chunk: Sendable {
        public let first: Int64
        /// Every record's bytes, one after the other; record `k` at `starts[k]..<starts[k + 1]`.
        let bytes: [UInt8]
        let starts: [Int32]

        public var count: Int { starts.count - 1 }
        public var last: Int64 { first + Int64(count) - 1 }

        init(first: Int64, bytes: [UInt8], starts: [Int32]) {
            precondition(starts.count >= 2 && starts[0] == 0, "a chunk holds at least one record")
            self.first = first
            self.bytes = bytes
            self.starts = starts
        }

        /// Record `k`'s bytes, lent to `body`.
        func withRecord<T>(_ k: Int, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
            try bytes.withUnsafeBytes { all in
                try body(UnsafeRawBufferPointer(rebasing: all[Int(starts[k])..<Int(starts[k + 1])]))
            }
        }
    }

    /// What the tap holds for a reader at `offset`.
    public enum Next: Sendable, Equatable {
        /// Nothing after the offset: the reader is at the journal's end.
        case nothing
        /// The journal holds events before the tap's first: read it up to and including `through`.
        case journal(through: Int64)
        /// The chunk holding `offset + 1`, from its record `from` on (taken out of the tap).
        case chunk(Chunk, from: Int)

        public static func == (a: Next, b: Next) -> Bool {
            switch (a, b) {
            case (.nothing, .nothing): true
            case (.journal(let x), .journal(let y)): x == y
            case (.chunk(let c, let i), .chunk(let d, let j)): c.first == d.first && c.count == d.count && i == j
            default: false
            }
        }
    }

    private struct State {
        var chunks: [Chunk] = []
        var head = 0
        var held = 0
        var taken = 0
        var dropped = 0
        /// The journal's last sequence number as far as the tap knows.
        var end: Int64
    }

    public let capacity: Int
    private let state: Mutex<State>
    /// Signalled after every report: the reader polls its descriptor.
    public let wake: WakeUp

    /// `end`: the journal's last sequence number now (events before the tap are read from the journal).
    public init(end: Int64, capacity: Int = 16_384) throws {
        precondition(capacity > 0)
        self.capacity = capacity
        state = Mutex(State(end: end))
        wake = try WakeUp()
    }

    /// A commit: the journal now ends at `last`; `chunks` are the records of its events (consecutive numbers, none
    /// when ingest made none). Drops the oldest chunks past the capacity.
    public func journaled(through last: Int64, chunks: [Chunk]) {
        state.withLock { s in
            s.end = max(s.end, last)
            for c in chunks { add(c, &s) }
        }
        wake.signal()
    }

    private func add(_ chunk: Chunk, _ s: inout State) {
        s.chunks.append(chunk)
        s.held += chunk.count
        while s.held > capacity, s.head < s.chunks.count - 1 {
            s.held -= s.chunks[s.head].count
            s.dropped += s.chunks[s.head].count
            s.head += 1
        }
        compact(&s)
    }

    /// What to read after `offset` (the last sequence number the reader applied).
    public func next(after offset: Int64) -> Next {
        state.withLock { s in
            while s.head < s.chunks.count, s.chunks[s.head].last <= offset {
                s.held -= s.chunks[s.head].count
                s.head += 1
            }
            defer { compact(&s) }
            guard s.head < s.chunks.count else { return offset < s.end ? .journal(through: s.end) : .nothing }
            let c = s.chunks[s.head]
            if c.first > offset + 1 { return .journal(through: c.first - 1) }
            s.held -= c.count
            s.head += 1
            let from = Int(offset + 1 - c.first)
            s.taken += c.count - from
            return .chunk(c, from: from)
        }
    }

    /// Events handed to the reader, and events dropped unread (past the capacity), since start.
    public var counts: (taken: Int, dropped: Int) { state.withLock { ($0.taken, $0.dropped) } }

    private func compact(_ s: inout State) {
        if s.head == s.chunks.count {
            s.chunks.removeAll()
            s.head = 0
        } else if s.head > 16 && s.head * 2 > s.chunks.count {
            s.chunks.removeFirst(s.head)
            s.head = 0
        }
    }
}

/// The records of a batch on its way to the journal, one per journal entry, in order (ingest side).
struct TapRecords {
    var bytes: [UInt8] = []
    var starts: [Int32] = [0]

    var count: Int { starts.count - 1 }

    mutating func append(_ event: Event) {
        EventRecord.append(event, to: &bytes)
        starts.append(Int32(bytes.count))
    }

    /// The chunks of the records whose entries got a sequence number (accepted; not duplicates), split where the
    /// numbers are not consecutive.
    func chunks(outcomes: [AppendOutcome]) -> [JournalTap.Chunk] {
        precondition(outcomes.count == count, "one outcome per record")
        var out: [JournalTap.Chunk] = []
        var first: Int64 = 0
        var bytes: [UInt8] = []
        var starts: [Int32] = [0]
        func flush() {
            if starts.count > 1 { out.append(JournalTap.Chunk(first: first, bytes: bytes, starts: starts)) }
            bytes = []
            starts = [0]
        }
        // The common case, every entry accepted with consecutive numbers: the batch's arrays as they are.
        if case .accepted(let s0)? = outcomes.first,
           outcomes.indices.allSatisfy({ i in
               if case .accepted(let s) = outcomes[i] { return s == s0 + Int64(i) }
               return false
           })
        {
            return [JournalTap.Chunk(first: s0, bytes: self.bytes, starts: self.starts)]
        }
        var next: Int64 = 0
        for (k, outcome) in outcomes.enumerated() {
            guard case .accepted(let seq) = outcome else { continue }
            if starts.count > 1 && seq != next { flush() }
            if starts.count == 1 { first = seq }
            bytes.append(contentsOf: self.bytes[Int(self.starts[k])..<Int(self.starts[k + 1])])
            starts.append(Int32(bytes.count))
            next = seq + 1
        }
        flush()
        return out
    }
}
