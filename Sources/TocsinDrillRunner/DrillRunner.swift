import Foundation
import Logging
import Synchronization
import TocsinConfig
import TocsinCore
import TocsinDrill
import TocsinWorkers
import ZeroMQ

/// How a drill runs.
public struct DrillOptions: Sendable {
    /// nil: virtual time, as fast as the machine allows (deterministic). N: real time times N.
    public var speed: Double?
    /// Drive the Tocsin already running at the config's endpoints instead of an in-process one.
    public var connect: Bool
    /// Print warnings and tasks as they happen, with a progress line.
    public var live: Bool
    /// Colour the live stream by tier (ANSI).
    public var colour: Bool

    public init(speed: Double? = nil, connect: Bool = false, live: Bool = false, colour: Bool = false) {
        self.speed = speed
        self.connect = connect
        self.live = live
        self.colour = colour
    }
}

/// What a replay produced.
public struct DrillOutcome: Sendable {
    public var log: DrillLog
    public var results: [ExpectationResult]
    public var allMet: Bool { results.allSatisfy(\.met) }
    public var markdown: String { DrillReport.markdown(log, results: results) }
    public var json: [UInt8] { DrillReport.json(log, results: results) }
}

/// Replays a scenario through the real workers: sends its injects to the ingest endpoint, moves the pipeline's
/// clock, reads the feed losslessly through `since`, performs the simulated responders' actions on the command
/// endpoint, fires contingency injects for missed expectations, and evaluates the expectations.
///
/// In virtual time the pipeline runs in this process on a virtual clock: the drill waits until the pipeline
/// is idle at each step, so the same scenario always gives the same log and report. Feed messages of one step
/// are recorded in a canonical order (warnings before tasks, then by id) without their `seq`, because tasks
/// interleave with warnings on the feed in an order that depends on thread timing.
public final class DrillRunner {
    let scenario: Scenario
    let config: TocsinConfiguration
    let options: DrillOptions
    let output: (String) -> Void
    let logger: Logger

    public init(scenario: Scenario, config: TocsinConfiguration, options: DrillOptions = DrillOptions(),
                logger: Logger = Logger(label: "tocsin.drill"), output: @escaping (String) -> Void = { print($0) }) {
        self.scenario = scenario
        self.config = config
        self.options = options
        self.logger = logger
        self.output = output
    }

    public func run() throws -> DrillOutcome {
        if options.connect { return try runConnected() }
        let dir = NSTemporaryDirectory() + "tocsin-drill-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var c = config
        c.endpoints.ingest = "ipc://\(dir)/ingest"
        c.endpoints.feed = "ipc://\(dir)/feed"
        c.endpoints.command = "ipc://\(dir)/command"
        c.dataPath = dir + "/data"
        c.durability = .normal
        c.security = SecurityConfig()
        // Virtual time replays hours in seconds: a real-time rate limit would refuse the drill's own platforms.
        c.rateLimits = .off
        let virtualNow = Mutex<Int64>(scenario.start.micros)
        var quiet = logger
        quiet.logLevel = .error
        let pipeline = try Pipeline(config: c, liveClock: false, logger: quiet,
                                    now: { Timestamp(micros: virtualNow.withLock { $0 }) })
        pipeline.start()
        defer { pipeline.stop() }
        let clock = try pipeline.makeVirtualClock()
        let session = try Session(config: c)
        defer { session.close() }
        return try replay(session: session) { t in
            virtualNow.withLock { $0 = t.micros }
            // Idempotent: resend until dispatch reports the new time (a PUB may drop the first to a slow joiner).
            for _ in 0..<400 {
                try clock.publish(t)
                if try session.waitIdle(now: t, attempts: 20) { return }
            }
            throw DrillError("the pipeline did not reach \(t.rfc3339)")
        }
    }

    /// Drives a running Tocsin: real time (times `speed`), event times from the wall clock.
    func runConnected() throws -> DrillOutcome {
        let session = try Session(config: config)
        defer { session.close() }
        return try replay(session: session, liveStart: WallClock.now()) { _ in
            _ = try session.waitIdle(now: nil, attempts: 200)
        }
    }

    // MARK: - The replay loop

    func replay(session: Session, liveStart: Timestamp? = nil, moveClock: (Timestamp) throws -> Void) throws -> DrillOutcome {
        var log = DrillLog(scenario: scenario)
        var events = scenario.expandedInjects()
        var nextEvent = 0
        var actions: [(offset: Double, actionID: String, request: JSONValue)] = []
        var fired = Set<String>()
        var contingencies = Set<String>()
        var checked = Set<String>()
        var feedSeq = try session.lastSeq()
        let drillIDs = Set(events.map(\.id))
        let speed = options.speed ?? (options.connect ? 1 : nil)
        let wallStart = Date()
        var t = 0.0
        func time(_ offset: Double) -> Timestamp {
            (liveStart ?? scenario.start).adding(seconds: offset)
        }
        while true {
            if let speed {
                let due = wallStart.addingTimeInterval(t / speed)
                let wait = due.timeIntervalSinceNow
                if wait > 0 { Thread.sleep(forTimeInterval: wait) }
            }
            // Injects due by now, in order, pipelined; each gets exactly one reply.
            var batch: [ScheduledEvent] = []
            while nextEvent < events.count && events[nextEvent].offset <= t {
                batch.append(events[nextEvent])
                nextEvent += 1
            }
            if !batch.isEmpty {
                let toSend = liveStart == nil ? batch.map(\.json) : batch.map { Self.retimed($0.json, to: WallClock.now()) }
                let replies = try session.publish(toSend)
                for (e, reply) in zip(batch, replies) {
                    // The log keeps what the report uses; the event's bytes were sent and are not needed again.
                    var kept = e
                    kept.json = []
                    log.append(.injected(offset: e.offset, kept, reply: reply))
                }
            }
            try moveClock(time(t))
            // Responder actions due by now, at the pipeline's time `t`; then wait until they have taken effect.
            actions.sort { ($0.offset, $0.actionID) < ($1.offset, $1.actionID) }
            // Each action takes effect before the next is tried, so that what a later one finds never depends
            // on thread timing.
            while let first = actions.first, first.offset <= t {
                actions.removeFirst()
                let request = log.resolved(first.request)
                let reply = try session.command(request)
                log.append(.action(offset: first.offset, description: scenario.describeAction(first.actionID, request: request),
                                   request: request, reply: reply))
                if reply["ok"] == true, try !session.waitIdle(now: liveStart == nil ? time(t) : nil, attempts: 2000) {
                    throw DrillError("the pipeline did not settle after the responders' actions at \(scenario.clock(t))")
                }
            }
            // The feed since last time, in a canonical order.
            let (messages, last) = try session.since(feedSeq)
            feedSeq = last
            var records: [(offset: Double, topic: String, body: JSONValue)] = []
            for m in messages {
                guard case .string(let topic)? = m["topic"], var body = m["body"] else { continue }
                let exercise = topic.hasPrefix("exercise/")
                if !exercise && liveStart != nil && !Self.mentions(body, drillIDs) { continue }
                if case .object(var o) = body {
                    o["seq"] = nil
                    body = .object(o)
                }
                let stamp = body["sent"]?.stringValue ?? body["updated"]?.stringValue
                let offset = stamp.flatMap { Timestamp(rfc3339: $0) }.map { $0 - (liveStart ?? scenario.start) } ?? t
                records.append((min(max(offset, 0), t), topic, body))
            }
            records.sort { a, b in
                let ka = (a.offset, FeedKind(topic: a.topic) == .task ? 1 : 0, a.body["id"]?.stringValue ?? "", a.body["state"]?.stringValue ?? "")
                let kb = (b.offset, FeedKind(topic: b.topic) == .task ? 1 : 0, b.body["id"]?.stringValue ?? "", b.body["state"]?.stringValue ?? "")
                return ka < kb
            }
            for r in records {
                log.append(.feed(offset: r.offset, topic: r.topic, body: r.body))
                if options.live { output(LiveLine.render(topic: r.topic, body: r.body, scenario: scenario, offset: r.offset, colour: options.colour)) }
                actions += scenario.actionsTriggered(by: r.topic, body: r.body, at: r.offset, alreadyFired: &fired)
            }
            // Contingency injects for expectations missed by now. An expectation can only be missed once its
            // deadline has passed and stays missed, so the log is examined only at steps where a deadline passes.
            let newlyDue = scenario.expectations.filter { $0.deadline <= t && !checked.contains($0.id) }
            checked.formUnion(newlyDue.map(\.id))
            let missed = newlyDue.isEmpty ? [] : scenario.missedExpectations(in: log, at: t)
            for id in missed where !contingencies.contains(id) {
                contingencies.insert(id)
                log.append(.contingency(offset: t, expectationID: id))
                let extra = scenario.contingencyInjects(for: id).map { e -> ScheduledEvent in
                    var e = e
                    e.offset = max(e.offset, t)
                    return e
                }
                events = Array(events[..<nextEvent]) + (Array(events[nextEvent...]) + extra).sorted { $0.offset < $1.offset }
            }
            // A progress line every 15 minutes of scenario time.
            if options.live && (t / 900).rounded(.down) != ((t - scenario.step) / 900).rounded(.down) {
                output(LiveLine.progress(scenario: scenario, offset: t, sent: nextEvent, total: events.count))
            }
            if t >= scenario.duration { break }
            // The next stop: the next clock step, or an earlier responder action.
            var next = min(scenario.duration, (t / scenario.step).rounded(.down) * scenario.step + scenario.step)
            if let a = actions.map(\.offset).min(), a > t, a < next { next = a }
            t = next
        }
        return DrillOutcome(log: log, results: scenario.evaluate(log))
    }

    /// True when a feed body's evidence or incident mentions one of the drill's events.
    static func mentions(_ body: JSONValue, _ ids: Set<String>) -> Bool {
        body["evidence"]?["sample"]?.arrayValue?.contains { $0.stringValue.map(ids.contains) ?? false } ?? false
    }

    /// The event with its `time` replaced (for a drill against a live instance).
    static func retimed(_ json: [UInt8], to t: Timestamp) -> [UInt8] {
        guard case .object(var o)? = try? JSONValue.parse(json) else { return json }
        o["time"] = .string(t.rfc3339)
        return JSONValue.object(o).serialized()
    }
}

public struct DrillError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The drill's sockets: a platform (DEALER to ingest) and a command center (DEALER to command).
final class Session {
    static let acceptedSuffix = Array(#","status":"accepted"}"#.utf8)
    let context: Context
    let ingest: Socket
    let command: Socket

    init(config: TocsinConfiguration) throws {
        context = try Context()
        ingest = try context.makeSocket(.dealer)
        try ingest.setSendHighWaterMark(100_000)
        try ingest.setReceiveHighWaterMark(100_000)
        try ingest.connect(config.endpoints.ingest)
        command = try context.makeSocket(.dealer)
        try command.connect(config.endpoints.command)
    }

    func close() {
        ingest.close()
        command.close()
        context.shutdown()
        context.terminate()
    }

    /// Sends every event (1,000 in flight at most) and returns each one's reply status, in order.
    func publish(_ events: [[UInt8]]) throws -> [String] {
        var replies: [String] = []
        replies.reserveCapacity(events.count)
        var sent = 0
        try ingest.setReceiveTimeout(milliseconds: 30_000)
        while replies.count < events.count {
            while sent < events.count && sent - replies.count < 1000 {
                try ingest.send([events[sent]])
                sent += 1
            }
            guard let m = try ingest.receive(), let frame = m.frames.last else {
                throw DrillError("no reply from the ingest endpoint")
            }
            // Nearly every reply is an acceptance: recognise it without parsing.
            if frame.count > Self.acceptedSuffix.count && frame.suffix(Self.acceptedSuffix.count).elementsEqual(Self.acceptedSuffix) {
                replies.append("accepted")
                continue
            }
            guard let v = try? JSONValue.parse(frame) else { throw DrillError("a reply from the ingest endpoint is not JSON") }
            let status = v["status"]?.stringValue ?? "?"
            replies.append(status == "rejected" ? "rejected: \(v["error"]?.stringValue ?? "")" : status)
        }
        return replies
    }

    func command(_ request: JSONValue) throws -> JSONValue {
        try command.setReceiveTimeout(milliseconds: 30_000)
        try command.send([request.serialized()])
        guard let m = try command.receive(), let frame = m.frames.last else {
            throw DrillError("no reply from the command endpoint")
        }
        return try JSONValue.parse(frame)
    }

    func lastSeq() throws -> Int64 {
        Int64(try command(["op": "stats"])["seq"]?.numberValue ?? 0)
    }

    func since(_ seq: Int64) throws -> ([JSONValue], Int64) {
        var all: [JSONValue] = []
        var after = seq
        while true {
            let reply = try command(["op": "since", "seq": .number(Double(after))])
            let messages = reply["messages"]?.arrayValue ?? []
            all += messages
            let last = Int64(reply["last"]?.numberValue ?? Double(after))
            guard let lastSeen = messages.last?["body"]?["seq"]?.numberValue, Int64(lastSeen) < last else {
                return (all, last)
            }
            after = Int64(lastSeen)
        }
    }

    /// Polls `progress` until the pipeline is idle (at `now`, when given). False after `attempts` tries.
    func waitIdle(now: Timestamp?, attempts: Int) throws -> Bool {
        for i in 0..<attempts {
            let p = try command(["op": "progress"])
            if p["idle"] == true, now == nil || p["now"]?.stringValue == now!.rfc3339 { return true }
            usleep(i < 10 ? 500 : 5_000)
        }
        return false
    }
}

/// Lines of the live stream shown with `--speed`.
enum LiveLine {
    static func render(topic: String, body: JSONValue, scenario: Scenario, offset: Double, colour: Bool) -> String {
        let clock = scenario.clock(offset)
        let tier = body["tier"]?.stringValue
        let code: String
        switch tier {
        case "I": code = "\u{1B}[1;31m"
        case "II": code = "\u{1B}[1;33m"
        case "III": code = "\u{1B}[33m"
        case "IV": code = "\u{1B}[34m"
        default: code = "\u{1B}[36m"
        }
        let on = colour ? code : "", off = colour ? "\u{1B}[0m" : ""
        if FeedKind(topic: topic) == .warning {
            let type = body["msgType"]?.stringValue ?? "?"
            let esc = body["escalated"] == true ? " ESCALATED" : ""
            return "\(on)[\(clock)] WARNING \(type.uppercased()) \(tier ?? "?") \(body["color"]?.stringValue ?? "")\(esc)"
                + " \(body["event"]?.stringValue ?? "") -> \(body["owner"]?.stringValue ?? "")\(off)  \(body["headline"]?.stringValue ?? "")"
        }
        let state = body["state"]?.stringValue ?? "?"
        return "\(colour ? "\u{1B}[36m" : "")[\(clock)] TASK \(state.padding(toLength: 12, withPad: " ", startingAt: 0))"
            + " \(body["owner"]?.stringValue ?? "") \(body["step"]?.stringValue ?? ""): \(body["action"]?.stringValue ?? "")\(off)"
    }

    static func progress(scenario: Scenario, offset: Double, sent: Int, total: Int) -> String {
        "  -- scenario time \(scenario.clock(offset)) (\(Int(offset / 60)) of \(Int(scenario.duration / 60)) min), \(sent)/\(total) injects sent"
    }
}
