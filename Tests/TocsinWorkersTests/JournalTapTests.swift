import Foundation
import Testing
import TocsinCore
import TocsinStore
import TocsinTesting
@testable import TocsinWorkers

/// `JournalTap`: the records ingest hands the classify worker of its process, and what classify reads from the
/// journal instead whenever the tap does not hold the events right after its offset.
@Suite struct JournalTapTests {
    static let futian = AreaPath("sz.futian")!

    static func event(_ k: Int) -> Event {
        Event(id: "e-\(k)", source: futian, kind: .sensor, type: "water_level", time: Timestamp(micros: Int64(k)),
              location: GeoPoint(lat: 22.5, lon: 114), values: ["level_m": Double(k)])
    }

    /// The records of events `range`, with these outcomes.
    static func chunks(_ range: Range<Int>, _ outcomes: [AppendOutcome]) -> [JournalTap.Chunk] {
        var records = TapRecords()
        for k in range { records.append(event(k)) }
        return records.chunks(outcomes: outcomes)
    }

    static func ids(_ c: JournalTap.Chunk) -> [String] {
        let decoder = EventDecoder(catalog: Fixtures.shippedConfig.catalog, areas: Fixtures.shippedConfig.areas)
        return (0..<c.count).map { k in c.withRecord(k) { decoder.event(fromRecord: $0)?.id ?? "?" } }
    }

    @Test func aBatchBecomesChunksOfConsecutiveNumbers() {
        // All accepted, consecutive: one chunk, the batch's own arrays.
        let all = Self.chunks(0..<3, [.accepted(seq: 10), .accepted(seq: 11), .accepted(seq: 12)])
        #expect(all.map(\.first) == [10] && all.map(\.count) == [3])
        #expect(Self.ids(all[0]) == ["e-0", "e-1", "e-2"])
        // Duplicates get no number and no record; the others stay one run.
        let dup = Self.chunks(0..<4, [.accepted(seq: 5), .duplicate, .accepted(seq: 6), .duplicate])
        #expect(dup.map(\.first) == [5] && dup.map(\.count) == [2])
        #expect(Self.ids(dup[0]) == ["e-0", "e-2"])
        // A gap in the numbers splits the run.
        let split = Self.chunks(0..<3, [.accepted(seq: 1), .accepted(seq: 3), .accepted(seq: 4)])
        #expect(split.map(\.first) == [1, 3] && split.map(\.count) == [1, 2])
        #expect(split.map(Self.ids) == [["e-0"], ["e-1", "e-2"]])
        #expect(Self.chunks(0..<2, [.duplicate, .duplicate]).isEmpty)
    }

    @Test func nextTellsWhereToRead() throws {
        // Made when the journal ended at 4: a reader behind that reads the journal; at it, waits.
        let tap = try JournalTap(end: 4, capacity: 100)
        #expect(tap.next(after: 0) == .journal(through: 4))
        #expect(tap.next(after: 4) == .nothing)
        tap.journaled(through: 7, chunks: Self.chunks(0..<3, [.accepted(seq: 5), .accepted(seq: 6), .accepted(seq: 7)]))
        tap.journaled(through: 9, chunks: Self.chunks(3..<5, [.accepted(seq: 8), .accepted(seq: 9)]))
        // Behind the tap: the journal up to the tap's first event.
        #expect(tap.next(after: 2) == .journal(through: 4))
        // Inside a chunk: the chunk from there on, taken out of the tap.
        guard case .chunk(let c, let from) = tap.next(after: 5) else {
            Issue.record("expected a chunk")
            return
        }
        #expect(c.first == 5 && from == 1 && Array(Self.ids(c)[from...]) == ["e-1", "e-2"])
        guard case .chunk(let d, let from2) = tap.next(after: 7) else {
            Issue.record("expected a chunk")
            return
        }
        #expect(d.first == 8 && from2 == 0)
        #expect(tap.counts.taken == 4)
        // Read past everything held: nothing left.
        #expect(tap.next(after: 9) == .nothing)
        tap.journaled(through: 10, chunks: Self.chunks(0..<1, [.accepted(seq: 10)]))
        #expect(tap.next(after: 20) == .nothing)
        // A commit reported without records (none made): the reader reads it from the journal.
        tap.journaled(through: 23, chunks: [])
        #expect(tap.next(after: 20) == .journal(through: 23))
        #expect(tap.next(after: 23) == .nothing)
    }

    @Test func dropsTheOldestPastItsCapacity() throws {
        let tap = try JournalTap(end: 0, capacity: 4)
        for start in stride(from: 1, to: 9, by: 2) {
            tap.journaled(through: Int64(start + 1),
                          chunks: Self.chunks(0..<2, [.accepted(seq: Int64(start)), .accepted(seq: Int64(start + 1))]))
        }
        // Events 1-4 dropped: the reader at 0 goes to the journal for them, then takes 5-8 from the tap.
        #expect(tap.counts.dropped == 4)
        #expect(tap.next(after: 0) == .journal(through: 4))
        guard case .chunk(let c, _) = tap.next(after: 4) else {
            Issue.record("expected a chunk")
            return
        }
        #expect(c.first == 5)
    }

    /// In a pipeline with every worker, classify takes every event from the tap; incidents come out as without it
    /// (the other tests of the pipeline run with the tap too).
    @Test func thePipelineClassifiesFromTheTap() throws {
        let p = try TestPipeline()
        defer { p.stop() }
        let center = try CommandCenter(p, subscribe: "actual/warning/")
        defer { center.close() }
        let client = try p.client()
        defer { client.close() }
        let now = nowText()
        for k in 0..<20 {
            let reply = try #require(try client.request(TestEvents.water(id: "w-\(k)", level: 3.5, time: now)))
            #expect(reply["status"] == "accepted")
        }
        try center.waitIdle()
        let counts = try #require(p.pipeline.journalTapCounts)
        #expect(counts.taken == 20 && counts.dropped == 0, "\(counts)")
        let incidents = try center.request(#"{"op":"incidents"}"#)
        let list = try #require(incidents["incidents"]?.arrayValue)
        #expect(list.count == 1)
        #expect(list.first?["events"]?["events"]?.int == 20)
    }
}

/// The journal's writer thread hands each batch back before the journal's upkeep between commits (the SQLite
/// journal's WAL rewind, with its syncs), so that ingest answers the platforms meanwhile.
@Suite struct JournalWriterUpkeepTests {
    /// A journal that numbers what it is given and holds `betweenCommits` until the test lets it go.
    final class HeldJournal: Journal, @unchecked Sendable {
        let upkeepStarted = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        private var seq: Int64 = 0
        private let lock = NSLock()
        private var ended = 0
        /// How many upkeeps have returned.
        var upkeepsEnded: Int { lock.withLock { ended } }

        func append(_ entries: [JournalEntry], counts: [String: Int]) throws -> [AppendOutcome] {
            entries.map { _ in
                seq += 1
                return .accepted(seq: seq)
            }
        }
        func counters() throws -> [String: Int] { [:] }
        func read(after seq: Int64, limit: Int) throws -> [JournalRecord] { [] }
        func lastSeq() throws -> Int64 { seq }
        func close() throws {}
        func betweenCommits() {
            upkeepStarted.signal()
            _ = release.wait(timeout: .now() + 10)
            lock.withLock { ended += 1 }
        }
    }

    @Test func aBatchIsAnsweredBeforeTheUpkeepEnds() throws {
        let journal = HeldJournal()
        let writer = try JournalWriter(journal: journal)
        var batch = IngestWorker.Batch()
        batch.entries = (0..<3).map {
            JournalEntry(source: "sz.futian", eventID: "u-\($0)", status: .actual, payload: Array("{}".utf8))
        }
        writer.submit(batch)
        let done = writer.waitCommitted()
        #expect(done?.outcomes == [.accepted(seq: 1), .accepted(seq: 2), .accepted(seq: 3)])
        // The batch came back while the upkeep after it, started, is still held.
        #expect(journal.upkeepStarted.wait(timeout: .now() + 10) == .success)
        #expect(journal.upkeepsEnded == 0)
        journal.release.signal()
        // The next batch goes through once the upkeep is over.
        writer.submit(batch)
        #expect(writer.waitCommitted()?.outcomes.count == 3)
        journal.release.signal()
        writer.stop()
    }
}
