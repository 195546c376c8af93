import Foundation
import GRDB
import Testing
import TocsinCore
import TocsinStore
import TocsinTesting

/// Dedup without an index on the key: rows found by the numbers kept in memory with their keys.
@Suite struct JournalDedupTests {
    func entry(_ source: String, _ id: String) -> JournalEntry {
        JournalEntry(source: source, eventID: id, status: .actual, payload: Array("{\"id\":\"\(id)\"}".utf8))
    }

    /// A row whose stored key is another event's (what a 64-bit collision would look like: no two real events
    /// are known to collide) does not make that event a duplicate; the event, once stored, is one.
    @Test func aRowWithTheSameKeyButAnotherEventIsNotADuplicate() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { Fixtures.removeTemporary(dir) }
        let path = dir + "/journal.sqlite"
        let colliding = entry("sz.futian", "target")
        let key = dedupKey(source: colliding.source, id: colliding.eventID)
        do {
            let journal = try SQLiteJournal(path: path, sync: .normal)
            #expect(try journal.append([entry("sz.futian", "other")]) == [.accepted(seq: 1)])
            try journal.close()
        }
        // Row 1 now claims the target's key (and the keys are read back from the rows: the stored ones gone).
        let db = try DatabaseQueue(path: path)
        try db.write { db in
            try db.execute(sql: "UPDATE journal SET key = ? WHERE seq = 1", arguments: [key])
            try db.execute(sql: "DELETE FROM journal_keys")
        }
        try db.close()

        let journal = try SQLiteJournal(path: path, sync: .normal)
        // Within one batch: new, then a duplicate of the row just written (two rows under the key now).
        #expect(try journal.append([colliding, colliding]) == [.accepted(seq: 2), .duplicate])
        #expect(try journal.append([colliding]) == [.duplicate])
        try journal.close()
        // And after reopening (the keys read back from the rows). (Row 1's own event is not asked about: its
        // key, edited above, is no longer its hash, which only a real collision would make it.)
        let reopened = try SQLiteJournal(path: path, sync: .normal)
        #expect(try reopened.append([colliding, entry("sz.futian", "new")]) == [.duplicate, .accepted(seq: 3)])
        try reopened.close()
    }

    /// A journal written with the key index (before the eleventh round) opens without it and still knows its
    /// events.
    @Test func aJournalWithTheOldKeyIndexLosesTheIndexAndKeepsItsEvents() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { Fixtures.removeTemporary(dir) }
        let path = dir + "/journal.sqlite"
        let db = try DatabaseQueue(path: path)
        try db.write { db in
            try db.execute(sql: """
                CREATE TABLE journal (seq INTEGER PRIMARY KEY, key INTEGER NOT NULL, source TEXT NOT NULL,
                    event_id TEXT NOT NULL, status TEXT NOT NULL, payload BLOB NOT NULL);
                CREATE INDEX journal_key ON journal(key);
                CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
                """)
            for n in 1...20 {
                let e = entry("sz.nanshan", "old-\(n)")
                try db.execute(
                    sql: "INSERT INTO journal (seq, key, source, event_id, status, payload) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [n, dedupKey(source: e.source, id: e.eventID), e.source, e.eventID, "actual",
                                Data(e.payload)])
            }
        }
        try db.close()

        let journal = try SQLiteJournal(path: path, sync: .normal)
        let outcomes = try journal.append((15...25).map { entry("sz.nanshan", "old-\($0)") })
        #expect(outcomes == Array(repeating: .duplicate, count: 6) + (21...25).map { .accepted(seq: Int64($0)) })
        try journal.close()
        let check = try DatabaseQueue(path: path)
        let indexes = try check.read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'index'") }
        #expect(!indexes.contains("journal_key"))
        // The old rows' keys are stored for the next start with the new ones: every row once.
        #expect(try Self.storedKeys(check) == (1...25).map { n in
            dedupKey(source: "sz.nanshan", id: "old-\(n)")
        })
        try check.close()
    }

    /// Every stored key in the order of its row's number (rows covered twice or not at all show).
    static func storedKeys(_ db: DatabaseQueue) throws -> [Int64] {
        try db.read { db in
            var out: [Int64] = []
            for row in try Row.fetchAll(db, sql: "SELECT first, last, keys FROM journal_keys ORDER BY first") {
                let first: Int64 = row[0], last: Int64 = row[1], blob: Data = row[2]
                #expect(Int64(out.count) + 1 == first)
                #expect(blob.count == Int(last - first + 1) * 8)
                blob.withUnsafeBytes { b in
                    for i in 0..<(blob.count / 8) { out.append(Int64(littleEndian: b.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))) }
                }
            }
            return out
        }
    }

    /// A journal whose last rows were cut away (by hand) keeps taking events: the stored keys of the rows that are
    /// gone are dropped at start, and the numbers are given again.
    @Test func storedKeysOfRowsThatAreGoneAreDropped() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { Fixtures.removeTemporary(dir) }
        let path = dir + "/journal.sqlite"
        do {
            let journal = try SQLiteJournal(path: path, sync: .normal)
            _ = try journal.append((1...1000).map { entry("sz.futian", "a-\($0)") })
            _ = try journal.append((1...1000).map { entry("sz.futian", "b-\($0)") })
            try journal.close()
        }
        let db = try DatabaseQueue(path: path)
        try db.write { try $0.execute(sql: "DELETE FROM journal WHERE seq > 1000") }
        let journal = try SQLiteJournal(path: path, sync: .normal)
        let again = try journal.append((1...1000).map { entry("sz.futian", "c-\($0)") })
        #expect(again == (1001...2000).map { .accepted(seq: Int64($0)) })
        #expect(try journal.append([entry("sz.futian", "b-5"), entry("sz.futian", "c-5"), entry("sz.futian", "a-5")])
                == [.accepted(seq: 2001), .duplicate, .duplicate])
        try journal.close()
        #expect(try Self.storedKeys(db).count == 2001)
        try db.close()
    }

    /// Rows whose stored keys are lost (between two commits' blobs, and at the end) are read back from the rows
    /// at the next start, and their keys stored again; their events are still duplicates.
    @Test func rowsWithoutStoredKeysAreReadFromTheRows() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { Fixtures.removeTemporary(dir) }
        let path = dir + "/journal.sqlite"
        let ids = (1...5000).map { "e-\($0)" }
        do {
            let journal = try SQLiteJournal(path: path, sync: .normal)
            for start in stride(from: 0, to: ids.count, by: 1000) {
                _ = try journal.append(ids[start..<(start + 1000)].map { entry("sz.futian", $0) })
            }
            try journal.close()
        }
        let db = try DatabaseQueue(path: path)
        #expect(try Self.storedKeys(db) == ids.map { dedupKey(source: "sz.futian", id: $0) })
        try db.write { db in
            try db.execute(sql: "DELETE FROM journal_keys WHERE first = 2001 OR first = 4001")
        }
        let journal = try SQLiteJournal(path: path, sync: .normal)
        let again = try journal.append([entry("sz.futian", "e-2500"), entry("sz.futian", "e-4999"),
                                        entry("sz.futian", "e-1"), entry("sz.futian", "e-5001")])
        #expect(again == [.duplicate, .duplicate, .duplicate, .accepted(seq: 5001)])
        try journal.close()
        #expect(try Self.storedKeys(db) == (ids + ["e-5001"]).map { dedupKey(source: "sz.futian", id: $0) })
        try db.close()
    }
}
