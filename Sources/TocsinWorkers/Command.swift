import TocsinCore
import ZeroMQ

/// A parsed request on the command endpoint, with the envelope its reply must carry.
struct CommandRequest {
    var envelope: [[UInt8]]
    var body: Result<JSONObject, CommandError>
}

/// An error answered as `{"ok": false, "error": "..."}`.
public struct CommandError: Error, Sendable, Hashable {
    /// What kind of refusal this is, carried as `"code"` in the error reply (an extension of PROTOCOL.md): the
    /// HTTP API maps it to a status (400, 404, 403, 409, 503), so both surfaces share one set of rules.
    public enum Code: String, Sendable, Hashable {
        /// The request is malformed: not JSON, unknown op, missing or wrong field.
        case badRequest = "bad_request"
        /// The warning, incident or task does not exist.
        case notFound = "not_found"
        /// The `by` area (or the operator's area) does not own what it acts on.
        case forbidden
        /// The target exists but is in a state that refuses the request (closed, superseded, done).
        case conflict
        /// A worker the request needs cannot take it now; try again.
        case unavailable
    }

    public var message: String
    public var code: Code
    public init(_ message: String, code: Code = .badRequest) {
        self.message = message
        self.code = code
    }

    static func missing(_ field: String) -> CommandError { CommandError("missing field \"\(field)\"") }
    static func unknownOp(_ op: String) -> CommandError { CommandError("unknown op \"\(op)\"") }
}

extension CommandError {
    /// The command-level meaning of a warning book refusal.
    init(_ error: WarningError) {
        switch error.code {
        case .unknownWarning, .unknownIncident: self.init(error.message, code: .notFound)
        case .superseded, .closed: self.init(error.message, code: .conflict)
        case .notOwner: self.init(error.message, code: .forbidden)
        }
    }
}

/// Framing and JSON of the command endpoint (PROTOCOL.md "Command"): one JSON frame per request and reply;
/// a REQ client's empty delimiter is kept in the envelope.
enum CommandCodec {
    static func parse(_ message: Message) -> CommandRequest {
        var frames = message.frames
        var envelope = [frames.removeFirst()]
        if frames.count >= 2, frames[0].isEmpty { envelope.append(frames.removeFirst()) }
        guard frames.count == 1, !message.truncated else {
            return CommandRequest(envelope: envelope,
                                  body: .failure(CommandError("expected one frame holding a JSON object")))
        }
        do {
            let value = try JSONValue.parse(frames[0])
            guard case .object(let object) = value else {
                return CommandRequest(envelope: envelope, body: .failure(CommandError("not JSON: expected an object")))
            }
            return CommandRequest(envelope: envelope, body: .success(object))
        } catch {
            return CommandRequest(envelope: envelope, body: .failure(CommandError("not JSON: \(error)")))
        }
    }

    static func error(_ e: CommandError) -> [UInt8] {
        var w = JSONWriter(capacity: 96)
        w.beginObject()
        w.field("ok", false)
        w.field("error", e.message)
        w.field("code", e.code.rawValue)
        w.endObject()
        return w.bytes
    }

    /// `{"ok": true, ...fields}`.
    static func ok(_ fields: (inout JSONWriter) -> Void) -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        w.beginObject()
        w.field("ok", true)
        fields(&w)
        w.endObject()
        return w.bytes
    }

    static func stats(_ c: Counts) -> [UInt8] {
        ok { w in
            w.key("events")
            w.beginObject()
            w.field("accepted", c.accepted)
            w.field("duplicate", c.duplicate)
            w.field("rejected", c.rejected)
            w.field("oversized", c.oversized)
            w.field("unauthorised", c.unauthorised)
            w.field("rate_limited", c.rateLimited)
            w.endObject()
            w.field("warnings", c.warnings)
            w.field("tasks", c.tasks)
            w.field("escalations", c.escalations)
            w.field("refused_connections", c.refusedConnections)
            w.field("seq", c.seq)
        }
    }
}

/// Decodes one request frame of the command endpoint as far as it goes before the dispatch worker acts on it: the
/// framing and JSON checks of `CommandCodec.parse` (errors `not JSON: ...`, `expected one frame holding a JSON
/// object`), then `op` (`missing field "op"`, `op: expected a string`). Whether the op is known, and everything that
/// needs state (unknown ids, ownership), is the dispatch worker's. Public for the fuzz harness (`Fuzz/`) and tests.
public enum CommandRequestDecoder {
    /// A request object with its op, and the field readers the dispatch worker's handlers use (same messages).
    public struct Request: Sendable, Hashable {
        public var op: String
        public var fields: JSONObject

        /// A required string: `missing field "k"`, `k: expected a string`.
        public func string(_ key: String) throws(CommandError) -> String { try fields.string(key) }
        /// An optional string; absent or `null` is `nil`: `k: expected a string`.
        public func optionalString(_ key: String) throws(CommandError) -> String? { try fields.optionalString(key) }
        /// A whole number of magnitude below 9e15 (so exact in a `Double`): `k: expected a whole number`.
        public func integer(_ key: String) throws(CommandError) -> Int { try fields.integer(key) }
        /// An area path: `k: "X" is not an area path`.
        public func area(_ key: String) throws(CommandError) -> AreaPath { try DispatchWorker.area(fields, key) }
    }

    public static func decode(_ frame: [UInt8]) -> Result<Request, CommandError> {
        // As the ROUTER receives a DEALER's request: a routing id, then the one frame.
        switch CommandCodec.parse(Message([Array("client".utf8), frame])).body {
        case .failure(let e): return .failure(e)
        case .success(let object):
            do throws(CommandError) {
                return .success(Request(op: try object.string("op"), fields: object))
            } catch {
                return .failure(error)
            }
        }
    }
}

extension JSONObject {
    func string(_ key: String) throws(CommandError) -> String {
        guard let v = self[key] else { throw .missing(key) }
        guard case .string(let s) = v else { throw CommandError("\(key): expected a string") }
        return s
    }

    func optionalString(_ key: String) throws(CommandError) -> String? {
        guard let v = self[key], !v.isNull else { return nil }
        guard case .string(let s) = v else { throw CommandError("\(key): expected a string") }
        return s
    }

    func integer(_ key: String) throws(CommandError) -> Int {
        guard let v = self[key] else { throw .missing(key) }
        guard case .number(let d) = v, d.isFinite, d == d.rounded(), abs(d) < 9e15 else {
            throw CommandError("\(key): expected a whole number")
        }
        return Int(d)
    }
}
