import Foundation
import Logging
import TocsinConfig
import TocsinCore
import TocsinStore
import TocsinWorkers
import ZeroMQ

/// A `Pipeline` from the shipped config, on free loopback ports, with a fresh data folder.
struct RunningPipeline {
    let pipeline: Pipeline
    let ingestEndpoint: String
    let commandEndpoint: String
    let feedEndpoint: String
    let dataPath: String

    /// `roles`: the workers to run (all by default; `[.ingest]` measures the gateway and its journal alone, with
    /// no command endpoint to ask).
    init(configPath: String, durability: Durability, folder: String, logger: Logger,
         roles: Set<WorkerRole> = Set(WorkerRole.allCases)) throws {
        var config = try ConfigLoader.load(path: configPath)
        config.endpoints = Endpoints(ingest: "tcp://127.0.0.1:\(try freeTCPPort())",
                                     feed: "tcp://127.0.0.1:\(try freeTCPPort())",
                                     command: "tcp://127.0.0.1:\(try freeTCPPort())")
        if roles != Set(WorkerRole.allCases) {
            // Some workers only: they talk over the internal tcp endpoints, on free ports here.
            func port() throws -> String { "tcp://127.0.0.1:\(try freeTCPPort())" }
            config.endpoints.internal = InternalEndpoints(
                journal: try port(), clock: try port(), incidents: try port(), control: try port(),
                warnings: try port(), tasks: try port(), plan: try port())
        }
        config.durability = durability
        // One platform pushes over 100,000 events/s here: the benchmark measures the gateway, not the limit.
        config.rateLimits = .off
        dataPath = folder + "/data-\(durability.rawValue)-\(UUID().uuidString.prefix(8))"
        pipeline = try Pipeline(config: config, dataPath: dataPath, roles: roles, logger: logger)
        ingestEndpoint = config.endpoints.ingest
        commandEndpoint = config.endpoints.command
        feedEndpoint = config.endpoints.feed
        pipeline.start()
    }

    /// `events.accepted` and `events.rejected` from the command endpoint's `stats` (the wire contract, so the
    /// benchmark does not depend on how the pipeline keeps its counters); nil when it does not answer.
    func stats() -> (accepted: Int, rejected: Int)? {
        guard let context = try? Context(ioThreads: 1) else { return nil }
        defer {
            context.shutdown()
            context.terminate()
        }
        guard let socket = try? context.makeSocket(.dealer) else { return nil }
        defer { socket.close() }
        guard (try? socket.setReceiveTimeout(milliseconds: 5000)) != nil,
              (try? socket.connect(commandEndpoint)) != nil,
              (try? socket.send([Array(#"{"op":"stats"}"#.utf8)])) == true,
              let reply = try? socket.receive(), let frame = reply.frames.last,
              let value = try? JSONValue.parse(frame), let events = value["events"],
              let accepted = events["accepted"]?.numberValue, let rejected = events["rejected"]?.numberValue
        else { return nil }
        return (Int(accepted), Int(rejected))
    }

    func stop() {
        pipeline.stop()
        try? FileManager.default.removeItem(atPath: dataPath)
    }
}

struct IngestResult: Sendable {
    var clients: Int
    var perSecond: Double
    var total: ClientResult
    var perClient: [ClientResult]
    /// The pipeline's own counters after the run (`stats` on the command endpoint; -1 when it did not answer).
    var serverAccepted: Int
    var serverRejected: Int
    var journalBytes: Int64
    /// Seconds `Pipeline.stop()` took after the run.
    var stopSeconds: Double
}

/// Accepted events per second with `clients` platforms pipelining `window` events each.
func measureIngest(configPath: String, durability: Durability, clients: Int, window: Int, warmup: Double,
                   seconds: Double, folder: String, run: String, logger: Logger) throws -> IngestResult {
    let p = try RunningPipeline(configPath: configPath, durability: durability, folder: folder, logger: logger)
    var stopped = false
    defer { if !stopped { p.stop() } }
    let timing = Window.after(warmup: warmup, seconds: seconds)
    let runID = "\(run)\(durability == .full ? "f" : "n")\(clients)"
    let (total, each) = try runClients(
        endpoint: p.ingestEndpoint, clients: clients, window: window, timing: timing,
        message: { c in
            var factory = EventFactory(run: runID, client: c)
            return { seq in factory.make(seq) }
        },
        check: isAccepted)
    // Counters may reach the command worker a moment after the last reply: ask until they settle (3 s at most).
    var counts = p.stats() ?? (accepted: -1, rejected: -1)
    let settle = monoNanos() + 3_000_000_000
    while counts.accepted != total.sent && monoNanos() < settle {
        usleep(100_000)
        counts = p.stats() ?? counts
    }
    var journalBytes: Int64 = 0
    for name in ["journal.sqlite", "journal.sqlite-wal"] {
        let attrs = try? FileManager.default.attributesOfItem(atPath: p.dataPath + "/" + name)
        journalBytes += (attrs?[.size] as? NSNumber)?.int64Value ?? 0
    }
    // How long `Pipeline.stop()` takes right after a burst (it waits for workers still busy with the backlog).
    let stopStart = monoNanos()
    p.stop()
    stopped = true
    return IngestResult(clients: clients, perSecond: Double(total.counted) / timing.seconds, total: total,
                        perClient: each, serverAccepted: counts.accepted, serverRejected: counts.rejected,
                        journalBytes: journalBytes, stopSeconds: Double(monoNanos() - stopStart) / 1e9)
}

/// Ack latency of one platform sending `rate` events per second.
func measureLatency(configPath: String, durability: Durability, rate: Double, warmup: Double, seconds: Double,
                    folder: String, run: String, logger: Logger) throws -> LatencyResult {
    let p = try RunningPipeline(configPath: configPath, durability: durability, folder: folder, logger: logger)
    defer { p.stop() }
    return try runPacedClient(endpoint: p.ingestEndpoint, rate: rate, warmup: warmup, seconds: seconds,
                              run: "\(run)l\(durability == .full ? "f" : "n")")
}
