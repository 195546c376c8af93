import Foundation
import Logging
import TocsinConfig
import TocsinCore
import TocsinStore
import ZeroMQ

/// The workers a process runs.
public enum WorkerRole: String, Sendable, CaseIterable {
    case ingest, classify, dispatch, plan
}

/// Runs a set of workers in one process. `tocsin run` runs them all over `inproc://` (the embedded default);
/// `tocsin worker NAME` runs one, over the config's internal tcp endpoints, sharing the data folder.
public final class Pipeline: @unchecked Sendable {
    public let config: TocsinConfiguration
    public let dataPath: String
    public let roles: Set<WorkerRole>
    /// The ZeroMQ context of this process's workers: an in-process client (the HTTP server) connects through it
    /// to `localFeed` and `localCommand`.
    public let context: Context
    /// Where the dispatch worker of this process also binds its feed and command endpoint, for in-process clients.
    public static let localFeed = "inproc://tocsin.local.feed"
    public static let localCommand = "inproc://tocsin.local.command"
    let logger: Logger
    let zap: ZAPHandler?
    let journal: SQLiteJournal?
    let ticker: Ticker?
    let ingest: IngestWorker?
    let classify: ClassifyWorker?
    let dispatch: DispatchWorker?
    let plan: PlanWorker?
    /// What ingest hands classify here (nil unless both run in this process).
    let tap: JournalTap?
    /// Events classify took from ingest as records instead of reading them from the journal, and events the
    /// tap dropped unread (classify then read them from the journal), since start; nil without a tap.
    public var journalTapCounts: (taken: Int, dropped: Int)? { tap?.counts }
    /// The clock endpoint when the pipeline has no live ticker (see `makeVirtualClock`).
    let clockEndpoint: String?
    private var virtualClock: VirtualClock?
    private var stopped = false

    /// Opens the data folder and binds every endpoint of `roles`; throws (and releases everything) when any
    /// step fails. `clock` is the time source: the live ticker by default, or none (a drill drives time by
    /// publishing on the clock endpoint itself).
    public init(config: TocsinConfiguration, dataPath: String? = nil, roles: Set<WorkerRole> = Set(WorkerRole.allCases),
                liveClock: Bool = true, logger: Logger, now: @escaping @Sendable () -> Timestamp = WallClock.now) throws {
        self.config = config
        self.logger = logger
        self.roles = roles
        let data = dataPath ?? config.dataPath
        self.dataPath = data
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let internalEndpoints = roles == Set(WorkerRole.allCases) ? InternalEndpoints.inProcess : config.endpoints.internal
        let context = try Context(ioThreads: 1)
        self.context = context
        let sync: SyncMode = config.durability == .full ? .full : .normal
        var zap: ZAPHandler?
        var journal: SQLiteJournal?
        var ticker: Ticker?
        var ingest: IngestWorker?
        var classify: ClassifyWorker?
        var dispatch: DispatchWorker?
        var plan: PlanWorker?
        var tap: JournalTap?
        do {
            var security: ServerSecurity?
            if config.security.mode == .curve {
                guard let secret = config.security.serverSecretKey else {
                    throw PipelineError("security mode curve needs security.server_secret_key")
                }
                let handler = ZAPHandler(context: context, allowed: ServerSecurity.allowList(config), logger: logger)
                try handler.start()
                zap = handler
                security = ServerSecurity(secretKey: secret, handler: handler)
            }
            let zapRef = zap
            let zapDenied: @Sendable () -> Int = { zapRef?.deniedCount ?? 0 }
            if roles.contains(.ingest) {
                let j = try SQLiteJournal(path: data + "/journal.sqlite", sync: sync)
                journal = j
                // With classify in this process too, it takes the events ingest journals as records instead of
                // reading and decoding them again (`JournalTap`).
                if roles.contains(.classify) { tap = try JournalTap(end: try j.lastSeq()) }
                let decoder = EventDecoder(catalog: config.catalog, areas: config.areas,
                                           maxFutureSeconds: config.maxFutureSeconds)
                // With dispatch in this process, dispatch reports ZAP refusals itself.
                let dispatchHere = roles.contains(.dispatch)
                let ingestZap: @Sendable () -> Int = { dispatchHere ? 0 : (zapRef?.deniedCount ?? 0) }
                var settings = IngestWorker.Settings(endpoint: config.endpoints.ingest,
                                                     notifyEndpoint: internalEndpoints.journal, security: security,
                                                     rateLimits: config.rateLimits)
                settings.storesRefusedConnections = !dispatchHere
                ingest = try IngestWorker(
                    context: context, settings: settings, journal: j, decoder: decoder, logger: logger,
                    zapDenied: ingestZap, now: now, tap: tap)
                if liveClock {
                    ticker = try Ticker(context: context, endpoint: internalEndpoints.clock, now: now)
                }
            }
            if roles.contains(.classify) {
                classify = try ClassifyWorker(
                    context: context,
                    endpoints: .init(journal: internalEndpoints.journal, clock: internalEndpoints.clock,
                                     incidents: internalEndpoints.incidents, control: internalEndpoints.control),
                    journalPath: data + "/journal.sqlite", storePath: data + "/classify.sqlite", sync: sync,
                    catalog: config.catalog, areas: config.areas, logger: logger, tap: tap)
            }
            if roles.contains(.dispatch) {
                dispatch = try DispatchWorker(
                    context: context,
                    endpoints: .init(feed: config.endpoints.feed, command: config.endpoints.command,
                                     incidents: internalEndpoints.incidents, control: internalEndpoints.control,
                                     warnings: internalEndpoints.warnings, plan: internalEndpoints.plan,
                                     tasks: internalEndpoints.tasks, localFeed: Self.localFeed,
                                     localCommand: Self.localCommand),
                    dataPath: data, config: config, security: security, logger: logger, zapDenied: zapDenied)
            }
            if roles.contains(.plan) {
                plan = try PlanWorker(
                    context: context,
                    endpoints: .init(warnings: internalEndpoints.warnings, tasks: internalEndpoints.tasks,
                                     plan: internalEndpoints.plan),
                    dataPath: data, plans: config.plans, sync: sync, logger: logger)
            }
        } catch {
            zap?.stop()
            ingest?.stop()
            classify?.stop()
            ticker?.stop()
            try? journal?.close()
            context.shutdown()
            context.terminate()
            throw error
        }
        if let dispatch, let ingest { dispatch.countRefusedConnections { ingest.refusedConnections } }
        self.zap = zap
        self.journal = journal
        self.tap = tap
        self.ticker = ticker
        self.ingest = ingest
        self.classify = classify
        self.dispatch = dispatch
        self.plan = plan
        self.clockEndpoint = liveClock ? nil : internalEndpoints.clock
    }

    /// The clock of a pipeline made with `liveClock: false`: whoever holds it decides the time. Use it from one
    /// thread only.
    public func makeVirtualClock() throws -> VirtualClock {
        guard let endpoint = clockEndpoint else { throw PipelineError("this pipeline runs on its live clock") }
        if let virtualClock { return virtualClock }
        let clock = try VirtualClock(context: context, endpoint: endpoint)
        virtualClock = clock
        return clock
    }

    public func start() {
        dispatch?.start()
        plan?.start()
        classify?.start()
        ingest?.start()
        ticker?.start()
        logger.info("tocsin running", metadata: [
            "workers": "\(roles.map(\.rawValue).sorted().joined(separator: ","))", "data": "\(dataPath)",
        ])
    }

    /// Applies what a configuration reload (SIGHUP) may change while running: the ZAP allow-list of platform and
    /// client keys (a removed key is refused at its next handshake, and its open connections are refused message
    /// by message; the feed drops its connections so that every subscriber handshakes again) and the ingest
    /// rate limits. Everything else (endpoints, catalog, areas, durability) applies at the next start.
    public func reload(_ new: TocsinConfiguration) {
        if let zap {
            if new.security.mode != .curve {
                logger.warning("reload: security mode \(new.security.mode.rawValue) ignored until restart; keys reloaded")
            }
            let old = zap.allowed
            let allowed = ServerSecurity.allowList(new)
            zap.update(allowed: allowed)
            let revoked = old.filter { allowed[$0.key] != $0.value }.count
            if revoked > 0 { dispatch?.dropFeedConnections() }
            logger.notice("reload: ZAP allow-list replaced", metadata: [
                "keys": "\(allowed.count)", "revoked": "\(revoked)", "added": "\(allowed.filter { old[$0.key] != $0.value }.count)",
            ])
        } else if new.security.mode == .curve {
            logger.warning("reload: security mode curve takes effect at the next start")
        }
        ingest?.updateRateLimits(new.rateLimits)
    }

    /// Stops every worker (ingest first, finishing its batch in flight), closes the journal and the context.
    public func stop() {
        if stopped { return }
        stopped = true
        ticker?.stop()
        virtualClock?.close()
        ingest?.stop()
        classify?.stop()
        dispatch?.stop()
        plan?.stop()
        zap?.stop()
        try? journal?.close()
        context.shutdown()
        context.terminate()
        logger.info("tocsin stopped")
    }
}

public struct PipelineError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
