import ArgumentParser
import Dispatch
import Foundation
import Logging
import TocsinConfig
import TocsinHTTP
import TocsinWorkers

/// Options shared by the commands that load the configuration.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "The main configuration file.")
    var config: String = ConfigLoader.defaultPath

    @Option(name: .long, help: "The data folder (journal and state); default: the config's `data`.")
    var data: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func load() throws -> TocsinConfiguration {
        do {
            return try ConfigLoader.load(path: config)
        } catch {
            printError(error.description)
            throw ExitCode(2)
        }
    }

    func makeLogger(_ label: String) -> Logger {
        LoggingBootstrap.once(level: Logger.Level(rawValue: logLevel) ?? .info)
        return Logger(label: label)
    }
}

enum LoggingBootstrap {
    nonisolated(unsafe) static var done = false
    static func once(level: Logger.Level) {
        if done { return }
        done = true
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run every worker in one process and bind the public endpoints.")

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let signals = TerminationSignals()
        let config = try options.load()
        let logger = options.makeLogger("tocsin")
        // swift-metrics goes to the Prometheus registry of /metrics; before the workers make their timers.
        let registry = TocsinMetrics.registry
        let pipeline: Pipeline
        do {
            pipeline = try Pipeline(config: config, dataPath: options.data, logger: logger)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        pipeline.start()
        var http: HTTPServer?
        if config.http.enabled {
            let server = HTTPServer(config: config, context: pipeline.context, commandEndpoint: Pipeline.localCommand,
                                    feedEndpoint: Pipeline.localFeed, registry: registry, logger: logger)
            do {
                try server.start()
                http = server
            } catch {
                logger.critical("cannot start the HTTP server: \(error)")
                pipeline.stop()
                throw ExitCode(1)
            }
        }
        signals.onHangUp(reloader(options, pipeline, logger))
        signals.wait()
        logger.info("stopping on signal")
        http?.stop()
        pipeline.stop()
    }
}

/// SIGINT and SIGTERM, caught from the first line of a command on: one that arrives while the pipeline is still
/// starting (restoring its stores, or waiting for a killed worker's store or port to be free) makes the process
/// stop cleanly, with status 0, instead of killing it half-way with the signal's default action. SIGHUP is ignored
/// until `onHangUp` says what it does (its default action also ends the process).
final class TerminationSignals: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false
    private let arrived = DispatchSemaphore(value: 0)
    private var sources: [DispatchSourceSignal] = []

    init() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in
                lock.withLock { requested = true }
                arrived.signal()
            }
            source.resume()
            sources.append(source)
        }
        signal(SIGHUP, SIG_IGN)
    }

    /// Whether SIGINT or SIGTERM has arrived.
    var stopRequested: Bool { lock.withLock { requested } }

    /// Calls `handler` on every SIGHUP (on a serial queue, one at a time).
    func onHangUp(_ handler: @escaping @Sendable () -> Void) {
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "tocsin.reload"))
        source.setEventHandler { handler() }
        source.resume()
        lock.withLock { sources.append(source) }
    }

    /// Waits up to `seconds` for SIGINT or SIGTERM; true when one has arrived (now or before).
    func wait(seconds: Double) -> Bool {
        if stopRequested { return true }
        _ = arrived.wait(timeout: .now() + seconds)
        return stopRequested
    }

    /// Blocks until SIGINT or SIGTERM arrives (returns at once if one already has).
    func wait() {
        while !stopRequested { arrived.wait() }
    }
}

/// Reloads the configuration file on SIGHUP and hands it to the pipeline (keys and rate limits; see
/// `Pipeline.reload`). A file that does not load leaves everything as it was.
func reloader(_ options: ConfigOptions, _ pipeline: Pipeline, _ logger: Logger) -> @Sendable () -> Void {
    let path = options.config
    return {
        logger.notice("SIGHUP: reloading \(path)")
        do throws(ConfigError) {
            pipeline.reload(try ConfigLoader.load(path: path))
        } catch {
            logger.error("reload failed, configuration unchanged: \(error.description)")
        }
    }
}

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run one worker alone, over the config's internal tcp endpoints, sharing the data folder.",
        discussion: """
            ingest binds the ingest endpoint (and publishes the clock); dispatch binds the feed and command
            endpoints and answers `stats` for the whole pipeline; classify binds no public endpoint.
            """)

    @Argument(help: "ingest, classify, dispatch or plan.") var name: String
    @OptionGroup var options: ConfigOptions

    func run() throws {
        let signals = TerminationSignals()
        guard let role = WorkerRole(rawValue: name) else {
            printError("unknown worker \"\(name)\" (expected one of: \(WorkerRole.allCases.map(\.rawValue).joined(separator: ", ")))")
            throw ExitCode(2)
        }
        let config = try options.load()
        let logger = options.makeLogger("tocsin.\(role.rawValue)")
        // Workers share the data folder: right after another worker was killed, its store may be locked or its
        // port not yet free. Try for up to 10 s, saying why, before giving up.
        var pipeline: Pipeline?
        for attempt in 1...10 {
            do {
                pipeline = try Pipeline(config: config, dataPath: options.data, roles: [role], logger: logger)
                break
            } catch {
                if attempt == 10 {
                    logger.critical("cannot start: \(error)")
                    throw ExitCode(1)
                }
                logger.warning("cannot start yet (attempt \(attempt) of 10): \(error); retrying in 1 s")
                if signals.wait(seconds: 1) {
                    logger.info("stopping on signal before the start")
                    return
                }
            }
        }
        guard let pipeline else { throw ExitCode(1) }
        pipeline.start()
        signals.onHangUp(reloader(options, pipeline, logger))
        signals.wait()
        pipeline.stop()
    }
}
