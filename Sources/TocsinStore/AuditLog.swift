import Foundation
import GRDB

/// One operator action on an incident: who did what, when, through which surface, and how it ended.
public struct AuditEntry: Sendable, Hashable {
    public var id: Int64
    /// Wall-clock time of the request (RFC 3339).
    public var at: String
    /// The pipeline's time then (RFC 3339; virtual in drills), if it had one.
    public var pipelineTime: String?
    /// `ack`, `step` or `close`.
    public var action: String
    /// The warning, task or incident id acted on.
    public var target: String
    /// The incident concerned ("" when the target was unknown).
    public var incident: String
    /// The `by` area of the request.
    public var by: String
    /// The operator's name when the request came through the HTTP API or a named console.
    public var `operator`: String?
    /// The step state asked for, for `step`.
    public var detail: String?
    /// `ok`, or the refusal's message.
    public var outcome: String

    public init(id: Int64 = 0, at: String, pipelineTime: String?, action: String, target: String, incident: String,
                by: String, operator: String?, detail: String?, outcome: String) {
        self.id = id
        self.at = at
        self.pipelineTime = pipelineTime
        self.action = action
        self.target = target
        self.incident = incident
        self.by = by
        self.operator = `operator`
        self.detail = detail
        self.outcome = outcome
    }
}

/// The audit table of the dispatch store: every acknowledgement, step and close, accepted or refused, with who
/// and when. Rows are only ever appended.
public final class AuditLog {
    private let db: DatabaseQueue

    public init(path: String, sync: SyncMode = .full) throws {
        db = try openWAL(path: path, sync: sync)
        try db.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS audit (
                    id INTEGER PRIMARY KEY,
                    at TEXT NOT NULL,
                    pipeline_time TEXT,
                    action TEXT NOT NULL,
                    target TEXT NOT NULL,
                    incident TEXT NOT NULL,
                    by TEXT NOT NULL,
                    operator TEXT,
                    detail TEXT,
                    outcome TEXT NOT NULL
                );
                CREATE INDEX IF NOT EXISTS audit_incident ON audit(incident, id);
                """)
        }
    }

    @discardableResult
    public func append(_ e: AuditEntry) throws -> Int64 {
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO audit (at, pipeline_time, action, target, incident, by, operator, detail, outcome)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [e.at, e.pipelineTime, e.action, e.target, e.incident, e.by, e.operator, e.detail,
                                 e.outcome])
            return db.lastInsertedRowID
        }
    }

    /// The entries of one incident (or all, when nil), oldest first, at most `limit` (the newest ones).
    public func entries(incident: String?, limit: Int = 1000) throws -> [AuditEntry] {
        try db.readStatement { db in
            let rows: [Row]
            if let incident {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM audit WHERE incident = ? ORDER BY id DESC LIMIT ?",
                                        arguments: [incident, limit])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY id DESC LIMIT ?", arguments: [limit])
            }
            return rows.reversed().map { r in
                AuditEntry(id: r["id"], at: r["at"], pipelineTime: r["pipeline_time"], action: r["action"],
                           target: r["target"], incident: r["incident"], by: r["by"], operator: r["operator"],
                           detail: r["detail"], outcome: r["outcome"])
            }
        }
    }

    public func close() throws { try db.close() }
}
