import Testing
import TocsinConfig
import TocsinCore
import TocsinTesting

@Suite struct ShippedConfigTests {
    @Test func shippedConfigLoads() throws {
        let config = try ConfigLoader.load(path: Fixtures.configPath)
        #expect(config.areas.count(at: .city) == 1)
        #expect(config.areas.count(at: .district) == 10)
        #expect(config.areas.count(at: .street) >= 70)
        #expect(config.areas.contains(AreaPath("sz.futian.shatou")!))
        #expect(config.areas.contains(AreaPath("sz.nanshan.yuehai")!))
        #expect(config.areas.contains(AreaPath("sz.guangming.fenghuang")!))
        #expect(config.durability == .full)
        #expect(config.security.mode == .none)
        #expect(config.endpoints.ingest == "tcp://127.0.0.1:7701")
        #expect(config.acknowledgeTimeout[.street] == 300)
        #expect(config.acknowledgeTimeout[.district] == 600)
        #expect(config.acknowledgeTimeout[.city] == 900)
    }

    /// Every row of PROTOCOL.md's default catalog, with its kind, values, incident, category and CAP.
    @Test(arguments: [
        ("water_level", EventKind.sensor, ["level_m"], "flood", Category.naturalDisaster, [CAPCategory.met]),
        ("rainfall", .sensor, ["mm_per_h"], "rainstorm", .naturalDisaster, [.met]),
        ("wind_speed", .sensor, ["m_per_s"], "typhoon", .naturalDisaster, [.met]),
        ("crowd_density", .sensor, ["persons_per_m2"], "crowd_crush", .socialSafety, [.safety]),
        ("gas_concentration", .sensor, ["ppm", "lel_pct"], "hazmat_leak", .accident, [.cbrne]),
        ("report.fire", .report, ["injured"], "fire", .accident, [.fire]),
        ("report.collapse", .report, ["trapped"], "collapse", .accident, [.rescue, .infra]),
        ("report.traffic_accident", .report, ["vehicles", "injured"], "traffic_accident", .accident, [.transport]),
        ("report.illness", .report, ["cases"], "disease_cluster", .publicHealth, [.health]),
        ("report.crowd", .report, ["injured"], "crowd_crush", .socialSafety, [.safety]),
    ])
    func catalogRow(type: String, kind: EventKind, values: [String], incident: String, category: Category,
                    cap: [CAPCategory]) throws {
        let catalog = Fixtures.shippedConfig.catalog
        let spec = try #require(catalog.types[type])
        #expect(spec.kind == kind)
        #expect(spec.values.map(\.name) == values)
        #expect(spec.incident == incident)
        let inc = try #require(catalog.incidents[incident])
        #expect(inc.category == category)
        #expect(inc.capCategories == cap)
    }

    @Test func correlationDefaults() throws {
        let incidents = Fixtures.shippedConfig.catalog.incidents
        #expect(incidents["flood"]?.radiusM == 500)
        #expect(incidents["flood"]?.windowS == 1800)
        #expect(incidents["flood"]?.quietS == 7200)
        #expect(incidents["disease_cluster"]?.radiusM == 1000)
        #expect(incidents["disease_cluster"]?.windowS == 86400)
        #expect(Fixtures.shippedConfig.catalog.types["report.illness"]?.value(named: "cases")?.optional == false)
        #expect(Fixtures.shippedConfig.catalog.types["report.fire"]?.value(named: "injured")?.aggregate == .sum)
        #expect(Fixtures.shippedConfig.catalog.types["report.traffic_accident"]?.value(named: "vehicles")?.aggregate == .max)
    }
}

/// Small but complete documents; each broken case changes one of them.
enum Base {
    static let main = """
    endpoints:
      ingest: tcp://127.0.0.1:7701
      feed: tcp://127.0.0.1:7702
      command: tcp://127.0.0.1:7703
    data: .tocsin
    durability: full
    escalation:
      street: 5m
      district: 10m
      city: 15m
    security:
      mode: none
    """
    static let areas = """
    city:
      path: sz
      name: Shenzhen
      name_zh: 深圳市
      center: {lat: 22.5431, lon: 114.0579}
      districts:
        - path: sz.futian
          name: Futian
          name_zh: 福田区
          center: {lat: 22.5218, lon: 114.0554}
          streets:
            - {path: sz.futian.shatou, name: Shatou, name_zh: 沙头街道, center: {lat: 22.5277, lon: 114.0250}}
    """
    static let catalog = """
    incidents:
      flood:
        category: natural_disaster
        cap: [Met]
        radius_m: 500
        window: 30m
        quiet: 2h
        headline: "Flood {tier}"
        instruction: "Keep away"
    types:
      water_level:
        kind: sensor
        incident: flood
        values:
          level_m: {}
        tiers:
          IV: [{value: level_m, gte: 2.5}]
          I: [{value: level_m, gte: 4.0}]
    """
}

struct BrokenConfig: Sendable, CustomTestStringConvertible {
    var name: String
    var file: String
    var from: String
    var to: String
    var line: Int
    var key: String
    var message: String
    var testDescription: String { name }
}

@Suite struct BrokenConfigTests {
    static let cases: [BrokenConfig] = [
        .init(name: "unknown top-level key", file: "tocsin.yaml", from: "data: .tocsin", to: "dta: .tocsin",
              line: 5, key: "dta", message: "unknown key"),
        .init(name: "bad endpoint", file: "tocsin.yaml", from: "ingest: tcp://127.0.0.1:7701", to: "ingest: 127.0.0.1:7701",
              line: 2, key: "endpoints.ingest", message: "not a ZeroMQ endpoint"),
        .init(name: "bad durability", file: "tocsin.yaml", from: "durability: full", to: "durability: fsync",
              line: 6, key: "durability", message: "unknown value \"fsync\""),
        .init(name: "bad duration", file: "tocsin.yaml", from: "district: 10m", to: "district: ten minutes",
              line: 9, key: "escalation.district", message: "expected a duration"),
        .init(name: "curve without key", file: "tocsin.yaml", from: "mode: none", to: "mode: curve",
              line: 12, key: "security", message: "needs server_secret_key"),
        .init(name: "bad security mode", file: "tocsin.yaml", from: "mode: none", to: "mode: tls",
              line: 12, key: "security.mode", message: "unknown value \"tls\""),
        .init(name: "YAML syntax", file: "tocsin.yaml", from: "durability: full", to: "durability: [full",
              line: 7, key: "", message: "YAML syntax"),
        .init(name: "upper-case area path", file: "areas.yaml", from: "path: sz.futian\n", to: "path: sz.Futian\n",
              line: 7, key: "city.districts[0].path", message: "is not an area path"),
        .init(name: "street not under its district", file: "areas.yaml", from: "path: sz.futian.shatou", to: "path: sz.nanshan.shatou",
              line: 12, key: "city.districts[0].streets[0].path", message: "not directly below sz.futian"),
        .init(name: "latitude out of range", file: "areas.yaml", from: "lat: 22.5218", to: "lat: 122.5218",
              line: 10, key: "city.districts[0].center.lat", message: "out of range"),
        .init(name: "missing Chinese name", file: "areas.yaml", from: "      name_zh: 福田区\n", to: "",
              line: 7, key: "city.districts[0].name_zh", message: "missing required key"),
        .init(name: "duplicate key", file: "areas.yaml", from: "      name: Futian\n", to: "      name: Futian\n      name: Futian2\n",
              line: 8, key: "", message: "duplicate key"),
        .init(name: "unknown category", file: "catalog.yaml", from: "category: natural_disaster", to: "category: weather",
              line: 3, key: "incidents.flood.category", message: "unknown value \"weather\""),
        .init(name: "unknown CAP category", file: "catalog.yaml", from: "cap: [Met]", to: "cap: [Weather]",
              line: 4, key: "incidents.flood.cap[0]", message: "unknown value \"Weather\""),
        .init(name: "bad kind", file: "catalog.yaml", from: "kind: sensor", to: "kind: gauge",
              line: 12, key: "types.water_level.kind", message: "unknown value \"gauge\""),
        .init(name: "unknown incident", file: "catalog.yaml", from: "incident: flood", to: "incident: floood",
              line: 13, key: "types.water_level.incident", message: "unknown incident type \"floood\""),
        .init(name: "condition on unknown value", file: "catalog.yaml", from: "IV: [{value: level_m", to: "IV: [{value: level_cm",
              line: 17, key: "types.water_level.tiers.IV[0].value", message: "not a value of this type"),
        .init(name: "unknown tier", file: "catalog.yaml", from: "I: [{value", to: "V: [{value",
              line: 18, key: "types.water_level.tiers.V", message: "unknown tier \"V\""),
        .init(name: "threshold not a number", file: "catalog.yaml", from: "gte: 2.5", to: "gte: high",
              line: 17, key: "types.water_level.tiers.IV[0].gte", message: "expected a number, got \"high\""),
        .init(name: "negative radius", file: "catalog.yaml", from: "radius_m: 500", to: "radius_m: -5",
              line: 5, key: "incidents.flood.radius_m", message: "between 0 and 100000"),
        .init(name: "unknown value option", file: "catalog.yaml", from: "level_m: {}", to: "level_m: {optinal: true}",
              line: 15, key: "types.water_level.values.level_m.optinal", message: "unknown key"),
    ]

    @Test(arguments: cases)
    func reportsFileLineAndKey(_ c: BrokenConfig) throws {
        var main = Base.main, areas = Base.areas, catalog = Base.catalog
        switch c.file {
        case "tocsin.yaml": main = try replaced(main, c)
        case "areas.yaml": areas = try replaced(areas, c)
        default: catalog = try replaced(catalog, c)
        }
        let error = try #require(throws: ConfigError.self) {
            try ConfigLoader.load(main: main, areas: areas, catalog: catalog)
        }
        let match = error.problems.first { $0.file == c.file && $0.key == c.key && $0.message.contains(c.message) }
        #expect(match != nil, "got: \(error.problems.map(\.description))")
        #expect(match?.line == c.line, "got: \(error.problems.map(\.description))")
    }

    private func replaced(_ text: String, _ c: BrokenConfig) throws -> String {
        #expect(text.contains(c.from), "case \(c.name) does not apply")
        return text.replacingOccurrences(of: c.from, with: c.to)
    }

    @Test func basesLoad() throws {
        let config = try ConfigLoader.load(main: Base.main, areas: Base.areas, catalog: Base.catalog)
        #expect(config.areas.count == 3)
        #expect(config.catalog.types["water_level"]?.tiers[.iv] == [.value("level_m", atLeast: 2.5)])
    }

    @Test func reportsEveryProblemAtOnce() throws {
        let main = Base.main.replacingOccurrences(of: "durability: full", with: "durability: fsync")
        let catalog = Base.catalog.replacingOccurrences(of: "kind: sensor", with: "kind: gauge")
            .replacingOccurrences(of: "cap: [Met]", with: "cap: [Weather]")
        let error = try #require(throws: ConfigError.self) {
            try ConfigLoader.load(main: main, areas: Base.areas, catalog: catalog)
        }
        #expect(Set(error.problems.map(\.file)) == ["tocsin.yaml", "catalog.yaml"])
        #expect(error.problems.count >= 3)
    }

    @Test func missingFileIsReported() throws {
        let error = try #require(throws: ConfigError.self) {
            try ConfigLoader.load(path: "/nonexistent/tocsin.yaml")
        }
        #expect(error.problems.contains { $0.file == "/nonexistent/tocsin.yaml" && $0.message == "cannot read file" })
    }
}
