import TocsinCore
import ZeroMQ

/// What the console asks the command endpoint. Sync requests take their `seq` and position from the board
/// when they are sent, not when they are queued, so that they start from what the board holds by then.
enum WatchRequest: Sendable, Hashable {
    case stats
    case since(prefix: String)
    case active(prefix: String)
    case ack(warning: String)
    case step(task: String, state: TaskState)

    /// Key actions go ahead of the board's own requests, and report their outcome on the status line.
    var isAction: Bool {
        switch self {
        case .ack, .step: true
        case .stats, .since, .active: false
        }
    }
}

/// A request on the wire, with what it was sent with.
struct SentRequest: Sendable {
    var request: WatchRequest
    /// `since`: the `seq` asked from; `active`: the prefix's `covered` when sent.
    var position: Int64?
    var sentAt: Double
}

/// CURVE client keys for the feed and command sockets.
public struct CurveClient: Sendable, Hashable {
    public var serverKey: String
    public var keys: CurveKeyPair
    public init(serverKey: String, keys: CurveKeyPair) {
        self.serverKey = serverKey
        self.keys = keys
    }
}

/// The console's DEALER to the command endpoint: one request in flight at a time, so each reply belongs to the
/// request before it (the contract's replies carry no request id). A request unanswered within the time-out
/// drops the socket and makes a new one, so that a late reply cannot be taken for the next request's.
final class CommandChannel {
    let context: Context
    let endpoint: String
    let curve: CurveClient?
    private(set) var socket: Socket

    init(context: Context, endpoint: String, curve: CurveClient?) throws {
        self.context = context
        self.endpoint = endpoint
        self.curve = curve
        socket = try Self.connect(context, endpoint, curve)
    }

    static func connect(_ context: Context, _ endpoint: String, _ curve: CurveClient?) throws -> Socket {
        let socket = try context.makeSocket(.dealer)
        do {
            try socket.setMaxMessageSize(256 << 20)
            if let curve { try socket.configureCurveClient(keys: curve.keys, serverKey: curve.serverKey) }
            try socket.connect(endpoint)
        } catch {
            socket.close()
            throw error
        }
        return socket
    }

    /// A fresh socket after a request got no reply.
    func reconnect() throws {
        socket.close()
        socket = try Self.connect(context, endpoint, curve)
    }

    /// Sends one request frame; false when it cannot be queued now (no connection yet: libzmq queues for a
    /// DEALER until its high-water mark, so this is rare).
    func send(_ body: [UInt8]) throws -> Bool {
        try socket.send([body], dontWait: true)
    }

    /// The next reply's JSON, nil when none is waiting. A reply that is not JSON is an error for the caller.
    func receive() throws -> Result<JSONValue, WatchError>? {
        guard let message = try socket.receive(dontWait: true, maxFrames: 4) else { return nil }
        guard let frame = message.frames.last, message.frames.count == 1 || message.frames.first?.isEmpty == true else {
            return .failure(WatchError("reply with \(message.frames.count) frames from the command endpoint"))
        }
        do {
            return .success(try JSONValue.parse(frame))
        } catch {
            return .failure(WatchError("reply from the command endpoint is not JSON: \(error)"))
        }
    }

    /// Waits up to `timeout` seconds for one reply (for the `--once` snapshot).
    func request(_ body: [UInt8], timeout: Double) throws -> JSONValue {
        try socket.setReceiveTimeout(milliseconds: Int32(max(1, timeout * 1000)))
        try socket.send([body])
        guard let message = try socket.receive(maxFrames: 4), let frame = message.frames.last else {
            throw WatchError("no reply from the command endpoint \(endpoint) within \(Int(timeout)) s")
        }
        do {
            return try JSONValue.parse(frame)
        } catch {
            throw WatchError("reply from the command endpoint is not JSON: \(error)")
        }
    }

    func close() { socket.close() }

    /// The JSON of a request.
    static func body(_ request: WatchRequest, position: Int64?, by: AreaPath) -> [UInt8] {
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        switch request {
        case .stats:
            w.field("op", "stats")
        case .since(let prefix):
            w.field("op", "since")
            w.field("seq", Int(position ?? 0))
            w.field("prefix", prefix)
        case .active(let prefix):
            w.field("op", "active")
            w.field("prefix", prefix)
        case .ack(let warning):
            w.field("op", "ack")
            w.field("warning", warning)
            w.field("by", by.rawValue)
        case .step(let task, let state):
            w.field("op", "step")
            w.field("task", task)
            w.field("by", by.rawValue)
            w.field("state", state.rawValue)
        }
        w.endObject()
        return w.bytes
    }
}
