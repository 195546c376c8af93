import TocsinCore

/// A small catalog and area tree for the event tests.
enum CoreFixtures {
    static let catalog = Catalog(
        types: [
            EventTypeSpec(
                name: "water_level", kind: .sensor, incident: "flood",
                values: [ValueSpec(name: "level_m")],
                tiers: [.iv: [.value("level_m", atLeast: 0.5)], .iii: [.value("level_m", atLeast: 1.0)]]),
            EventTypeSpec(
                name: "gas_concentration", kind: .sensor, incident: "gas_leak",
                values: [ValueSpec(name: "ppm"), ValueSpec(name: "lel_pct", optional: true)],
                tiers: [.iv: [.value("ppm", atLeast: 50)], .ii: [.value("lel_pct", atLeast: 20)]]),
            EventTypeSpec(
                name: "report.fire", kind: .report, incident: "fire",
                values: [ValueSpec(name: "injured", optional: true, aggregate: .sum)],
                tiers: [.iv: [.count(atLeast: 1)], .iii: [.value("injured", atLeast: 3), .count(atLeast: 5)]]),
            EventTypeSpec(
                name: "report.illness", kind: .report, incident: "outbreak",
                values: [ValueSpec(name: "cases", aggregate: .sum)],
                tiers: [.iv: [.value("cases", atLeast: 5)]]),
        ],
        incidents: [
            IncidentTypeSpec(
                name: "flood", category: .naturalDisaster, capCategories: [.met, .geo],
                headline: "Flooding", instruction: "Avoid low-lying roads."),
            IncidentTypeSpec(
                name: "gas_leak", category: .accident, capCategories: [.cbrne, .safety], radiusM: 300,
                headline: "Gas leak", instruction: "Leave the building; do not use switches."),
            IncidentTypeSpec(
                name: "fire", category: .accident, capCategories: [.fire],
                headline: "Fire", instruction: "Keep clear of the area."),
            IncidentTypeSpec(
                name: "outbreak", category: .publicHealth, capCategories: [.health], radiusM: 2000,
                windowS: 86_400, quietS: 604_800, headline: "Illness cluster", instruction: "See a doctor if unwell."),
        ])

    static let areas = AreaTree([
        area("sz", "Shenzhen", "深圳市", 22.5431, 114.0579),
        area("sz.futian", "Futian", "福田区", 22.5218, 114.0555),
        area("sz.futian.shatou", "Shatou", "沙头街道", 22.5265, 114.0330),
        area("sz.nanshan", "Nanshan", "南山区", 22.5329, 113.9305),
        area("sz.nanshan.yuehai", "Yuehai", "粤海街道", 22.5235, 113.9430),
    ])

    static func area(_ path: String, _ name: String, _ zh: String, _ lat: Double, _ lon: Double) -> Area {
        Area(path: AreaPath(path)!, name: name, nameZh: zh, center: GeoPoint(lat: lat, lon: lon))
    }

    /// The decoder's clock in the tests.
    static let now = Timestamp(rfc3339: "2026-07-01T09:00:00Z")!

    static let decoder = EventDecoder(catalog: catalog, areas: areas)

    static let sensorBase: [(String, String)] = [
        ("id", #""e1""#), ("source", #""sz.futian""#), ("kind", #""sensor""#), ("type", #""water_level""#),
        ("time", #""2026-07-01T08:30:00Z""#), ("location", #"{"lat":22.54,"lon":114.05}"#),
        ("values", #"{"level_m":1.2}"#),
    ]

    static let reportBase: [(String, String)] = [
        ("id", #""r1""#), ("source", #""sz.futian""#), ("kind", #""report""#), ("type", #""report.fire""#),
        ("time", #""2026-07-01T08:30:00Z""#), ("location", #"{"lat":22.54,"lon":114.05}"#),
    ]

    /// `base` as JSON with fields replaced in place (raw JSON text), removed (`nil`) or appended.
    static func json(_ base: [(String, String)], _ changes: KeyValuePairs<String, String?>) -> String {
        var fields = base
        for (key, raw) in changes {
            if let i = fields.firstIndex(where: { $0.0 == key }) {
                if let raw { fields[i].1 = raw } else { fields.remove(at: i) }
            } else if let raw {
                fields.append((key, raw))
            }
        }
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    static func sensor(_ changes: KeyValuePairs<String, String?> = [:]) -> String { json(sensorBase, changes) }
    static func report(_ changes: KeyValuePairs<String, String?> = [:]) -> String { json(reportBase, changes) }

    static func ts(_ text: String) -> Timestamp { Timestamp(rfc3339: text)! }
}
