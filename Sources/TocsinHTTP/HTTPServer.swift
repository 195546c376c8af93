import Dispatch
import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import TocsinConfig
import TocsinCore
import ZeroMQ

/// The command-center HTTP server of `tocsin run`: the JSON API and live stream for operators, the public CAP
/// documents and Atom feed, `/metrics`, `/healthz` and `/readyz`, and the dashboard. It talks to the pipeline only
/// through the dispatch worker's command endpoint and feed (in process), like any other client.
public final class HTTPServer: @unchecked Sendable {
    public let config: TocsinConfiguration
    let command: CommandClient
    let relay: FeedRelay
    let logger: Logger
    let metrics: MetricsEndpoint
    let counters: HTTPCounters
    private var group: ServiceGroup?
    private var runTask: Task<Void, Never>?
    /// The port the server listens on once started (the configured one, or the one picked for port 0).
    public private(set) var port: Int = 0

    public init(config: TocsinConfiguration, context: Context, commandEndpoint: String, feedEndpoint: String,
                registry: PrometheusCollectorRegistry, logger: Logger) {
        self.config = config
        self.logger = logger
        command = CommandClient(context: context, endpoint: commandEndpoint)
        relay = FeedRelay(context: context, feedEndpoint: feedEndpoint, command: command, logger: logger)
        counters = HTTPCounters(registry: registry)
        metrics = MetricsEndpoint(registry: registry, command: command)
    }

    /// The router with every route (also used by tests without a socket).
    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        let operators = OperatorDirectory(config.http.operators)
        API(operators: operators, command: command, logger: logger, counters: counters).register(on: router)
        LiveStream(operators: operators, command: command, relay: relay, logger: logger, counters: counters)
            .register(on: router)
        CAPFeed(config: config, command: command).register(on: router)
        metrics.register(on: router)
        Dashboard(config: config).register(on: router)
        let relay = self.relay, command = self.command
        router.get("healthz") { _, _ in HTTPServer.json(Array(#"{"ok":true}"#.utf8)) }
        router.get("readyz") { _, _ in
            // Ready when the dispatch worker answers and the live feed is relayed.
            let answered = (try? await command.request { $0.field("op", "stats") })?["ok"]?.boolValue == true
            let ready = answered && relay.isRunning
            var w = JSONWriter(capacity: 64)
            w.beginObject()
            w.field("ok", ready)
            w.field("command", answered)
            w.field("feed", relay.isRunning)
            w.endObject()
            return HTTPServer.json(w.bytes, status: ready ? .ok : .serviceUnavailable)
        }
        return router
    }

    /// Starts the feed relay and the server; returns once it listens (or throws why it cannot).
    public func start(timeout: Double = 10) throws {
        try relay.start()
        let bound = DispatchSemaphore(value: 0)
        let boundPort = LockedBox<Int?>(nil)
        let app = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(config.http.host, port: config.http.port), serverName: "tocsin"),
            onServerRunning: { channel in
                boundPort.set(channel.localAddress?.port)
                bound.signal()
            },
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        self.group = group
        let failure = LockedBox<String?>(nil)
        let logger = self.logger
        runTask = Task.detached(executorPreference: HTTPExecutor.shared) {
            do {
                try await group.run()
            } catch {
                failure.set("\(error)")
                logger.error("http server stopped: \(error)")
                bound.signal()
            }
        }
        if bound.wait(timeout: .now() + timeout) == .timedOut {
            stop()
            throw HTTPServerError("the HTTP server did not start within \(Int(timeout)) s")
        }
        if let reason = failure.get() {
            relay.stop()
            throw HTTPServerError("cannot listen on \(config.http.host):\(config.http.port): \(reason)")
        }
        port = boundPort.get() ?? config.http.port
        logger.info("http server listening", metadata: ["url": "http://\(config.http.host):\(port)/",
                                                        "operators": "\(config.http.operators.count)"])
        if config.http.operators.isEmpty {
            logger.warning("http: no operators configured (http.operators): the API and dashboard refuse every request")
        }
    }

    /// Ends the live streams, then the server (gracefully, within `timeout`).
    public func stop(timeout: Double = 3) {
        relay.stop()
        guard let group else { return }
        self.group = nil
        let done = DispatchSemaphore(value: 0)
        let task = runTask
        Task.detached(executorPreference: HTTPExecutor.shared) {
            await group.triggerGracefulShutdown()
            _ = await task?.value
            done.signal()
        }
        if done.wait(timeout: .now() + timeout) == .timedOut {
            runTask?.cancel()
            logger.warning("http server: graceful shutdown took over \(timeout) s; cancelled")
        }
    }

    static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func text(_ text: String, contentType: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

public struct HTTPServerError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A value shared between a server task and the thread waiting for it.
final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ value: T) { self.value = value }
    func get() -> T { lock.withLock { value } }
    func set(_ v: T) { lock.withLock { value = v } }
    func update<R>(_ body: (inout T) -> R) -> R { lock.withLock { body(&value) } }
}

/// The HTTP server's own figures on `/metrics`.
final class HTTPCounters: Sendable {
    let actions: Counter
    let streams: Gauge
    private let registry: PrometheusCollectorRegistry

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        actions = registry.makeCounter(name: "tocsin_http_actions_total", help: "Acknowledgements, steps and closes asked through the HTTP API")
        streams = registry.makeGauge(name: "tocsin_http_streams", help: "Open live-stream connections")
    }

    /// Counts a refused request by its status.
    func refusal(_ status: HTTPResponse.Status) {
        registry.makeCounter(name: "tocsin_http_refusals_total", labels: [("status", "\(status.code)")],
                             help: "API requests refused, by HTTP status").increment()
    }
}
