import Foundation
import Logging
import TocsinConfig
import TocsinCore
import TocsinTesting
import TocsinWorkers
import ZeroMQ

/// An in-process pipeline on private ipc endpoints in a temporary folder.
final class TestPipeline {
    let dir: String
    let config: TocsinConfiguration
    let pipeline: Pipeline

    let keepDirectory: Bool

    init(security: SecurityConfig? = nil, areas: AreaTree? = nil, durability: Durability = .normal,
         liveClock: Bool = true, directory: String? = nil) throws {
        dir = directory ?? Fixtures.temporaryDirectory("tocsin-pipe")
        keepDirectory = directory != nil
        var c = Fixtures.shippedConfig
        c.endpoints = Endpoints(ingest: "ipc://\(dir)/ingest", feed: "ipc://\(dir)/feed", command: "ipc://\(dir)/command")
        c.dataPath = dir + "/data"
        c.durability = durability
        if let security { c.security = security }
        if let areas { c.areas = areas }
        config = c
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        pipeline = try Pipeline(config: c, liveClock: liveClock, logger: logger)
        pipeline.start()
    }

    func client(curve: (serverKey: String, keys: CurveKeyPair)? = nil) throws -> WireClient {
        try WireClient(endpoint: config.endpoints.ingest, curve: curve)
    }

    func commandClient(curve: (serverKey: String, keys: CurveKeyPair)? = nil) throws -> WireClient {
        try WireClient(endpoint: config.endpoints.command, curve: curve)
    }

    func stop() {
        pipeline.stop()
        if !keepDirectory { Fixtures.removeTemporary(dir) }
    }
}

extension JSONValue {
    var int: Int? { numberValue.map { Int($0) } }
}

/// A command-center view of a running pipeline: a feed subscriber and a command client.
final class CommandCenter {
    let feed: Socket
    let command: WireClient
    let context: Context

    init(_ p: TestPipeline, subscribe prefix: String = "") throws {
        context = try Context()
        feed = try context.makeSocket(.sub)
        try feed.subscribe(prefix)
        try feed.connect(p.config.endpoints.feed)
        command = try p.commandClient()
        // Let the subscription reach the publisher before anything is published (a PUB drops what it sends
        // before a subscription arrives; the tests compare what a subscriber saw with `since`).
        _ = try command.request(#"{"op":"stats"}"#)
        usleep(300_000)
    }

    /// Every feed message received within `milliseconds`, as (topic, body).
    func received(waiting milliseconds: Int32 = 200) throws -> [(topic: String, body: JSONValue)] {
        try feed.setReceiveTimeout(milliseconds: milliseconds)
        var out: [(String, JSONValue)] = []
        while let m = try feed.receive() {
            guard m.frames.count == 2 else { continue }
            out.append((String(decoding: m.frames[0], as: UTF8.self), try JSONValue.parse(m.frames[1])))
        }
        return out
    }

    func request(_ json: String) throws -> JSONValue {
        guard let reply = try command.request(json) else { throw PipelineError("no reply to \(json)") }
        return reply
    }

    /// Waits until every journaled event has gone through classify and dispatch.
    func waitIdle(now: Timestamp? = nil) throws {
        for _ in 0..<500 {
            let p = try request(#"{"op":"progress"}"#)
            if p["idle"] == true, now == nil || p["now"]?.stringValue == now?.rfc3339 { return }
            usleep(10_000)
        }
        throw PipelineError("pipeline did not become idle")
    }

    func close() {
        feed.close()
        context.shutdown()
        context.terminate()
        command.close()
    }
}

extension TestPipeline {
    /// Moves the virtual clock to `t` and waits until dispatch has seen it.
    func tick(_ t: Timestamp, center: CommandCenter) throws {
        let clock = try pipeline.makeVirtualClock()
        for _ in 0..<100 {
            try clock.publish(t)
            do {
                try center.waitIdleQuick(now: t)
                return
            } catch {}
        }
        throw PipelineError("clock \(t.rfc3339) not reflected")
    }
}

extension CommandCenter {
    func waitIdleQuick(now: Timestamp) throws {
        for _ in 0..<20 {
            let p = try request(#"{"op":"progress"}"#)
            if p["idle"] == true, p["now"]?.stringValue == now.rfc3339 { return }
            usleep(5_000)
        }
        throw PipelineError("not yet")
    }
}
