import Foundation
import Hummingbird
import Logging
import NIOCore
import TocsinConfig
import TocsinCore

/// `GET /api/stream`: the feed as server-sent events, filtered by topic prefix and resumable from a `seq`
/// (`?since=N` or the `Last-Event-ID` an EventSource sends when it reconnects). Each event has `id:` = seq,
/// `event:` = `warning` or `task`, and `data:` = `{"topic": ..., "body": {...}}`.
struct LiveStream: Sendable {
    let operators: OperatorDirectory
    let command: CommandClient
    let relay: FeedRelay
    let logger: Logger
    let counters: HTTPCounters
    /// A comment line this often keeps proxies and the browser from timing the stream out.
    var keepAlive: Duration = .seconds(15)

    func register(on router: Router<BasicRequestContext>) {
        router.get("api/stream") { request, _ in
            let op: OperatorConfig
            do throws(APIError) {
                op = try operators.authenticate(request)
            } catch {
                counters.refusal(error.status)
                return HTTPServer.json(error.body, status: error.status)
            }
            let prefix = request.uri.queryParameters.get("prefix") ?? ""
            let resume = request.uri.queryParameters.get("since") ?? request.headers[.init("Last-Event-ID")!]
            var since: Int64?
            if let resume {
                guard let n = Int64(resume), n >= 0 else {
                    let e = APIError(.badRequest, "since: expected a feed seq (0 or more)", code: "bad_request")
                    counters.refusal(e.status)
                    return HTTPServer.json(e.body, status: e.status)
                }
                since = n
            }
            return stream(prefix: prefix, since: since, area: op.area)
        }
    }

    /// Whether a feed message concerns `area`: its incident's area or its owner lies within it.
    static func concerns(_ body: JSONValue, _ area: AreaPath) -> Bool {
        for key in ["area", "owner"] {
            if let path = body[key]?.stringValue.flatMap(AreaPath.init), path.isWithin(area) { return true }
        }
        return false
    }

    func stream(prefix: String, since: Int64?, area: AreaPath) -> Response {
        let relay = self.relay, command = self.command, logger = self.logger, keepAlive = self.keepAlive
        let counters = self.counters
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            // Subscribe first, then replay: what arrives meanwhile waits in the queue and is skipped by seq.
            let (id, live, current) = relay.subscribe(prefix: prefix)
            counters.streams.increment()
            defer {
                relay.unsubscribe(id)
                counters.streams.decrement()
            }
            var sent = since ?? current
            try await writer.write(ByteBuffer(string: "retry: 2000\n: tocsin feed from seq \(sent)\n\n"))
            if let since {
                var from = since
                while true {
                    let reply = try await command.request { w in
                        w.field("op", "since")
                        w.field("seq", Int(from))
                        w.field("prefix", prefix)
                    }
                    guard reply["ok"]?.boolValue == true else {
                        logger.warning("http stream: since failed: \(reply["error"]?.stringValue ?? "?")")
                        break
                    }
                    let items = reply["messages"]?.arrayValue ?? []
                    for item in items {
                        guard case .string(let topic)? = item["topic"], let body = item["body"],
                              case .number(let n)? = body["seq"] else { continue }
                        from = Int64(n)
                        guard Self.concerns(body, area) else { continue }
                        try await writer.write(Self.event(seq: Int64(n), topic: topic, body: body.serialized()))
                    }
                    sent = max(sent, from)
                    if items.count < 100_000 { break }
                }
            }
            // The live part, with keep-alive comments while the feed is quiet. A client too slow to take the
            // feed has its stream ended (it resumes with Last-Event-ID).
            let (events, sink) = AsyncStream.makeStream(of: FeedMessage?.self,
                                                        bufferingPolicy: .bufferingOldest(FeedRelay.clientQueue))
            let pump = Task(executorPreference: HTTPExecutor.shared) {
                for await m in live {
                    if case .dropped = sink.yield(m) { break }
                }
                sink.finish()
            }
            let ticker = Task(executorPreference: HTTPExecutor.shared) {
                while !Task.isCancelled {
                    try? await Task.sleep(for: keepAlive)
                    sink.yield(nil)
                }
            }
            defer {
                pump.cancel()
                ticker.cancel()
            }
            for await m in events {
                if let m {
                    guard m.seq > sent else { continue }
                    guard let body = try? JSONValue.parse(m.body), Self.concerns(body, area) else { continue }
                    try await writer.write(Self.event(seq: m.seq, topic: m.topic, body: m.body))
                    sent = m.seq
                } else {
                    try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                }
            }
            logger.debug("http stream \(id) ended at seq \(sent)")
            try await writer.finish(nil)
        })
    }

    static func event(seq: Int64, topic: String, body: [UInt8]) -> ByteBuffer {
        let kind = topic.split(separator: "/").dropFirst().first.map(String.init) ?? "message"
        var w = JSONWriter(capacity: body.count + topic.utf8.count + 32)
        w.beginObject()
        w.field("topic", topic)
        w.key("body")
        w.raw(body)
        w.endObject()
        var buffer = ByteBuffer()
        buffer.writeString("id: \(seq)\nevent: \(kind)\ndata: ")
        buffer.writeBytes(w.bytes)
        buffer.writeString("\n\n")
        return buffer
    }
}
