import Foundation
import GRDB
import GRDBSQLite
import TocsinCore

/// One message a worker produced, in its outbox: the next worker (or a feed subscriber) reads these in order.
public struct OutboxMessage: Sendable, Hashable {
    /// 1, 2, 3, ... never reused. For the dispatch worker this is the feed's `seq`.
    public var seq: Int64
    public var topic: String
    public var body: [UInt8]

    public init(seq: Int64, topic: String, body: [UInt8]) {
        self.seq = seq
        self.topic = topic
        self.body = body
    }
}

/// A downstream worker's durable state: its input offset, its state rows and its outbox, always changed
/// together in one transaction. After `kill -9` the worker resumes from exactly the offset whose effects
/// (state and output) are stored: nothing is lost, nothing is produced twice.
public final class WorkerStore {
    private let db: DatabaseQueue
    private var lastSeq: Int64
    public let path: String
    /// The writer's checkpoints, on a thread of their own (see `Checkpointer`).
    private let checkpointer: Checkpointer?
    /// The owner's WAL rewind after its commits (see `WALRewind`).
    private let rewind: WALRewind?

    /// `owner`: this connection is the store's writer (the worker's own store, not another worker's it reads):
    /// it then checkpoints the WAL on a thread of its own instead of inside the commit that crosses 1,000 pages,
    /// which stalled the worker for milliseconds about once a second at 10,000 events/s (the p99 of a warning).
    /// `walRewindFrames`: the owner's WAL size, in pages, past which it rewinds it after a commit (`WALRewind`).
    public init(path: String, sync: SyncMode = .full, owner: Bool = false,
                walRewindFrames: Int32 = WALRewind.defaultLimit) throws {
        self.path = path
        // A reader of another worker's store reads its outbox's newest pages once each: a small page cache.
        db = try openWAL(path: path, sync: sync, cacheKiB: owner ? 1024 : 256, autoCheckpoint: !owner)
        try db.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS offsets (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, body BLOB NOT NULL);
                """)
        }
        lastSeq = try db.readStatement { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM outbox") ?? 0 }
        rewind = owner ? try WALRewind(on: db, limit: walRewindFrames) : nil
        // Last: a store that failed to open starts no thread.
        checkpointer = owner ? try Checkpointer(path: path, sync: sync) : nil
    }

    /// The highest outbox sequence number, 0 when empty.
    public var lastOutboxSeq: Int64 { lastSeq }

    /// Stores, in one transaction: new input offsets, state rows to upsert (or delete, with nil), and new outbox
    /// messages, which get the next sequence numbers. Returns the stored messages.
    @discardableResult
    public func commit(offsets: [String: Int64], state: [String: [UInt8]?], outbox: [(topic: String, body: [UInt8])])
        throws -> [OutboxMessage]
    {
        var seq = lastSeq
        var stored: [OutboxMessage] = []
        stored.reserveCapacity(outbox.count)
        try db.inTransaction(.immediate) { db in
            // Values are bound with the SQLite C API, straight from the arrays: through GRDB's arguments every row
            // cost a `Data` copy of its bytes and the boxing of each value.
            let setOffset = try db.cachedStatement(
                sql: "INSERT INTO offsets (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value")
            for (name, value) in offsets {
                try Self.run(setOffset) { s in
                    bind(s, 1, name)
                    sqlite3_bind_int64(s, 2, value)
                }
            }
            let setState = try db.cachedStatement(
                sql: "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
            let deleteState = try db.cachedStatement(sql: "DELETE FROM state WHERE key = ?")
            for (key, value) in state {
                if let value {
                    try Self.run(setState) { s in
                        bind(s, 1, key)
                        bind(s, 2, blob: value)
                    }
                } else {
                    try Self.run(deleteState) { s in bind(s, 1, key) }
                }
            }
            let insert = try db.cachedStatement(sql: "INSERT INTO outbox (seq, topic, body) VALUES (?, ?, ?)")
            for m in outbox {
                seq += 1
                try Self.run(insert) { s in
                    sqlite3_bind_int64(s, 1, seq)
                    bind(s, 2, m.topic)
                    bind(s, 3, blob: m.body)
                }
                stored.append(OutboxMessage(seq: seq, topic: m.topic, body: m.body))
            }
            return .commit
        }
        lastSeq = seq
        rewind?.afterCommit(db)
        return stored
    }

    /// The highest outbox sequence number as stored now (another connection, e.g. another process, may be
    /// writing this store).
    public func lastSeqOnDisk() throws -> Int64 {
        try db.readStatement { db in try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) FROM outbox")) ?? 0 }
    }

    public func offset(_ name: String) throws -> Int64 {
        try db.readStatement { db in try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM offsets WHERE name = ?"), arguments: [name]) ?? 0 }
    }

    /// Every state row, for restoring the worker.
    public func loadState() throws -> [String: [UInt8]] {
        try db.readStatement { db in
            var out: [String: [UInt8]] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT key, value FROM state")
            while let row = try rows.next() {
                let data: Data = row[1]
                out[row[0]] = [UInt8](data)
            }
            return out
        }
    }

    /// One state row, read now (another process may be writing this store).
    public func stateValue(_ key: String) throws -> [UInt8]? {
        try db.readStatement { db in
            try Data.fetchOne(db.cachedStatement(sql: "SELECT value FROM state WHERE key = ?"), arguments: [key]).map { [UInt8]($0) }
        }
    }

    /// Up to `limit` outbox messages after `seq` whose topic starts with `prefix`, in order.
    public func outbox(after seq: Int64, prefix: String = "", limit: Int = 10_000) throws -> [OutboxMessage] {
        try db.readStatement { db in
            let statement: Statement
            if prefix.isEmpty {
                statement = try db.cachedStatement(sql: "SELECT seq, topic, body FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?")
                let s = statement.sqliteStatement
                sqlite3_reset(s)
                sqlite3_bind_int64(s, 1, seq)
                sqlite3_bind_int64(s, 2, Int64(limit))
            } else {
                statement = try db.cachedStatement(
                    sql: "SELECT seq, topic, body FROM outbox WHERE seq > ? AND substr(topic, 1, ?) = ? ORDER BY seq LIMIT ?")
                let s = statement.sqliteStatement
                sqlite3_reset(s)
                sqlite3_bind_int64(s, 1, seq)
                sqlite3_bind_int64(s, 2, Int64(prefix.utf8.count))
                bind(s, 3, prefix)
                sqlite3_bind_int64(s, 4, Int64(limit))
            }
            return try Self.messages(of: statement)
        }
    }

    /// The rows of `statement` (`seq, topic, body`, arguments bound) read with the SQLite C API: through GRDB's
    /// rows each message cost a `Row`, a `Data` and a copy of it, about 3,000 instructions (a fifth of them per
    /// task that dispatch relays, and as much for each message the plan worker reads).
    private static func messages(of statement: Statement) throws -> [OutboxMessage] {
        let s = statement.sqliteStatement
        defer { sqlite3_reset(s) }
        var out: [OutboxMessage] = []
        while true {
            let rc = sqlite3_step(s)
            if rc == SQLITE_DONE { return out }
            guard rc == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(sqlite3_db_handle(s))))
            }
            let topicCount = Int(sqlite3_column_bytes(s, 1))
            let topic = sqlite3_column_text(s, 1).map {
                String(decoding: UnsafeBufferPointer(start: $0, count: topicCount), as: UTF8.self)
            } ?? ""
            // (`column_blob` before `column_bytes`: the documented order for a blob.)
            let blob = sqlite3_column_blob(s, 2)
            let bodyCount = Int(sqlite3_column_bytes(s, 2))
            let body = blob.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: bodyCount)) } ?? []
            out.append(OutboxMessage(seq: sqlite3_column_int64(s, 0), topic: topic, body: body))
        }
    }

    /// The outbox message numbered `seq`, if there is one.
    public func outboxMessage(_ seq: Int64) throws -> OutboxMessage? {
        try outbox(after: seq - 1, limit: 1).first { $0.seq == seq }
    }

    /// How often this connection's statements were compiled again (`DatabaseQueue.recompilations`).
    func statementRecompilations() -> Int { db.recompilations() }

    deinit { checkpointer?.stop() }

    /// How many times the owner rewound its WAL (`WALRewind.rewinds`).
    public var walRewinds: Int { rewind?.rewinds ?? 0 }

    public func close() throws {
        checkpointer?.stop()
        try db.close()
    }

    /// Resets `statement`, binds its parameters with `bind` and steps it once (a statement that returns no row).
    private static func run(_ statement: Statement, _ bind: (OpaquePointer?) -> Void) throws {
        let s = statement.sqliteStatement
        sqlite3_reset(s)
        bind(s)
        let rc = sqlite3_step(s)
        sqlite3_reset(s)
        guard rc == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(sqlite3_db_handle(s))))
        }
    }
}

/// Binds `text` (SQLite copies it).
private func bind(_ s: OpaquePointer?, _ index: Int32, _ text: String) {
    sqlite3_bind_text(s, index, text, -1, SQLITE_TRANSIENT)
}

/// Binds `bytes` as a blob (SQLite copies them).
private func bind(_ s: OpaquePointer?, _ index: Int32, blob bytes: [UInt8]) {
    _ = bytes.withUnsafeBytes { b in
        if let base = b.baseAddress, b.count > 0 {
            sqlite3_bind_blob(s, index, base, Int32(b.count), SQLITE_TRANSIENT)
        } else {
            sqlite3_bind_zeroblob(s, index, 0)
        }
    }
}

private let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
