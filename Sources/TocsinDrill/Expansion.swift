// Expanding injects into the events a drill sends: deterministic, seeded generators.

import Foundation
import TocsinCore

/// One event to send, at an offset from the scenario start.
public struct ScheduledEvent: Sendable, Hashable {
    /// Seconds from the scenario start.
    public var offset: Double
    /// The event's id: `<scenario slug>-<inject #>-<n>`, or `<slug>-c<contingency #>-<inject #>-<n>`.
    public var id: String
    /// The full event JSON as a platform sends it: `status` exercise, `time` = start + offset, `source` = platform.
    public var json: [UInt8]
    /// The publishing platform's area path.
    public var source: String
    /// The event type.
    public var type: String
    /// The inject's name, for the report.
    public var label: String?

    public init(offset: Double, id: String, json: [UInt8], source: String, type: String, label: String? = nil) {
        self.offset = offset
        self.id = id
        self.json = json
        self.source = source
        self.type = type
        self.label = label
    }
}

/// The expansion's generator: SplitMix64, the same on every platform.
typealias SeededGenerator = SplitMix64

extension Scenario {
    /// Every inject's events, sorted by offset then declaration order (inject, then event). Deterministic: the
    /// generators are seeded, so expanding twice gives equal results.
    public func expandedInjects() -> [ScheduledEvent] {
        var out: [(order: Int, event: ScheduledEvent)] = []
        for (i, inject) in injects.enumerated() {
            for e in expand(inject, idPrefix: "\(slug)-\(i + 1)") { out.append((out.count, e)) }
        }
        return Self.sorted(out)
    }

    /// The events of the contingencies triggered when expectation `expectationID` is missed, offsets from the
    /// scenario start, sorted like `expandedInjects()`. Empty when no contingency names it.
    public func contingencyInjects(for expectationID: String) -> [ScheduledEvent] {
        var out: [(order: Int, event: ScheduledEvent)] = []
        for (k, c) in contingencies.enumerated() where c.expectation == expectationID {
            for (i, inject) in c.injects.enumerated() {
                for e in expand(inject, idPrefix: "\(slug)-c\(k + 1)-\(i + 1)") { out.append((out.count, e)) }
            }
        }
        return Self.sorted(out)
    }

    /// All events the scenario can send: its injects and every contingency's.
    public var eventCount: (injects: Int, contingencies: Int) {
        let main = injects.reduce(0) { $0 + $1.eventCount }
        let extra = contingencies.reduce(0) { $0 + $1.injects.reduce(0) { $0 + $1.eventCount } }
        return (main, extra)
    }

    private static func sorted(_ list: [(order: Int, event: ScheduledEvent)]) -> [ScheduledEvent] {
        list.sorted { ($0.event.offset, $0.order) < ($1.event.offset, $1.order) }.map(\.event)
    }

    /// The events of one inject, in generation order.
    func expand(_ inject: Inject, idPrefix: String) -> [ScheduledEvent] {
        var rng: SeededGenerator
        var points: [(offset: Double, location: GeoPoint, series: Double?)] = []
        switch inject.pattern {
        case .single:
            rng = SeededGenerator(seed: 1)
            points = [(inject.at, inject.location, nil)]
        case .series(let s):
            rng = SeededGenerator(seed: s.seed)
            let n = s.count
            for k in 0..<n {
                // Readings every `every` seconds; the value is where the line stands at that moment.
                let elapsed = Double(k) * s.every
                let fraction = s.over <= 0 ? 1 : min(1, elapsed / s.over)
                var v = s.from + (s.to - s.from) * fraction
                if k > 0 && k < n - 1 && s.noise > 0 { v += (rng.unit() * 2 - 1) * s.noise }
                if min(s.from, s.to) >= 0 { v = max(0, v) }
                points.append((Self.round(inject.at + elapsed, 3), inject.location, Self.round(v, s.decimals)))
            }
        case .burst(let b):
            rng = SeededGenerator(seed: b.seed)
            var draws: [(Double, GeoPoint)] = []
            for _ in 0..<b.count {
                let offset = inject.at + (b.over * rng.unit()).rounded(.down)
                let r = b.radiusM * rng.unit().squareRoot()
                let theta = 2 * Double.pi * rng.unit()
                let dLat = r * cos(theta) / 111_320
                let dLon = r * sin(theta) / (111_320 * cos(inject.location.lat * .pi / 180))
                let p = GeoPoint(
                    lat: Self.round(inject.location.lat + dLat, 6), lon: Self.round(inject.location.lon + dLon, 6))
                draws.append((offset, p))
            }
            // Stable sort by time: the k-th report of a burst is the k-th to arrive.
            points = draws.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }
                .map { ($0.element.0, $0.element.1, nil) }
        }
        var events: [ScheduledEvent] = []
        events.reserveCapacity(points.count)
        let valueNames = inject.values.keys.sorted()
        for (n, point) in points.enumerated() {
            var values = EventValues()
            for name in valueNames {
                switch inject.values[name]! {
                case .fixed(let v): values[name] = v
                case .range(let lo, let hi, let decimals):
                    values[name] = Self.round(lo + (hi - lo) * rng.unit(), decimals).clamped(lo, hi)
                }
            }
            if case .series(let s) = inject.pattern, let v = point.series { values[s.value] = v }
            var text: String?
            if inject.texts.count == 1 {
                text = inject.texts[0]
            } else if inject.texts.count > 1 {
                text = inject.texts[Int(rng.next() % UInt64(inject.texts.count))]
            }
            let id = "\(idPrefix)-\(n + 1)"
            let event = Event(
                id: id, source: inject.source, kind: inject.kind, type: inject.type, time: time(at: point.offset),
                location: point.location, area: inject.area, values: values, text: text, status: .exercise,
                device: inject.device)
            events.append(
                ScheduledEvent(
                    offset: point.offset, id: id, json: EventEncoder.encode(event), source: inject.source.rawValue,
                    type: inject.type, label: inject.name))
        }
        return events
    }

    static func round(_ x: Double, _ places: Int) -> Double {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        return (x * scale).rounded() / scale
    }
}

extension Inject {
    /// How many events the inject sends.
    public var eventCount: Int {
        switch pattern {
        case .single: 1
        case .series(let s): s.count
        case .burst(let b): b.count
        }
    }
}

extension Double {
    fileprivate func clamped(_ lo: Double, _ hi: Double) -> Double { Swift.min(Swift.max(self, lo), hi) }
}
