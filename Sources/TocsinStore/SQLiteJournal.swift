import Foundation
import GRDB
import GRDBSQLite
import TocsinCore

/// How the SQLite journal syncs (see `Durability` in TocsinConfig; the store does not depend on config).
public enum SyncMode: String, Sendable {
    /// `synchronous=FULL`: every commit is fsynced; survives power loss.
    case full
    /// `synchronous=NORMAL` in WAL mode: survives a crash of the process, not of the machine.
    case normal
}

/// The journal in SQLite (WAL mode), through GRDB.
///
/// Dedup: every row stores a 64-bit hash of `(source, id)`. An in-memory table of those hashes, each with its
/// row's number, answers "new" without touching the disk for the common case; a hit is confirmed by reading the
/// row by its number (SQLite's row id) and comparing the exact source and id, so a hash collision can never turn
/// a new event into a duplicate. There is no SQLite index on the hash: its random inserts dirtied a page of the
/// index for nearly every event of a commit, which doubled SQLite's work per event and made it grow with the
/// journal (1.8 against 2.8 us per event up to a million rows; docs/performance.md, eleventh round). At start the
/// table is filled from the keys each commit stored in one blob row (`journal_keys`; see `loadKeys`).
/// (The issue that asked for the journal measured a UNIQUE index on random text ids cutting inserts from 194,000
/// to 32,000 rows/s at 500,000 rows.)
public final class SQLiteJournal: Journal {
    private let db: DatabaseQueue
    private let checkpointer: Checkpointer
    private let rewind: WALRewind
    private var keys: DedupKeys
    private var last: Int64
    public let path: String

    /// Opens (creating when needed) the journal at `path`. `vfs` names a registered SQLite VFS to open it
    /// through instead of the default (the power-loss tests' shim); it needs URI filenames, which Debian's
    /// SQLite enables (`SQLITE_USE_URI`). `walRewindFrames`: the WAL's size, in pages, past which the writer
    /// rewinds it (`WALRewind`).
    public init(path: String, sync: SyncMode = .full, vfs: String? = nil,
                walRewindFrames: Int32 = WALRewind.defaultLimit) throws {
        self.path = path
        db = try openWAL(path: path, sync: sync, cacheKiB: 4096, autoCheckpoint: false, vfs: vfs)
        try db.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS journal (
                    seq INTEGER PRIMARY KEY,
                    key INTEGER NOT NULL,
                    source TEXT NOT NULL,
                    event_id TEXT NOT NULL,
                    status TEXT NOT NULL,
                    payload BLOB NOT NULL
                );
                DROP INDEX IF EXISTS journal_key;
                CREATE TABLE IF NOT EXISTS journal_keys (last INTEGER PRIMARY KEY, first INTEGER NOT NULL, keys BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
                """)
        }
        checkpointer = try Checkpointer(path: path, sync: sync, vfs: vfs)
        rewind = try WALRewind(on: db, limit: walRewindFrames)
        last = try db.readStatement { db in
            try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM journal") ?? 0
        }
        // Rows are numbered from 1 and never deleted: `last` of them.
        keys = DedupKeys(minimumCapacity: Int(last))
        try loadKeys()
    }

    /// Fills `keys` for rows 1 ... `last`: from `journal_keys` (each commit's keys in one blob, 8 bytes a row:
    /// 16 MB for two million events, the journal opened in 0.1 s), and from the rows themselves for any row it
    /// does not cover (a journal written before it existed: about 0.5 s per million rows, as the rows hold the
    /// payloads), whose keys are then stored there too, so that the next start reads only blobs.
    private func loadKeys() throws {
        // Blob rows past the last row (the journal's rows cut back by hand, say) describe no row, and one of them
        // would refuse the next commit's blob row its number.
        let beyond = last
        try db.write { try $0.execute(sql: "DELETE FROM journal_keys WHERE last > ?", arguments: [beyond]) }
        var covered: [ClosedRange<Int64>] = []
        try db.readStatement { db in
            let st = try db.makeStatement(sql: "SELECT first, last, keys FROM journal_keys ORDER BY last")
            let s = st.sqliteStatement
            while try Self.step(s) {
                let first = sqlite3_column_int64(s, 0), last = sqlite3_column_int64(s, 1)
                let n = Int(sqlite3_column_bytes(s, 2))
                guard first >= 1, last >= first, n == Int(last - first + 1) * 8, let blob = sqlite3_column_blob(s, 2)
                else { continue }
                for i in 0..<Int(last - first + 1) {
                    keys.insert(Int64(littleEndian: blob.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)),
                                seq: first + Int64(i))
                }
                covered.append(first...last)
            }
        }
        var gaps: [ClosedRange<Int64>] = []
        var next: Int64 = 1
        for range in covered.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if range.lowerBound > next { gaps.append(next...(range.lowerBound - 1)) }
            next = max(next, range.upperBound + 1)
        }
        if next <= last { gaps.append(next...last) }
        for gap in gaps {
            var chunk: [Int64] = []
            var chunkFirst = gap.lowerBound
            try db.writeWithoutTransaction { db in
                let insert = try db.makeStatement(sql: "INSERT INTO journal_keys (last, first, keys) VALUES (?, ?, ?)")
                let st = try db.makeStatement(sql: "SELECT seq, key FROM journal WHERE seq BETWEEN ? AND ? ORDER BY seq")
                let s = st.sqliteStatement
                sqlite3_bind_int64(s, 1, gap.lowerBound)
                sqlite3_bind_int64(s, 2, gap.upperBound)
                try db.inTransaction {
                    while try Self.step(s) {
                        let seq = sqlite3_column_int64(s, 0), key = sqlite3_column_int64(s, 1)
                        keys.insert(key, seq: seq)
                        if seq != chunkFirst + Int64(chunk.count) {
                            try Self.storeKeys(insert, chunk, first: chunkFirst)
                            chunk = []
                            chunkFirst = seq
                        }
                        chunk.append(key)
                        if chunk.count == 4096 {
                            try Self.storeKeys(insert, chunk, first: chunkFirst)
                            chunk = []
                            chunkFirst = seq + 1
                        }
                    }
                    try Self.storeKeys(insert, chunk, first: chunkFirst)
                    return .commit
                }
            }
        }
    }

    /// One step of a statement that reads rows: true for a row, false at the end.
    private static func step(_ s: OpaquePointer?) throws -> Bool {
        let rc = sqlite3_step(s)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: "journal read failed")
    }

    /// Stores the keys of rows `first`, `first + 1`, ... in one `journal_keys` row (nothing for none).
    private static func storeKeys(_ insert: Statement, _ keys: [Int64], first: Int64) throws {
        guard !keys.isEmpty else { return }
        let s = insert.sqliteStatement
        sqlite3_reset(s)
        sqlite3_bind_int64(s, 1, first + Int64(keys.count) - 1)
        sqlite3_bind_int64(s, 2, first)
        // (A closure, not the key path `\.littleEndian`: that one was not inlined here and went through the
        // runtime's key-path projection for each key, about 690 instructions an event of the writer's 9,600.)
        let rc = keys.map { $0.littleEndian }.withUnsafeBytes { bytes in
            sqlite3_bind_blob(s, 3, bytes.baseAddress, Int32(bytes.count), SQLITE_STATIC)
            defer { sqlite3_clear_bindings(s) }
            return sqlite3_step(s)
        }
        sqlite3_reset(s)
        guard rc == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: "journal keys insert failed")
        }
    }

    public func append(_ entries: [JournalEntry]) throws -> [AppendOutcome] {
        try append(entries, counts: [:])
    }

    public func append(_ entries: [JournalEntry], counts: [String: Int]) throws -> [AppendOutcome] {
        if entries.isEmpty && counts.values.allSatisfy({ $0 == 0 }) { return [] }
        var outcomes: [AppendOutcome] = []
        outcomes.reserveCapacity(entries.count)
        var added: [(key: Int64, seq: Int64)] = []
        var seq = last
        do {
            try db.inTransaction(.immediate) { db in
                let insert = try db.cachedStatement(
                    sql: "INSERT INTO journal (seq, key, source, event_id, status, payload) VALUES (?, ?, ?, ?, ?, ?)")
                let lookup = try db.cachedStatement(
                    sql: "SELECT 1 FROM journal WHERE seq = ? AND source = ? AND event_id = ?")
                for e in entries {
                    let key = dedupKey(source: e.source, id: e.eventID)
                    // Rows of this batch are read too (same transaction): "seen earlier in this batch".
                    if try keys.contains(key, where: { try Self.exists(lookup, seq: $0, source: e.source, id: e.eventID) }) {
                        outcomes.append(.duplicate)
                        continue
                    }
                    seq += 1
                    try Self.insert(insert, seq: seq, key: key, entry: e)
                    // Kept at once (taken out again if the transaction fails).
                    keys.insert(key, seq: seq)
                    added.append((key, seq))
                    outcomes.append(.accepted(seq: seq))
                }
                // The batch's keys, in the order of their rows' numbers, for the next start (`loadKeys`).
                try Self.storeKeys(
                    try db.cachedStatement(sql: "INSERT INTO journal_keys (last, first, keys) VALUES (?, ?, ?)"),
                    added.map(\.key), first: last + 1)
                let accepted = outcomes.count { if case .accepted = $0 { true } else { false } }
                var all = counts
                all["accepted", default: 0] += accepted
                all["duplicate", default: 0] += entries.count - accepted
                let upsert = try db.cachedStatement(
                    sql: "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value")
                for (name, value) in all where value != 0 {
                    try upsert.execute(arguments: [name, value])
                }
                return .commit
            }
        } catch {
            // Nothing of the batch was stored: its keys are not known.
            for (key, seq) in added { keys.remove(key, seq: seq) }
            throw error
        }
        last = seq
        // A writer that never calls `betweenCommits` still keeps its WAL bounded, at twice the size.
        rewind.afterCommit(db, limit: 2 * rewind.limit)
        return outcomes
    }

    /// Whether row `seq` holds the event `(source, id)`.
    private static func exists(_ st: Statement, seq: Int64, source: String, id: String) throws -> Bool {
        let s = st.sqliteStatement
        sqlite3_reset(s)
        sqlite3_bind_int64(s, 1, seq)
        sqlite3_bind_text(s, 2, source, -1, SQLITE_TRANSIENT)
        sqlite3_bind_text(s, 3, id, -1, SQLITE_TRANSIENT)
        let rc = sqlite3_step(s)
        sqlite3_reset(s)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: "journal lookup failed")
    }

    private static func insert(_ st: Statement, seq: Int64, key: Int64, entry e: JournalEntry) throws {
        let s = st.sqliteStatement
        sqlite3_reset(s)
        sqlite3_bind_int64(s, 1, seq)
        sqlite3_bind_int64(s, 2, key)
        // The bytes are bound in place (SQLITE_STATIC) for the one step that reads them: no copy per field.
        var source = e.source, id = e.eventID, status = e.status.rawValue
        let rc: Int32 = source.withUTF8 { src in
            id.withUTF8 { eid in
                status.withUTF8 { st in
                    e.payload.withUnsafeBytes { buf in
                        bindInPlace(s, 3, UnsafeRawBufferPointer(src), text: true)
                        bindInPlace(s, 4, UnsafeRawBufferPointer(eid), text: true)
                        bindInPlace(s, 5, UnsafeRawBufferPointer(st), text: true)
                        bindInPlace(s, 6, buf, text: false)
                        let rc = sqlite3_step(s)
                        // Unbound before the buffers go away.
                        sqlite3_clear_bindings(s)
                        return rc
                    }
                }
            }
        }
        sqlite3_reset(s)
        guard rc == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: "journal insert failed")
        }
    }

    public func read(after seq: Int64, limit: Int) throws -> [JournalRecord] {
        try db.readStatement { db in try readJournal(db, after: seq, limit: limit) }
    }

    public func lastSeq() throws -> Int64 {
        try db.readStatement { db in try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) FROM journal")) ?? 0 }
    }

    public func counters() throws -> [String: Int] {
        try db.readStatement { db in try readCounters(db) }
    }

    /// How often this connection's statements were compiled again (`DatabaseQueue.recompilations`).
    func statementRecompilations() -> Int { db.recompilations() }

    /// The number of journaled events.
    public func count() throws -> Int {
        try db.readStatement { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM journal") ?? 0 }
    }

    /// Rewinds the WAL when it holds more than `walRewindFrames` pages (see `WALRewind`).
    public func betweenCommits() { rewind.afterCommit(db) }

    /// How many times the writer rewound the WAL (`WALRewind.rewinds`).
    public var walRewinds: Int { rewind.rewinds }

    public func close() throws {
        checkpointer.stop()
        try db.close()
    }
}

private let SQLITE_STATIC = unsafeBitCast(0, to: sqlite3_destructor_type.self)

/// Binds `bytes` as text or a blob without copying them (SQLITE_STATIC): the caller keeps them alive until the
/// statement is stepped and its bindings cleared. An empty buffer (whose address may be nil) is bound as a copy.
private func bindInPlace(_ s: OpaquePointer?, _ index: Int32, _ bytes: UnsafeRawBufferPointer, text: Bool) {
    guard let base = bytes.baseAddress, bytes.count > 0 else {
        if text { sqlite3_bind_text(s, index, "", 0, SQLITE_TRANSIENT) } else { sqlite3_bind_zeroblob(s, index, 0) }
        return
    }
    if text {
        sqlite3_bind_text(s, index, base.assumingMemoryBound(to: CChar.self), Int32(bytes.count), SQLITE_STATIC)
    } else {
        sqlite3_bind_blob(s, index, base, Int32(bytes.count), SQLITE_STATIC)
    }
}
private let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A read-only view of the journal for downstream workers (also in other processes): reads in order from an
/// offset, never writes, and keeps no dedup set in memory.
public final class JournalReader {
    private let db: DatabaseQueue

    public init(path: String) throws {
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(5)
        // The classify worker reads each page once, in order (and the writer's commits void a reader's cache
        // anyway): 512 KiB instead of SQLite's 2 MB.
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA cache_size = -512") }
        // The writer creates the file; wait for it when a reader process starts first.
        var tries = 0
        while !FileManager.default.fileExists(atPath: path) && tries < 100 {
            usleep(50_000)
            tries += 1
        }
        db = try DatabaseQueue(path: path, configuration: config)
    }

    public func read(after seq: Int64, limit: Int) throws -> [JournalRecord] {
        try db.readStatement { db in try readJournal(db, after: seq, limit: limit) }
    }

    /// Up to `limit` records after `seq`, in order, each's sequence number and payload handed to `body` where
    /// SQLite holds it (valid only during the call; what the classify worker reads); returns the last sequence
    /// number handed over, nil when there was none. A GRDB row per record cost a `Data`, a second copy into an
    /// array and three strings nobody looked at, a seventh of the classify thread; an array per payload, its
    /// allocation and its release, another 2,300 instructions per event.
    @discardableResult
    public func forEachPayload(after seq: Int64, limit: Int,
                               _ body: (Int64, UnsafeRawBufferPointer) throws -> Void) throws -> Int64? {
        try db.readStatement { db in
            let st = try db.cachedStatement(sql: "SELECT seq, payload FROM journal WHERE seq > ? ORDER BY seq LIMIT ?")
            let s = st.sqliteStatement
            sqlite3_reset(s)
            sqlite3_bind_int64(s, 1, seq)
            sqlite3_bind_int64(s, 2, Int64(limit))
            defer { sqlite3_reset(s) }
            var last: Int64?
            while true {
                let rc = sqlite3_step(s)
                if rc == SQLITE_DONE { break }
                guard rc == SQLITE_ROW else {
                    throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: "journal read failed")
                }
                let n = Int(sqlite3_column_bytes(s, 1))
                let record = sqlite3_column_int64(s, 0)
                try body(record, UnsafeRawBufferPointer(start: n == 0 ? nil : sqlite3_column_blob(s, 1), count: n))
                last = record
            }
            return last
        }
    }

    /// `forEachPayload` into arrays.
    public func readPayloads(after seq: Int64, limit: Int) throws -> [(seq: Int64, payload: [UInt8])] {
        var out: [(seq: Int64, payload: [UInt8])] = []
        try forEachPayload(after: seq, limit: limit) { out.append(($0, [UInt8]($1))) }
        return out
    }

    public func counters() throws -> [String: Int] {
        try db.readStatement { db in try readCounters(db) }
    }

    public func lastSeq() throws -> Int64 {
        try db.readStatement { db in try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) FROM journal")) ?? 0 }
    }

    public func close() throws { try db.close() }
}

extension DatabaseQueue {
    /// Runs `body`, a single SELECT (atomic on its own) or several that need no common snapshot, on the queue's
    /// connection as it is: GRDB's `read` on a queue wraps the block in `PRAGMA query_only = 1` ... `= 0` and a
    /// savepoint, and SQLite's flag pragmas expire every prepared statement of the connection, so each cached
    /// statement (the outbox and offset reads, the journal's insert) was compiled again on its next use: about
    /// 26,000 instructions each time, 7% of the dispatch thread. A connection opened read-only is not toggled.
    func readStatement<T>(_ body: (Database) throws -> T) throws -> T {
        try unsafeRead(body)
    }

    /// How many times SQLite has compiled again a statement of this connection that it had prepared (its
    /// `SQLITE_STMTSTATUS_REPREPARE` counts, over the statements open now): for tests.
    func recompilations() -> Int {
        unsafeReentrantRead { db in
            var total: Int32 = 0
            var s = sqlite3_next_stmt(db.sqliteConnection, nil)
            while let st = s {
                total += sqlite3_stmt_status(st, SQLITE_STMTSTATUS_REPREPARE, 0)
                s = sqlite3_next_stmt(db.sqliteConnection, st)
            }
            return Int(total)
        }
    }
}

/// Opens (creating when needed) a SQLite database in WAL mode with the given `synchronous` level, waiting up to
/// 5 s for a lock held by another connection or process; through the VFS named `vfs` when given.
func openWAL(path: String, sync: SyncMode, cacheKiB: Int? = nil, autoCheckpoint: Bool = true,
             vfs: String? = nil) throws -> DatabaseQueue {
    var config = Configuration()
    config.journalMode = .wal
    config.busyMode = .timeout(5)
    config.prepareDatabase { db in
        if let cacheKiB { try db.execute(sql: "PRAGMA cache_size = -\(cacheKiB)") }
        if !autoCheckpoint { try db.execute(sql: "PRAGMA wal_autocheckpoint = 0") }
    }
    var location = path
    if let vfs {
        // https://www.sqlite.org/uri.html: the path percent-encoded where URI syntax needs it.
        var uriPath = ""
        for ch in path.unicodeScalars {
            switch ch {
            case "%", "?", "#", "&", "=", " ": uriPath += String(format: "%%%02X", ch.value)
            default: uriPath.unicodeScalars.append(ch)
            }
        }
        location = "file:\(uriPath)?vfs=\(vfs)"
    }
    let queue = try DatabaseQueue(path: location, configuration: config)
    // After opening, not in `prepareDatabase`: GRDB runs that first and then, switching the queue to WAL,
    // sets `synchronous = NORMAL` itself, which silently turned `full` into `normal` (found by the power-loss
    // test: acknowledged events were lost on a disk that drops unsynced writes).
    let level = sync == .full ? "FULL" : "NORMAL"
    try queue.writeWithoutTransaction { db in
        try db.execute(sql: "PRAGMA synchronous = \(level)")
        let applied = try Int.fetchOne(db, sql: "PRAGMA synchronous")
        guard applied == (sync == .full ? 2 : 1) else {
            throw DatabaseError(message: "PRAGMA synchronous = \(level) did not apply (got \(applied ?? -1))")
        }
    }
    return queue
}

/// Keeps the WAL of a connection that commits without pause from growing for ever. SQLite writes a WAL again
/// from its beginning only when a write transaction starts with every frame already copied into the database;
/// the checkpointer's thread copies them while the writer goes on appending, so under sustained load that never
/// happened and the journal's WAL grew by the size of every event (486 MB in six seconds of the benchmark, each
/// new page allocated and written back by the kernel). After a commit that leaves more than `limit` frames in the
/// WAL, `afterCommit` copies on the writer's own connection what the checkpointer has not copied yet (PASSIVE:
/// never waits; the checkpointer holding the checkpoint lock means try again at the next commit), so that the
/// next transaction starts the WAL again. The copy ends with the fsyncs of a checkpoint: the journal's writer
/// does it after it has handed the batch back (`Journal.betweenCommits`), not inside `append`, so that ingest
/// answers the platforms and takes the next events meanwhile.
public final class WALRewind: @unchecked Sendable {
    /// 65,536 pages of 4 KiB: a WAL of at most about 256 MiB, rewound about every 3 s at the benchmark's 170,000
    /// events/s (80 MB of WAL a second). Each rewind copies what the checkpointer's last 100 ms left and syncs it
    /// on the writer's thread: the raw SQLite loop, doing the same, lost 3% of its rows/s with this limit and 16%
    /// with 16,384 pages (about 60 ms per rewind).
    public static let defaultLimit: Int32 = 65_536
    public let limit: Int32
    /// The WAL's frames after the connection's last commit (SQLite's WAL hook; only ever touched on the
    /// connection's queue).
    public private(set) var frames: Int32 = 0
    /// How many times `afterCommit` copied the WAL's rest (for tests and the benchmark).
    public private(set) var rewinds = 0

    /// A rewind for the connection of `queue`, its hook installed: SQLite's WAL hook counts the WAL's frames (it
    /// replaces SQLite's automatic checkpoint, which the writers here turn off anyway). The connection must not
    /// outlive the rewind.
    public init(on queue: DatabaseQueue, limit: Int32 = WALRewind.defaultLimit) throws {
        self.limit = limit
        queue.writeWithoutTransaction { db in
            _ = sqlite3_wal_hook(db.sqliteConnection, { context, _, _, frames in
                if let context { Unmanaged<WALRewind>.fromOpaque(context).takeUnretainedValue().frames = frames }
                return SQLITE_OK
            }, Unmanaged.passUnretained(self).toOpaque())
        }
    }

    /// After a commit on `queue`: when the WAL holds more than `limit` frames, a PASSIVE checkpoint here.
    public func afterCommit(_ queue: DatabaseQueue, limit: Int32? = nil) {
        guard frames > (limit ?? self.limit) else { return }
        queue.writeWithoutTransaction { db in
            var log: Int32 = 0, copied: Int32 = 0
            let rc = sqlite3_wal_checkpoint_v2(db.sqliteConnection, nil, SQLITE_CHECKPOINT_PASSIVE, &log, &copied)
            if rc == SQLITE_OK && copied == log { rewinds += 1 }
        }
    }
}

/// Checkpoints the journal's WAL on its own thread and connection, so that the ingest thread's commits never
/// pay for it (SQLite's automatic checkpoint runs inside the commit that crosses 1,000 pages: a 5 ms stall
/// every ~60 ms under load). PASSIVE: it never blocks the writer or readers.
final class Checkpointer: @unchecked Sendable {
    private let db: DatabaseQueue
    private let walPath: String
    private let wake = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var stopping = false

    init(path: String, sync: SyncMode, vfs: String? = nil) throws {
        db = try openWAL(path: path, sync: sync, autoCheckpoint: false, vfs: vfs)
        walPath = path + "-wal"
        let thread = Thread { [self] in
            Thread.current.name = "checkpoint"
            setKernelThreadName("checkpoint")
            run()
        }
        thread.start()
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    private func run() {
        // The WAL keeps its size after a checkpoint (SQLite rewinds it at the next commit): checkpoint only when it
        // was written since the last one, so that an idle store costs one `stat` per wake-up.
        var checkedWrite: timespec?
        while !isStopping {
            _ = wake.wait(timeout: .now() + .milliseconds(100))
            var st = stat()
            guard stat(walPath, &st) == 0 else { continue }
            let written = st.st_mtim
            let changed = checkedWrite.map { $0.tv_sec != written.tv_sec || $0.tv_nsec != written.tv_nsec } ?? true
            if changed && (st.st_size > 4 << 20 || (isStopping && st.st_size > 0)) {
                checkedWrite = written
                _ = try? db.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)") }
            }
        }
        try? db.close()
        done.signal()
    }

    /// Stops the thread after a last checkpoint; stopping again does nothing.
    func stop() {
        lock.lock()
        let already = stopping
        stopping = true
        lock.unlock()
        guard !already else { return }
        wake.signal()
        done.wait()
    }
}

func readCounters(_ db: Database) throws -> [String: Int] {
    guard try db.tableExists("counters") else { return [:] }
    var out: [String: Int] = [:]
    for row in try Row.fetchAll(db, sql: "SELECT name, value FROM counters") { out[row[0]] = row[1] }
    return out
}

/// Reads journal rows after `seq`, in order (shared by the writer and the readers).
func readJournal(_ db: Database, after seq: Int64, limit: Int) throws -> [JournalRecord] {
    let rows = try Row.fetchCursor(
        db, sql: "SELECT seq, source, event_id, status, payload FROM journal WHERE seq > ? ORDER BY seq LIMIT ?",
        arguments: [seq, limit])
    var out: [JournalRecord] = []
    while let row = try rows.next() {
        let data: Data = row[4]
        out.append(JournalRecord(seq: row[0], source: row[1], eventID: row[2],
                                 status: Status(rawValue: row[3]) ?? .actual, payload: [UInt8](data)))
    }
    return out
}
