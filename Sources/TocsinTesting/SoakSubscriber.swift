import Foundation
import TocsinCore
import ZeroMQ

/// A command center for the fault suite (`tocsin-soak subscriber`): subscribes to one topic prefix and hands on
/// every feed message of that prefix exactly once and in `seq` order, repairing through `since` (PROTOCOL.md:
/// "a subscriber that sees a gap in `seq` asks `since` for the missing messages").
///
/// With a prefix, `seq` has gaps that are other topics' messages, so every gap is asked about: `since` from the
/// last message handed on returns what is missing, up to the feed's end, and the live messages it already
/// covered are dropped when they come. When the live feed is quiet it asks again, for messages lost while
/// dispatch restarted. Every message handed on is appended to `output` as one line (`SoakFeedLine`) at once, so a
/// subscriber killed with SIGKILL resumes after the last whole line.
public final class SoakSubscriber {
    public struct Settings: Sendable {
        public var feed: String
        public var command: String
        public var prefix: String
        public var output: String
        /// Milliseconds of "work" per message handed on: a slow command center.
        public var delayMilliseconds: Int
        /// Seconds of a quiet live feed before `since` is asked anyway.
        public var idleRepair: Double
        /// Seconds to wait for a `since` reply before asking again on a fresh socket.
        public var requestTimeout: Double

        public init(feed: String, command: String, prefix: String, output: String, delayMilliseconds: Int = 0,
                    idleRepair: Double = 1, requestTimeout: Double = 2) {
            self.feed = feed
            self.command = command
            self.prefix = prefix
            self.output = output
            self.delayMilliseconds = delayMilliseconds
            self.idleRepair = idleRepair
            self.requestTimeout = requestTimeout
        }
    }

    public struct Counts: Sendable {
        /// Messages handed on as they came live, and through `since`.
        public var live = 0, repaired = 0
        /// Live messages already handed on (covered by a `since` reply); `since` requests; unanswered requests.
        public var duplicates = 0, sinceCalls = 0, sinceTimeouts = 0
        /// Messages already in the output file at start (a restart).
        public var resumed = 0
        public var last: Int64 = 0
    }

    let settings: Settings
    let context: Context
    private let out: FileHandle
    public private(set) var counts = Counts()
    private var command: Socket?

    public init(_ settings: Settings) throws {
        self.settings = settings
        context = try Context()
        let (last, count, length) = try Self.resume(settings.output)
        counts.last = last
        counts.resumed = count
        if !FileManager.default.fileExists(atPath: settings.output) {
            _ = FileManager.default.createFile(atPath: settings.output, contents: nil)
        }
        out = try FileHandle(forWritingTo: URL(fileURLWithPath: settings.output))
        // Drop a line cut short by a kill.
        try out.truncate(atOffset: UInt64(length))
        try out.seekToEnd()
    }

    /// The last `seq`, the number of lines and the length of the whole lines of an earlier run's output.
    static func resume(_ path: String) throws -> (Int64, Int, Int) {
        guard let data = FileManager.default.contents(atPath: path) else { return (0, 0, 0) }
        let bytes = [UInt8](data)
        guard let end = bytes.lastIndex(of: UInt8(ascii: "\n")) else { return (0, 0, 0) }
        let lines = bytes[..<end].split(separator: UInt8(ascii: "\n"))
        guard let lastLine = lines.last, let line = SoakFeedLine(String(decoding: lastLine, as: UTF8.self)) else {
            return (0, 0, end + 1)
        }
        return (line.seq, lines.count, end + 1)
    }

    public func close() {
        command?.close()
        command = nil
        try? out.close()
        context.shutdown()
        context.terminate()
    }

    /// Runs until `stop()` returns true (checked at least every 100 ms), then repairs once more and returns.
    public func run(stop: () -> Bool) throws -> Counts {
        let feed = try context.makeSocket(.sub)
        defer { feed.close() }
        try feed.setReceiveHighWaterMark(100_000)
        try feed.subscribe(settings.prefix)
        try feed.connect(settings.feed)
        // Messages published before the subscription took effect come through this first repair.
        try repair()
        var lastActivity = Date()
        var poller = Poller()
        poller.add(feed)
        while !stop() {
            if try poller.poll(timeoutMilliseconds: 100).isEmpty {
                if Date().timeIntervalSince(lastActivity) > settings.idleRepair {
                    try repair()
                    lastActivity = Date()
                }
                continue
            }
            var taken = 0
            while taken < 1000, let m = try feed.receive(dontWait: true, maxFrames: 4) {
                taken += 1
                guard m.frames.count == 2, let body = try? JSONValue.parse(m.frames[1]),
                      let line = SoakFeedLine(topic: String(decoding: m.frames[0], as: UTF8.self), body: body) else {
                    throw SoakError("subscriber: a feed message that is not a topic and a JSON body with a seq")
                }
                if line.seq <= counts.last {
                    counts.duplicates += 1
                } else if line.seq == counts.last + 1 {
                    try deliver(line)
                    counts.live += 1
                } else {
                    try repair()
                    if line.seq > counts.last {
                        // `since` ended before it (it cannot: it is stored before it is published); keep it anyway.
                        try deliver(line)
                        counts.live += 1
                    } else {
                        counts.duplicates += 1
                    }
                }
                if stop() { break }
            }
            lastActivity = Date()
        }
        try repair()
        return counts
    }

    /// Asks `since` from the last message handed on until the reply is empty, handing on what it returns.
    func repair() throws {
        var rounds = 0
        while rounds < 1000 {
            rounds += 1
            guard let reply = try since(counts.last) else { return }
            guard case .array(let messages)? = reply["messages"] else {
                throw SoakError("subscriber: since replied without messages: \(reply.serializedString())")
            }
            if messages.isEmpty { return }
            for m in messages {
                guard case .string(let topic)? = m["topic"], let body = m["body"],
                      let line = SoakFeedLine(topic: topic, body: body) else {
                    throw SoakError("subscriber: a since message without topic, body or seq")
                }
                guard line.seq > counts.last else { continue }
                try deliver(line)
                counts.repaired += 1
            }
        }
    }

    /// One `since` request; nil when dispatch did not answer in time (it may be restarting).
    func since(_ seq: Int64) throws -> JSONValue? {
        var w = JSONWriter(capacity: 96)
        w.beginObject()
        w.field("op", "since")
        w.field("seq", Int(seq))
        w.field("prefix", settings.prefix)
        w.endObject()
        if command == nil {
            let socket = try context.makeSocket(.dealer)
            try socket.setMaxMessageSize(-1)
            try socket.connect(settings.command)
            command = socket
        }
        guard let socket = command else { return nil }
        counts.sinceCalls += 1
        try socket.send([w.bytes])
        var poller = Poller()
        poller.add(socket)
        if try !poller.poll(timeoutMilliseconds: Int(settings.requestTimeout * 1000)).isEmpty,
           let m = try socket.receive(dontWait: true), let frame = m.frames.last {
            let reply = try JSONValue.parse(frame)
            guard reply["ok"] == .bool(true) else {
                throw SoakError("subscriber: since failed: \(reply.serializedString())")
            }
            return reply
        }
        // No answer: a late one must not be taken for the next request's, so the socket goes.
        counts.sinceTimeouts += 1
        socket.close()
        command = nil
        return nil
    }

    private func deliver(_ line: SoakFeedLine) throws {
        if settings.delayMilliseconds > 0 { usleep(UInt32(settings.delayMilliseconds) * 1000) }
        try out.write(contentsOf: Array((line.text + "\n").utf8))
        counts.last = line.seq
    }
}

/// One feed message as the fault suite compares it: `seq`, topic, the message's id and what changed (a warning's
/// `msgType` and tier, a task's state). Built the same way from the live feed and from `since`.
public struct SoakFeedLine: Sendable, Hashable {
    public var seq: Int64
    public var topic: String
    public var id: String
    public var detail: String

    public init?(topic: String, body: JSONValue) {
        guard case .number(let n)? = body["seq"], n >= 1, n == n.rounded(), case .string(let id)? = body["id"] else {
            return nil
        }
        seq = Int64(n)
        self.topic = topic
        self.id = id
        if FeedKind(topic: topic) == .task {
            detail = body["state"]?.stringValue ?? "-"
        } else {
            detail = (body["msgType"]?.stringValue ?? "-") + "/" + (body["tier"]?.stringValue ?? "-")
        }
    }

    public init?(_ text: String) {
        let parts = text.split(separator: "\t", omittingEmptySubsequences: false)
        guard parts.count == 4, let seq = Int64(parts[0]) else { return nil }
        self.seq = seq
        topic = String(parts[1])
        id = String(parts[2])
        detail = String(parts[3])
    }

    public var text: String { "\(seq)\t\(topic)\t\(id)\t\(detail)" }
}
