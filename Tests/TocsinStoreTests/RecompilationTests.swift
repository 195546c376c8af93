import Testing
import TocsinCore
@testable import TocsinStore
import TocsinTesting

/// Reads between a store's writes leave its prepared statements as they are: GRDB's read-only mode
/// (`PRAGMA query_only`) expired every statement of the connection, and each was compiled again on its next use.
@Suite struct RecompilationTests {
    @Test func workerStoreReadsAndWritesWithoutCompilingAgain() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { Fixtures.removeTemporary(dir) }
        let store = try WorkerStore(path: dir + "/worker.sqlite", sync: .normal, owner: true)
        let reader = try WorkerStore(path: dir + "/worker.sqlite", sync: .normal)
        for k in 0..<20 {
            try store.commit(offsets: ["journal": Int64(k)], state: ["s": [UInt8(k)]],
                             outbox: [("actual/task/street/sz.futian.", [UInt8(k)])])
            #expect(try store.outbox(after: Int64(k + 1), limit: 10).isEmpty)
            #expect(try reader.outbox(after: Int64(k)).map(\.body) == [[UInt8(k)]])
            #expect(try reader.outbox(after: 0, prefix: "actual/").count == k + 1)
            #expect(try reader.offset("journal") == Int64(k))
            #expect(try reader.stateValue("s") == [UInt8(k)])
            #expect(try reader.lastSeqOnDisk() == Int64(k + 1))
        }
        #expect(store.statementRecompilations() == 0)
        #expect(reader.statementRecompilations() == 0)
        try reader.close()
        try store.close()
    }

    @Test func journalReadsBetweenAppendsWithoutCompilingAgain() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { Fixtures.removeTemporary(dir) }
        let journal = try SQLiteJournal(path: dir + "/journal.sqlite", sync: .normal)
        for k in 0..<20 {
            let entry = JournalEntry(source: "sz.futian", eventID: "e\(k)", status: .actual, payload: [UInt8(k)])
            #expect(try journal.append([entry]) == [.accepted(seq: Int64(k + 1))])
            #expect(try journal.lastSeq() == Int64(k + 1))
            #expect(try journal.read(after: Int64(k), limit: 10).map(\.eventID) == ["e\(k)"])
            #expect(try journal.counters()["accepted"] == k + 1)
        }
        #expect(journal.statementRecompilations() == 0)
        try journal.close()
    }

    /// The classify worker's read: every payload after an offset, in order, where SQLite holds it.
    @Test func readerHandsEachPayloadInOrder() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { Fixtures.removeTemporary(dir) }
        let journal = try SQLiteJournal(path: dir + "/journal.sqlite", sync: .normal)
        let reader = try JournalReader(path: dir + "/journal.sqlite")
        #expect(try reader.forEachPayload(after: 0, limit: 10) { _, _ in Issue.record("no payload yet") } == nil)
        let payloads: [[UInt8]] = [Array("{\"id\":\"a\"}".utf8), [], Array(repeating: 0x7A, count: 70_000), [1]]
        _ = try journal.append(payloads.enumerated().map {
            JournalEntry(source: "sz", eventID: "e\($0.offset)", status: .actual, payload: $0.element)
        })
        var seen: [(Int64, [UInt8])] = []
        let last = try reader.forEachPayload(after: 1, limit: 2) { seen.append(($0, [UInt8]($1))) }
        #expect(last == 3)
        #expect(seen.map(\.0) == [2, 3] && seen.map(\.1) == [payloads[1], payloads[2]])
        let all = try reader.readPayloads(after: 0, limit: 10)
        #expect(all.map(\.seq) == [1, 2, 3, 4] && all.map(\.payload) == payloads)
        try reader.close()
        try journal.close()
    }
}
