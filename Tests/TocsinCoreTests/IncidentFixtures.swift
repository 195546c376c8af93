import Foundation
import TocsinCore

/// The shipped catalog (`Config/catalog.yaml`), built in code: TocsinCoreTests cannot load YAML. Keep in step
/// with the file; `TocsinConfigTests` compares the loaded file with the contract's table.
enum ShippedCatalog {
    static let catalog = Catalog(types: types, incidents: incidents)

    static func incident(
        _ name: String, _ category: Category, _ cap: [CAPCategory], radiusM: Double = 500, windowS: Double = 1800,
        quietS: Double = 7200, _ headline: String, _ instruction: String
    ) -> IncidentTypeSpec {
        IncidentTypeSpec(
            name: name, category: category, capCategories: cap, radiusM: radiusM, windowS: windowS, quietS: quietS,
            headline: headline, instruction: instruction)
    }

    static let incidents: [IncidentTypeSpec] = [
        incident(
            "flood", .naturalDisaster, [.met], "Flood warning {tier} ({color}) in {area_name}",
            "Keep away from rivers, underpasses and low-lying roads; move vehicles to high ground; follow the instructions of on-site responders."
        ),
        incident(
            "rainstorm", .naturalDisaster, [.met], "Rainstorm warning {tier} ({color}) in {area_name}",
            "Stay indoors where possible; avoid underpasses, slopes and construction sites; report waterlogging."),
        incident(
            "typhoon", .naturalDisaster, [.met], "Typhoon wind warning {tier} ({color}) in {area_name}",
            "Secure or remove objects that could be blown away; stay away from scaffolding, billboards and trees; do not go out to sea."
        ),
        incident(
            "crowd_crush", .socialSafety, [.safety], "Crowd safety warning {tier} ({color}) in {area_name}",
            "Stop further inflow; open relief routes; direct people away calmly; keep emergency lanes clear."),
        incident(
            "hazmat_leak", .accident, [.cbrne], "Hazardous gas leak warning {tier} ({color}) in {area_name}",
            "Move upwind and away from the site; close windows; no open flames; follow evacuation orders."),
        incident(
            "fire", .accident, [.fire], "Fire warning {tier} ({color}) in {area_name}",
            "Evacuate by the stairs, not lifts; keep fire lanes clear; stay away from smoke."),
        incident(
            "collapse", .accident, [.rescue, .infra], "Structural collapse warning {tier} ({color}) in {area_name}",
            "Keep away from the collapse zone and nearby damaged structures; leave access free for rescue teams."),
        incident(
            "traffic_accident", .accident, [.transport], "Traffic accident warning {tier} ({color}) in {area_name}",
            "Avoid the area; give way to emergency vehicles; follow traffic police diversions."),
        incident(
            "disease_cluster", .publicHealth, [.health], radiusM: 1000, windowS: 86_400,
            "Disease cluster warning {tier} ({color}) in {area_name}",
            "Seek medical advice if you have symptoms; follow the health authority's guidance on hygiene and gatherings."
        ),
    ]

    static func sensor(_ name: String, _ incident: String, _ value: String, _ t: [Double], extra: [ValueSpec] = [])
        -> EventTypeSpec
    {
        EventTypeSpec(
            name: name, kind: .sensor, incident: incident, values: [ValueSpec(name: value)] + extra,
            tiers: [
                .iv: [.value(value, atLeast: t[0])], .iii: [.value(value, atLeast: t[1])],
                .ii: [.value(value, atLeast: t[2])], .i: [.value(value, atLeast: t[3])],
            ])
    }

    static let types: [EventTypeSpec] = [
        sensor("water_level", "flood", "level_m", [2.5, 3.0, 3.5, 4.0]),
        sensor("rainfall", "rainstorm", "mm_per_h", [20, 30, 50, 100]),
        sensor("wind_speed", "typhoon", "m_per_s", [17.2, 24.5, 32.7, 41.5]),
        sensor("crowd_density", "crowd_crush", "persons_per_m2", [4, 5, 6, 7]),
        sensor(
            "gas_concentration", "hazmat_leak", "ppm", [10, 50, 200, 1000],
            extra: [ValueSpec(name: "lel_pct", optional: true)]),
        EventTypeSpec(
            name: "report.fire", kind: .report, incident: "fire",
            values: [ValueSpec(name: "injured", optional: true, aggregate: .sum)],
            tiers: [
                .iv: [.count(atLeast: 1)],
                .iii: [.count(atLeast: 3), .value("injured", atLeast: 1)],
                .ii: [.count(atLeast: 10), .value("injured", atLeast: 3)],
                .i: [.value("injured", atLeast: 10)],
            ]),
        EventTypeSpec(
            name: "report.collapse", kind: .report, incident: "collapse",
            values: [ValueSpec(name: "trapped", optional: true, aggregate: .sum)],
            tiers: [
                .iii: [.count(atLeast: 1)],
                .ii: [.value("trapped", atLeast: 3)],
                .i: [.value("trapped", atLeast: 10)],
            ]),
        EventTypeSpec(
            name: "report.traffic_accident", kind: .report, incident: "traffic_accident",
            values: [
                ValueSpec(name: "vehicles", optional: true, aggregate: .max),
                ValueSpec(name: "injured", optional: true, aggregate: .sum),
            ],
            tiers: [
                .iv: [.count(atLeast: 1)],
                .iii: [.value("vehicles", atLeast: 5), .value("injured", atLeast: 3)],
                .ii: [.value("injured", atLeast: 10)],
                .i: [.value("injured", atLeast: 30)],
            ]),
        EventTypeSpec(
            name: "report.illness", kind: .report, incident: "disease_cluster",
            values: [ValueSpec(name: "cases", aggregate: .sum)],
            tiers: [
                .iv: [.value("cases", atLeast: 5)],
                .iii: [.value("cases", atLeast: 20)],
                .ii: [.value("cases", atLeast: 50)],
                .i: [.value("cases", atLeast: 100)],
            ]),
        EventTypeSpec(
            name: "report.crowd", kind: .report, incident: "crowd_crush",
            values: [ValueSpec(name: "injured", optional: true, aggregate: .sum)],
            tiers: [
                .iv: [.count(atLeast: 1)],
                .iii: [.count(atLeast: 3)],
                .ii: [.value("injured", atLeast: 3)],
                .i: [.value("injured", atLeast: 10)],
            ]),
    ]

    /// A few areas of `Config/areas.yaml`, for names.
    static let areas = AreaTree([
        area("sz", "Shenzhen", "深圳市", 22.5431, 114.0579),
        area("sz.futian", "Futian", "福田区", 22.5218, 114.0554),
        area("sz.futian.shatou", "Shatou", "沙头街道", 22.5277, 114.0250),
        area("sz.futian.xiangmihu", "Xiangmihu", "香蜜湖街道", 22.5430, 114.0280),
        area("sz.futian.fubao", "Fubao", "福保街道", 22.5200, 114.0520),
        area("sz.nanshan", "Nanshan", "南山区", 22.5333, 113.9304),
        area("sz.nanshan.yuehai", "Yuehai", "粤海街道", 22.5290, 113.9450),
    ])

    static func area(_ path: String, _ name: String, _ zh: String, _ lat: Double, _ lon: Double) -> Area {
        Area(path: AreaPath(path)!, name: name, nameZh: zh, center: GeoPoint(lat: lat, lon: lon))
    }
}

/// Builders for incident and warning tests.
enum Make {
    static let t0 = Timestamp(rfc3339: "2026-07-01T08:30:00Z")!
    static let shatou = AreaPath("sz.futian.shatou")!
    static let xiangmihu = AreaPath("sz.futian.xiangmihu")!
    static let futian = AreaPath("sz.futian")!
    static let nanshan = AreaPath("sz.nanshan")!
    static let yuehai = AreaPath("sz.nanshan.yuehai")!
    static let sz = AreaPath("sz")!
    /// Shatou's centre.
    static let here = GeoPoint(lat: 22.5277, lon: 114.0250)

    /// `p` moved `north` and `east` metres.
    static func offset(_ p: GeoPoint, north: Double = 0, east: Double = 0) -> GeoPoint {
        let mPerDeg = 6_371_008.8 * Double.pi / 180
        return GeoPoint(
            lat: p.lat + north / mPerDeg,
            lon: p.lon + east / (mPerDeg * cos(p.lat * Double.pi / 180)))
    }

    static func time(_ seconds: Double) -> Timestamp { t0.adding(seconds: seconds) }

    static func event(
        _ id: String, _ type: String, at seconds: Double = 0, _ location: GeoPoint = here, area: AreaPath = shatou,
        values: EventValues = [:], status: Status = .actual
    ) -> Event {
        let kind: EventKind = type.hasPrefix("report.") ? .report : .sensor
        return Event(
            id: id, source: area, kind: kind, type: type, time: time(seconds), location: location, area: area,
            values: values, status: status)
    }

    static func areaName(_ path: AreaPath) -> String? { ShippedCatalog.areas[path]?.name }
}

extension Event {
    /// The event at another time.
    func with(time: Timestamp) -> Event {
        var e = self
        e.time = time
        return e
    }
}

/// The classify and dispatch logic wired together as the workers will: events and ticks in, warnings out.
struct IncidentPipeline {
    var engine: IncidentEngine
    var book: WarningBook
    var seq: Int64 = 0
    var changes: [IncidentChange] = []

    init(catalog: Catalog = ShippedCatalog.catalog) {
        engine = IncidentEngine(catalog: catalog)
        book = WarningBook(catalog: catalog, areas: ShippedCatalog.areas)
    }

    /// Applies an event; warnings are issued at the event's time.
    mutating func feed(_ event: Event) -> [Warning] {
        seq += 1
        let cs = engine.apply(event, seq: seq)
        changes += cs
        return cs.flatMap { book.incidentChanged($0, at: event.time) }
    }

    mutating func feed(_ events: [Event]) -> [Warning] { events.flatMap { feed($0) } }

    /// Advances time: quiet closes, then escalations.
    mutating func tick(_ now: Timestamp, timeouts: [Level: Double] = WarningBook.defaultAckTimeouts) -> [Warning] {
        let cs = engine.advance(to: now)
        changes += cs
        return cs.flatMap { book.incidentChanged($0, at: now) } + book.advance(to: now, timeouts: timeouts)
    }

    /// All-clear.
    mutating func close(_ id: String, at now: Timestamp) -> [Warning] {
        guard let c = engine.close(id, at: now) else { return [] }
        changes.append(c)
        return book.incidentChanged(c, at: now)
    }
}

import Testing

/// The first element, as `try #require(items.first)` (which cannot wrap a mutating call).
func requireFirst<T>(_ items: [T], sourceLocation: SourceLocation = #_sourceLocation) throws -> T {
    try #require(items.first, sourceLocation: sourceLocation)
}
