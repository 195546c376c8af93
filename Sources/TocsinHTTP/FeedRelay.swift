import Foundation
import Logging
import TocsinCore
import TocsinStore
import ZeroMQ

/// One feed message as the live stream delivers it: the dispatch worker's outbox row (`seq`, topic, body).
public typealias FeedMessage = OutboxMessage

/// Subscribes once to the whole feed (in process) and hands every message, in `seq` order and without gaps, to
/// the HTTP clients of the live stream, each filtered by its topic prefix.
///
/// Gaps (a slow start, a full queue) are repaired with `since` before the next message is handed on, so a client
/// sees exactly the feed. A client that cannot keep up (its queue of `clientQueue` messages is full) has its
/// stream ended; it reconnects with `Last-Event-ID` and repairs through `since` itself.
public final class FeedRelay: @unchecked Sendable {
    public static let clientQueue = 10_000

    private struct Client {
        var prefix: String
        var continuation: AsyncStream<FeedMessage>.Continuation
    }

    private let lock = NSLock()
    private var clients: [Int: Client] = [:]
    private var nextClient = 0
    private var lastSeq: Int64 = 0
    private var running = false
    private let context: Context
    private let endpoint: String
    private let command: CommandClient
    private let logger: Logger
    private var thread: Thread?
    private let stopFlag = NSLock()
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    public init(context: Context, feedEndpoint: String, command: CommandClient, logger: Logger) {
        self.context = context
        self.endpoint = feedEndpoint
        self.command = command
        self.logger = logger
    }

    /// The last feed `seq` handed on.
    public var seq: Int64 { lock.withLock { lastSeq } }
    public var isRunning: Bool { lock.withLock { running } }
    public var clientCount: Int { lock.withLock { clients.count } }

    /// Connects, learns the feed's current `seq` (messages before it are the clients' `since` business) and starts
    /// the relay thread.
    public func start() throws {
        let socket = try context.makeSocket(.sub)
        do {
            try socket.setReceiveHighWaterMark(100_000)
            try socket.setReceiveTimeout(milliseconds: 200)
            try socket.subscribe("")
            try socket.connect(endpoint)
            let stats = try command.requestBlocking(Array(#"{"op":"stats"}"#.utf8))
            if case .number(let n)? = stats["seq"] { lastSeq = Int64(n) }
        } catch {
            socket.close()
            throw error
        }
        running = true
        let t = Thread { [self] in
            run(socket)
            socket.close()
            lock.withLock { running = false }
            finished.signal()
        }
        t.name = "tocsin.http.feed"
        thread = t
        t.start()
    }

    public func stop() {
        let wasRunning = stopFlag.withLock { () -> Bool in
            defer { stopping = true }
            return !stopping && thread != nil
        }
        if wasRunning { _ = finished.wait(timeout: .now() + 3) }
        let all = lock.withLock { () -> [Client] in
            defer { clients.removeAll() }
            return Array(clients.values)
        }
        for c in all { c.continuation.finish() }
    }

    private var isStopping: Bool { stopFlag.withLock { stopping } }

    /// Registers a client: the live messages after now whose topic starts with `prefix`.
    public func subscribe(prefix: String) -> (id: Int, stream: AsyncStream<FeedMessage>, seq: Int64) {
        let (stream, continuation) = AsyncStream.makeStream(of: FeedMessage.self,
                                                            bufferingPolicy: .bufferingOldest(Self.clientQueue))
        let (id, seq) = lock.withLock { () -> (Int, Int64) in
            nextClient += 1
            clients[nextClient] = Client(prefix: prefix, continuation: continuation)
            return (nextClient, lastSeq)
        }
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(id) }
        return (id, stream, seq)
    }

    public func unsubscribe(_ id: Int) {
        let c = lock.withLock { clients.removeValue(forKey: id) }
        c?.continuation.finish()
    }

    private func run(_ socket: Socket) {
        while !isStopping {
            do {
                guard let m = try socket.receive(maxFrames: 4) else { continue }
                guard m.frames.count == 2, let seq = Self.seq(of: m.frames[1]) else {
                    logger.warning("http feed relay: a feed message without a seq; ignored")
                    continue
                }
                let message = FeedMessage(seq: seq, topic: String(decoding: m.frames[0], as: UTF8.self), body: m.frames[1])
                let last = lock.withLock { lastSeq }
                if seq <= last { continue }
                if seq > last + 1 { repair(after: last, before: seq) }
                deliver(message)
            } catch let error as ZMQError where error.isTerminated {
                break
            } catch {
                logger.error("http feed relay: \(error)")
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
    }

    /// Fetches the missing messages through `since` and hands them on.
    private func repair(after: Int64, before: Int64) {
        var from = after
        while from < before - 1, !isStopping {
            var w = JSONWriter(capacity: 48)
            w.beginObject()
            w.field("op", "since")
            w.field("seq", Int(from))
            w.endObject()
            guard let reply = try? command.requestBlocking(w.bytes), case .array(let items)? = reply["messages"],
                  !items.isEmpty else {
                logger.warning("http feed relay: could not repair the feed after seq \(from)")
                return
            }
            for item in items {
                guard case .string(let topic)? = item["topic"], let body = item["body"] else { continue }
                let bytes = body.serialized()
                guard let seq = Self.seq(of: bytes), seq > from, seq < before else { continue }
                deliver(FeedMessage(seq: seq, topic: topic, body: bytes))
                from = seq
            }
        }
    }

    private func deliver(_ message: FeedMessage) {
        let targets = lock.withLock { () -> [(Int, Client)] in
            lastSeq = message.seq
            return clients.filter { message.topic.hasPrefix($0.value.prefix) }.map { ($0.key, $0.value) }
        }
        for (id, client) in targets {
            if case .dropped = client.continuation.yield(message) {
                logger.notice("http stream client \(id) fell \(Self.clientQueue) messages behind; ending its stream")
                unsubscribe(id)
            }
        }
    }

    /// The `seq` field of a feed message body.
    static func seq(of body: [UInt8]) -> Int64? {
        guard case .number(let n)? = (try? JSONValue.parse(body))?["seq"], n >= 1, n == n.rounded() else { return nil }
        return Int64(n)
    }
}
