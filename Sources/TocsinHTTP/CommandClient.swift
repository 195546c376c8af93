import Dispatch
import Foundation
import TocsinCore
import ZeroMQ

/// A client of the dispatch worker's command endpoint (PROTOCOL.md "Command"), for the HTTP server: every API
/// action is a command request, so both surfaces share one implementation of the rules and errors.
///
/// Each request uses its own short-lived DEALER on the process's context (cheap over `inproc://`), on a
/// dispatch queue thread: ZeroMQ calls block, and must not run on the HTTP server's event loops.
public final class CommandClient: Sendable {
    let context: Context
    let endpoint: String
    let timeoutMilliseconds: Int32
    private let queue = DispatchQueue(label: "tocsin.http.command", attributes: .concurrent)

    public init(context: Context, endpoint: String, timeoutMilliseconds: Int32 = 5000) {
        self.context = context
        self.endpoint = endpoint
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// Sends one request object and returns the reply object (which may be `{"ok": false, ...}`).
    public func request(_ build: (inout JSONWriter) -> Void) async throws -> JSONObject {
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        build(&w)
        w.endObject()
        let body = w.bytes
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.requestBlocking(body) })
            }
        }
    }

    /// The same, blocking the calling thread (not for event loops).
    public func requestBlocking(_ body: [UInt8]) throws -> JSONObject {
        let socket = try context.makeSocket(.dealer)
        defer { socket.close() }
        try socket.setReceiveTimeout(milliseconds: timeoutMilliseconds)
        try socket.connect(endpoint)
        _ = try socket.send([body])
        guard let reply = try socket.receive(), let frame = reply.frames.last else {
            throw CommandUnavailable("no reply from the dispatch worker within \(timeoutMilliseconds) ms")
        }
        guard case .object(let object) = try JSONValue.parse(frame) else {
            throw CommandUnavailable("the dispatch worker answered something that is not a JSON object")
        }
        return object
    }
}

/// The command endpoint did not answer (the dispatch worker is down, stopping or overloaded).
public struct CommandUnavailable: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
