import TocsinCore
import ZeroMQ

/// A parsed request on the command endpoint, with the envelope its reply must carry.
struct CommandRequest {
    var envelope: [[UInt8]]
    var body: Result<JSONObject, CommandError>
}

/// An error answered as `{"ok": false, "error": "..."}`.
public struct CommandError: Error, Sendable, Hashable {
    public var message: String
    public init(_ message: String) { self.message = message }

    static func missing(_ field: String) -> CommandError { CommandError("missing field \"\(field)\"") }
    static func unknownOp(_ op: String) -> CommandError { CommandError("unknown op \"\(op)\"") }
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
            w.endObject()
            w.field("warnings", c.warnings)
            w.field("tasks", c.tasks)
            w.field("escalations", c.escalations)
            w.field("seq", c.seq)
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
