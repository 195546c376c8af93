import Foundation
import Logging
import TocsinConfig
import TocsinCore
import TocsinStore
import ZeroMQ

/// The embedded default: every worker in one process over `inproc://`, the public endpoints bound as the
/// config says. `tocsin run` is this plus signal handling.
public final class Pipeline: @unchecked Sendable {
    public let config: TocsinConfiguration
    public let dataPath: String
    public let stats = PipelineStats()
    let context: Context
    let logger: Logger
    let zap: ZAPHandler?
    let journal: SQLiteJournal
    let ingest: IngestWorker
    let command: CommandWorker
    private var stopped = false

    /// Internal endpoints, in-process.
    public static let journalNotifyEndpoint = "inproc://tocsin.journal"

    /// Opens the data folder and binds every endpoint; throws (and releases everything) when any step fails.
    public init(config: TocsinConfiguration, dataPath: String? = nil, logger: Logger,
                now: @escaping @Sendable () -> Timestamp = WallClock.now) throws {
        self.config = config
        self.logger = logger
        let data = dataPath ?? config.dataPath
        self.dataPath = data
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        context = try Context(ioThreads: 1)
        var zap: ZAPHandler?
        var security: ServerSecurity?
        var journal: SQLiteJournal?
        var ingest: IngestWorker?
        do {
            if config.security.mode == .curve {
                guard let secret = config.security.serverSecretKey else {
                    throw PipelineError("security mode curve needs security.server_secret_key")
                }
                let handler = ZAPHandler(context: context, allowed: ServerSecurity.allowList(config),
                                         logger: logger)
                try handler.start()
                zap = handler
                security = ServerSecurity(secretKey: secret)
            }
            let j = try SQLiteJournal(path: data + "/journal.sqlite", sync: config.durability == .full ? .full : .normal)
            journal = j
            let decoder = EventDecoder(catalog: config.catalog, areas: config.areas,
                                       maxFutureSeconds: config.maxFutureSeconds)
            ingest = try IngestWorker(
                context: context,
                settings: .init(endpoint: config.endpoints.ingest, notifyEndpoint: Self.journalNotifyEndpoint,
                                security: security),
                journal: j, decoder: decoder, stats: stats, logger: logger, now: now)
            let zapRef = zap
            let handler = StatsOnlyHandler(stats: stats, zapDenied: { zapRef?.deniedCount ?? 0 })
            command = try CommandWorker(context: context, endpoint: config.endpoints.command, handler: handler,
                                        security: security, logger: logger)
        } catch {
            zap?.stop()
            ingest?.stop()
            try? journal?.close()
            context.shutdown()
            context.terminate()
            throw error
        }
        self.zap = zap
        self.journal = journal!
        self.ingest = ingest!
    }

    public func start() {
        ingest.start()
        command.start()
        logger.info("tocsin running", metadata: [
            "ingest": "\(config.endpoints.ingest)", "command": "\(config.endpoints.command)", "data": "\(dataPath)",
        ])
    }

    /// Stops every worker (ingest first, finishing its batch in flight), closes the journal and the context.
    public func stop() {
        if stopped { return }
        stopped = true
        ingest.stop()
        command.stop()
        zap?.stop()
        try? journal.close()
        context.shutdown()
        context.terminate()
        logger.info("tocsin stopped")
    }
}

public struct PipelineError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
