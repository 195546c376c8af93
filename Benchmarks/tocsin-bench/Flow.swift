// End to end with platforms and command centers as separate processes over tcp: platforms (`platform` children)
// -> ingest -> classify -> dispatch (+ plan) -> 10 feed subscribers (one `subscribers` child). The same run
// against the raw relay (FanOut.swift) gives the transport's own latency at the same rate: the raw limit.
import Foundation
import Histogram
import Logging
import TocsinConfig
import TocsinCore
import ZeroMQ

/// A DEALER on the command endpoint, used from the calling thread only (its own context).
final class CommandClient {
    private let context: Context
    private let socket: Socket

    init(endpoint: String) throws {
        context = try Context(ioThreads: 1)
        socket = try context.makeSocket(.dealer)
        try socket.setReceiveTimeout(milliseconds: 5000)
        try socket.connect(endpoint)
    }

    /// The reply to `{"op": op}`, parsed; nil when it does not answer within 5 s.
    func ask(_ op: String) -> JSONValue? {
        guard (try? socket.send([Array("{\"op\":\"\(op)\"}".utf8)])) == true,
              let reply = try? socket.receive(), let frame = reply.frames.last else { return nil }
        return try? JSONValue.parse(frame)
    }

    /// Polls `progress` until the pipeline is idle with at least `journal` events journaled; returns when it was
    /// seen idle (monotonic ns), nil on time-out.
    func waitIdle(journal: Int, timeout: Double) -> UInt64? {
        let deadline = monoNanos() + nanos(timeout)
        while monoNanos() < deadline {
            if let p = ask("progress"), p["idle"]?.boolValue == true,
               Int(p["journal"]?.numberValue ?? -1) >= journal
            {
                return monoNanos()
            }
            usleep(10_000)
        }
        return nil
    }

    func close() {
        socket.close()
        context.shutdown()
        context.terminate()
    }
}

/// What sits between the platforms and the subscribers.
enum FlowTarget {
    case tocsin(Durability)
    /// The ingest worker alone (gateway and journal: what acknowledges an event), no downstream workers.
    case ingestOnly(Durability)
    case relay

    var label: String {
        switch self {
        case .tocsin(let d): "tocsin-\(d.rawValue)"
        case .ingestOnly(let d): "ingest-only-\(d.rawValue)"
        case .relay: "relay"
        }
    }

    /// Whether warnings reach the subscribers (everything but the ingest worker alone).
    var warns: Bool {
        if case .ingestOnly = self { false } else { true }
    }
}

struct FlowSettings {
    var platforms = 4
    var subscribers = 10
    /// Events per second over all platforms; nil: each platform keeps `window` events in flight.
    var rate: Double?
    var window = 1000
    /// One event in `every` makes a warning.
    var every = 20
    var warmup = 1.0
    var seconds = 5.0

    var json: [String: Any] {
        ["platforms": platforms, "subscribers": subscribers, "rate": rate ?? 0, "window": window, "every": every,
         "warmup": warmup, "seconds": seconds]
    }
}

struct FlowResult {
    var target: String
    var settings: FlowSettings
    /// Warnings are expected on the feed (not for the ingest worker alone).
    var warns = true
    var sent = 0
    var accepted = 0
    var notAccepted = 0
    var firstNotAccepted: String?
    /// Acks received inside the measured window, all platforms.
    var ackedInWindow = 0
    var triggersSent = 0
    var triggersInWindow = 0
    /// Send to ack, µs, of events scheduled in the window (paced runs).
    var ack = latencyHistogram()
    /// Scheduled send to the warning's arrival, µs, every subscriber (paced runs).
    var warning = latencyHistogram()
    var receivedBySubscriber: [Int] = []
    var matchedBySubscriber: [Int] = []
    var unmatched = 0
    var warningsBeforeSchedule = 0
    var startedLate = false
    var maxSendLagMicros = 0
    var achievedRate = 0.0
    /// From the first send to the pipeline idle (everything journaled classified, dispatched and planned).
    var secondsToIdle = 0.0
    /// From the end of sending to idle.
    var drainSeconds = 0.0
    var idleReached = true
    /// CPU seconds this process (the pipeline) used during the run, and the run's wall seconds.
    var cpuSeconds = 0.0
    var wallSeconds = 0.0
    /// Busy CPU seconds of the whole machine over the same time (the platform and subscriber processes, libzmq's
    /// threads, the kernel's work for them: everything).
    var machineCPUSeconds = 0.0
    /// CPU seconds by thread over the same time: the pipeline's threads by name (`journal`, `ingest`, ...), and
    /// the platform and subscriber processes' threads as `platforms: <name>` and `subscribers: <name>` (their main
    /// thread and libzmq's I/O thread), summed over the processes, from their start signal to their end.
    var cpuSecondsByThread: [String: Double] = [:]

    /// CPU time per accepted event, microseconds: the pipeline's process, and the whole machine. Steadier than
    /// events/s on a shared machine, and what decides how many events/s two cores can take.
    var pipelineMicrosPerEvent: Double { accepted > 0 ? cpuSeconds * 1e6 / Double(accepted) : 0 }
    var machineMicrosPerEvent: Double { accepted > 0 ? machineCPUSeconds * 1e6 / Double(accepted) : 0 }
    /// `cpuSecondsByThread` per accepted event, microseconds.
    var microsPerEventByThread: [String: Double] {
        accepted > 0 ? cpuSecondsByThread.mapValues { $0 * 1e6 / Double(accepted) } : [:]
    }
    /// The threads that used the most per event, as `name us, ...`.
    func busiestThreads(_ count: Int) -> String {
        microsPerEventByThread.sorted { $0.value > $1.value }.prefix(count)
            .map { "\($0.key) \(fixed($0.value, 2))" }.joined(separator: ", ")
    }

    /// Accepted events per second inside the window (the ingest figure).
    var ingestPerSecond: Double { Double(ackedInWindow) / settings.seconds }
    /// Every accepted event through to the feed, per second from the first send to idle.
    var sustainedPerSecond: Double { Double(accepted) / max(secondsToIdle, 1e-9) }

    /// Problems that make the figures count something else than they claim.
    var problems: [String] {
        var out: [String] = []
        if notAccepted > 0 || accepted != sent {
            out.append("\(target): sent \(sent), accepted \(accepted), not accepted \(notAccepted)"
                       + (firstNotAccepted.map { "; e.g. \($0)" } ?? ""))
        }
        if let i = matchedBySubscriber.firstIndex(where: { $0 != (warns ? triggersSent : 0) }) {
            out.append("\(target): subscriber \(i) got \(matchedBySubscriber[i]) warnings for \(triggersSent) "
                       + "warning-making events (all: \(matchedBySubscriber))")
        }
        if unmatched > 0 { out.append("\(target): \(unmatched) feed messages not matched to a warning-making event") }
        if startedLate { out.append("\(target): a platform was not ready at the start time") }
        if let rate = settings.rate, achievedRate < rate * 0.97 {
            out.append("\(target): the platforms reached only \(grouped(achievedRate)) of \(grouped(rate)) events/s")
        }
        if !idleReached { out.append("\(target): the pipeline did not become idle within the time allowed") }
        return out
    }

    var json: [String: Any] {
        var doc: [String: Any] = [
            "target": target, "settings": settings.json, "sent": sent, "accepted": accepted,
            "not_accepted": notAccepted, "acked_in_window": ackedInWindow, "ingest_per_second": ingestPerSecond,
            "sustained_per_second": sustainedPerSecond, "seconds_to_idle": secondsToIdle,
            "drain_seconds": drainSeconds, "triggers_sent": triggersSent, "triggers_in_window": triggersInWindow,
            "received_by_subscriber": receivedBySubscriber, "matched_by_subscriber": matchedBySubscriber,
            "unmatched": unmatched, "warnings_before_schedule": warningsBeforeSchedule,
            "max_send_lag_ms": Double(maxSendLagMicros) / 1000, "achieved_rate": achievedRate,
            "cpu_seconds": cpuSeconds, "wall_seconds": wallSeconds, "machine_cpu_seconds": machineCPUSeconds,
            "pipeline_cpu_us_per_event": pipelineMicrosPerEvent, "machine_cpu_us_per_event": machineMicrosPerEvent,
            "cpu_us_per_event_by_thread": microsPerEventByThread, "problems": problems,
        ]
        if settings.rate != nil {
            doc["send_to_ack"] = percentilesJSON(ack)
            doc["send_to_warning"] = percentilesJSON(warning)
        }
        if let f = firstNotAccepted { doc["first_not_accepted"] = f }
        return doc
    }
}

extension FlowResult {
    /// Adds a child's CPU seconds by thread (`cpu_seconds_by_thread` of its result) under `role: <name>`.
    mutating func addThreads(_ value: Any?, as role: String) {
        for (name, t) in (value as? [String: Any]) ?? [:] { cpuSecondsByThread["\(role): \(name)", default: 0] += double(t) }
    }
}

/// CPU seconds (user + system) of this process so far (`getrusage`).
func processCPUSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6
        + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
}

/// One run: `settings.platforms` platform processes and one process of `settings.subscribers` SUBs
/// (`actual/warning/`), against a fresh in-process `Pipeline` (shipped config, tcp endpoints) or the relay.
func runFlow(_ target: FlowTarget, _ settings: FlowSettings, configPath: String, folder: String, run: String,
             logger: Logger) throws -> FlowResult {
    var pipeline: RunningPipeline?
    var relay: RelayServer?
    let ingest: String, feed: String
    switch target {
    case .tocsin(let durability):
        let p = try RunningPipeline(configPath: configPath, durability: durability, folder: folder, logger: logger)
        pipeline = p
        ingest = p.ingestEndpoint
        feed = p.feedEndpoint
    case .ingestOnly(let durability):
        let p = try RunningPipeline(configPath: configPath, durability: durability, folder: folder, logger: logger,
                                    roles: [.ingest])
        pipeline = p
        ingest = p.ingestEndpoint
        feed = p.feedEndpoint
    case .relay:
        let r = try RelayServer()
        relay = r
        ingest = r.ingestEndpoint
        feed = r.feedEndpoint
    }
    var children: [BenchChild] = []
    var finished = false
    defer {
        if !finished { children.forEach { $0.abandon() } }
        pipeline?.stop()
        relay?.stop()
    }
    let perPlatform = settings.rate.map { $0 / Double(settings.platforms) }
    var common = ["--run", run, "--every", "\(settings.every)", "--warmup", "\(settings.warmup)"]
    let subscribers = try BenchChild(
        mode: "subscribers", name: "\(run)-subscribers",
        arguments: common + ["--endpoint", feed, "--count", "\(settings.subscribers)", "--prefix", "actual/warning/",
                             "--interval", "\(perPlatform.map { 1e9 / $0 } ?? 0)"],
        folder: folder)
    children.append(subscribers)
    common += ["--seconds", "\(settings.seconds)", "--platforms", "\(settings.platforms)", "--endpoint", ingest]
    var platforms: [BenchChild] = []
    for k in 0..<settings.platforms {
        var args = common + ["--index", "\(k)"]
        if let perPlatform { args += ["--rate", "\(perPlatform)"] } else { args += ["--window", "\(settings.window)"] }
        let child = try BenchChild(mode: "platform", name: "\(run)-platform-\(k)", arguments: args, folder: folder)
        platforms.append(child)
        children.append(child)
    }
    try subscribers.waitReady()
    for p in platforms { try p.waitReady() }
    let command = target.warns ? try pipeline.map { try CommandClient(endpoint: $0.commandEndpoint) } : nil
    defer { command?.close() }

    let cpu0 = processCPUSeconds()
    let threads0 = threadCPUSeconds()
    let machine0 = CPUSample.now().machine
    let t0 = monoNanos() + 200_000_000
    for c in children { c.send("go \(t0)") }
    var r = FlowResult(target: target.label, settings: settings, warns: target.warns)
    let sendEnd = t0 + nanos(settings.warmup + settings.seconds)
    for (k, p) in platforms.enumerated() {
        let doc = try p.finish(timeout: 0.2 + settings.warmup + settings.seconds + 60)
        r.sent += int(doc["sent"])
        r.accepted += int(doc["accepted"])
        r.notAccepted += int(doc["not_accepted"])
        r.ackedInWindow += int(doc["counted"])
        r.triggersSent += int(doc["triggers_sent"])
        r.triggersInWindow += int(doc["triggers_in_window"])
        r.startedLate = r.startedLate || (doc["started_late"] as? Bool ?? false)
        r.maxSendLagMicros = max(r.maxSendLagMicros, int(doc["max_send_lag_us"]))
        r.achievedRate += double(doc["achieved_rate"])
        if r.firstNotAccepted == nil, let f = doc["first_not_accepted"] as? String { r.firstNotAccepted = "platform \(k): \(f)" }
        addPairs(doc["ack_us"], to: &r.ack)
        r.addThreads(doc["cpu_seconds_by_thread"], as: "platforms")
    }
    var idleAt = monoNanos()
    if let command {
        if let at = command.waitIdle(journal: r.accepted, timeout: 120) {
            idleAt = at
        } else {
            r.idleReached = false
        }
    }
    r.secondsToIdle = Double(idleAt - t0) / 1e9
    r.drainSeconds = idleAt > sendEnd ? Double(idleAt - sendEnd) / 1e9 : 0
    r.cpuSeconds = processCPUSeconds() - cpu0
    r.machineCPUSeconds = CPUSample.now().machine - machine0
    // This process's threads: the pipeline's (the relay's), and the benchmark's own main thread.
    for (name, t) in threadCPUDelta(threads0, threadCPUSeconds()) { r.cpuSecondsByThread[name, default: 0] += t }
    r.wallSeconds = Double(monoNanos() - t0) / 1e9
    usleep(300_000)  // the last warnings cross the feed
    let doc = try subscribers.finish(timeout: 30)
    finished = true
    r.receivedBySubscriber = (doc["received"] as? [NSNumber])?.map(\.intValue) ?? []
    r.matchedBySubscriber = (doc["matched"] as? [NSNumber])?.map(\.intValue) ?? []
    r.unmatched = int(doc["unmatched"])
    r.addThreads(doc["cpu_seconds_by_thread"], as: "subscribers")
    r.warningsBeforeSchedule = int(doc["before_schedule"])
    addPairs(doc["latency_us"], to: &r.warning)
    return r
}
