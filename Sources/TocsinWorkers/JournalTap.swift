import Foundation
import TocsinCore

/// The events ingest has just journaled, as it decoded them, for the classify worker of the same process: it then
/// need not read each payload back from the journal and decode it a second time (about half of what classify
/// spent per event). The journal stays the record: classify reads it whenever the tap does not hold exactly the
/// events after its offset (at start, after a lag longer than the tap holds, when it hears of a commit before
/// ingest has handed it over, and with the workers in separate processes, where there is no tap).
///
/// Holds runs of consecutive sequence numbers as ingest's batches left them (no copy per event), oldest first, at
/// most about `capacity` events: a run that does not continue the ones held replaces them, and the oldest runs go
/// past the capacity.
public final class JournalTap: @unchecked Sendable {
    public let capacity: Int
    private let lock = NSLock()
    /// Runs in order, each starting where the one before ends, and how many events they hold.
    private var runs: [(first: Int64, events: [Event])] = []
    private var held = 0
    /// How many events classify took from the tap, and how many times it looked there in vain (and read the
    /// journal instead): for tests and the benchmark.
    public private(set) var taken = 0
    public private(set) var missed = 0

    public init(capacity: Int = 16_384) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Adds the events of one commit, numbered from `first` on (accepted events only, in journal order).
    public func publish(first: Int64, _ events: [Event]) {
        guard !events.isEmpty else { return }
        lock.withLock {
            if let last = runs.last, last.first + Int64(last.events.count) != first {
                runs.removeAll()
                held = 0
            }
            runs.append((first, events))
            held += events.count
            while held > capacity, runs.count > 1 {
                held -= runs.removeFirst().events.count
            }
        }
    }

    /// Up to `limit` events from `seq + 1` on, numbered from `first`, when the tap holds `seq + 1`; nil otherwise.
    /// Runs that end at or before `seq` are dropped (their events are processed). One run at a time: call again
    /// for the next.
    public func take(after seq: Int64, limit: Int) -> (first: Int64, events: ArraySlice<Event>)? {
        lock.withLock {
            while let run = runs.first, run.first + Int64(run.events.count) - 1 <= seq {
                held -= runs.removeFirst().events.count
            }
            guard let run = runs.first, run.first <= seq + 1 else {
                missed += 1
                return nil
            }
            let start = Int(seq + 1 - run.first)
            let end = min(run.events.count, start + limit)
            if end == run.events.count { held -= runs.removeFirst().events.count }
            taken += end - start
            return (seq + 1, run.events[start..<end])
        }
    }
}
