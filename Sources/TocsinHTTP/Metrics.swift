import CoreMetrics
import Foundation
import Hummingbird
import Metrics
import Prometheus
import TocsinCore

/// `/metrics` in the Prometheus text format: every `stats` figure as a counter (read from the command endpoint at
/// scrape time), the workers' histograms (ack latency, event-to-warning latency; recorded through swift-metrics)
/// and the HTTP server's own figures.
final class MetricsEndpoint: Sendable {
    let registry: PrometheusCollectorRegistry
    let command: CommandClient
    private let last = LockedBox<[String: Int64]>([:])

    init(registry: PrometheusCollectorRegistry, command: CommandClient) {
        self.registry = registry
        self.command = command
    }

    func register(on router: Router<BasicRequestContext>) {
        router.get("metrics") { _, _ in
            let up = await self.refresh()
            self.registry.makeGauge(name: "tocsin_up", help: "1 when the dispatch worker answered this scrape")
                .set(to: up ? 1.0 : 0.0)
            return HTTPServer.text(String(decoding: self.registry.emitToBuffer(), as: UTF8.self),
                                   contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
    }

    /// Brings the counters up to the pipeline's persistent `stats` (they count since the journal began).
    func refresh() async -> Bool {
        guard let stats = try? await command.request({ $0.field("op", "stats") }), stats["ok"]?.boolValue == true else {
            return false
        }
        var figures: [(key: String, name: String, labels: [(String, String)], help: String)] = []
        for outcome in ["accepted", "duplicate", "rejected", "oversized", "unauthorised", "rate_limited"] {
            figures.append(("events." + outcome, "tocsin_events_total", [("outcome", outcome)],
                            "Events answered by ingest, by outcome"))
        }
        figures.append(("warnings", "tocsin_warnings_total", [], "Warnings published on the feed"))
        figures.append(("escalations", "tocsin_escalations_total", [], "Warnings escalated for want of acknowledgement"))
        figures.append(("tasks", "tocsin_tasks_total", [], "Task messages published on the feed"))
        for f in figures {
            let parts = f.key.split(separator: ".").map(String.init)
            var value: JSONValue? = .object(stats)
            for p in parts { value = value?[p] }
            guard case .number(let n)? = value else { continue }
            let counter = f.labels.isEmpty
                ? registry.makeCounter(name: f.name, help: f.help)
                : registry.makeCounter(name: f.name, labels: f.labels, help: f.help)
            let now = Int64(n)
            let delta = last.update { seen -> Int64 in
                let d = now - (seen[f.key] ?? 0)
                seen[f.key] = now
                return d
            }
            if delta > 0 { counter.increment(by: delta) }
        }
        if case .number(let seq)? = stats["seq"] {
            registry.makeGauge(name: "tocsin_feed_seq", help: "The feed's last seq").set(to: seq)
        }
        return true
    }

    /// The process-wide registry, set as the swift-metrics backend once (before the workers make their timers).
    /// Latencies get buckets from 100 us to 10 s.
    static let shared: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(10),
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }()
}

/// The registry `tocsin run` (and tests) hand to the server: bootstraps swift-metrics on first use.
public enum TocsinMetrics {
    public static var registry: PrometheusCollectorRegistry { MetricsEndpoint.shared }
}

