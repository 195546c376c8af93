import Foundation
import TocsinCore

/// The events ingest has just journaled, as it decoded them, for the classify worker of the same process: it then
/// need not read each payload back from the journal and decode it a second time (about half of what classify
/// spends per event). The journal stays the record: classify reads it whenever the tap does not hold exactly the
/// events after its offset (at start, after a lag longer than the tap holds, with the workers in separate
/// processes, where there is no tap).
///
/// Holds a run of consecutive sequence numbers, oldest first, at most `capacity` events: a run that does not
/// continue the one held replaces it, and the oldest are dropped past the capacity.
public final class JournalTap: @unchecked Sendable {
    public let capacity: Int
    private let lock = NSLock()
    private var events: [(seq: Int64, event: Event)] = []
    private var head = 0
    /// How many events classify took from the tap, and how many it looked for there in vain (read from the
    /// journal instead): for tests and the benchmark.
    public private(set) var taken = 0
    public private(set) var missed = 0

    public init(capacity: Int = 16_384) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Adds the events of one commit, in journal order (accepted events only: their sequence numbers).
    public func publish(_ batch: [(seq: Int64, event: Event)]) {
        guard let first = batch.first else { return }
        lock.withLock {
            if let last = events.last, last.seq + 1 != first.seq || head == events.count {
                events.removeAll()
                head = 0
            }
            events.append(contentsOf: batch)
            let held = events.count - head
            if held > capacity { head += held - capacity }
            // Compact once the dropped part is as large as what is held.
            if head > 0 && head >= events.count - head {
                events.removeFirst(head)
                head = 0
            }
        }
    }

    /// Up to `limit` events from `seq + 1` on, when the tap holds `seq + 1`; nil otherwise. Events up to `seq`
    /// are dropped (they are processed).
    public func take(after seq: Int64, limit: Int) -> [(seq: Int64, event: Event)]? {
        lock.withLock {
            while head < events.count && events[head].seq <= seq { head += 1 }
            guard head < events.count, events[head].seq == seq + 1 else {
                missed += 1
                return nil
            }
            let end = min(events.count, head + limit)
            let out = Array(events[head..<end])
            head = end
            taken += out.count
            // Emptied: nothing stays allocated while ingest is idle.
            if head == events.count {
                events.removeAll()
                head = 0
            }
            return out
        }
    }
}
