import Foundation
import Testing
import TocsinConfig
import TocsinCore
import TocsinTesting

@Suite struct ShippedPlanTests {
    static let incidentTypes = [
        "flood", "rainstorm", "typhoon", "crowd_crush", "hazmat_leak", "fire", "collapse", "traffic_accident",
        "disease_cluster",
    ]

    @Test func everyDefaultIncidentTypeHasAPlan() {
        let plans = Fixtures.shippedConfig.plans
        #expect(Set(plans.keys) == Set(Self.incidentTypes))
        #expect(Set(Fixtures.shippedConfig.catalog.incidents.keys).isSubset(of: Set(plans.keys)))
    }

    @Test(arguments: incidentTypes)
    func shippedPlanIsSound(_ type: String) throws {
        let plan = try #require(Fixtures.shippedConfig.plans[type])
        #expect(plan.incidentType == type)
        #expect(!plan.name.isEmpty)
        #expect(plan.problems.isEmpty, "\(plan.problems)")
        for tier in Tier.allCases {
            let steps = plan.levels[tier] ?? []
            #expect((4...8).contains(steps.count), "\(type) level \(tier.rawValue) has \(steps.count) steps")
        }
        // Every plan reports upwards in time: the street to the district at level IV, the district to the city
        // within 1 h at level III.
        let iv = plan.levels[.iv] ?? []
        #expect(iv.contains { $0.id == "report_district" && $0.deadlineS <= (type == "disease_cluster" ? 7200 : 1800) })
        let iii = plan.levels[.iii] ?? []
        let first = try #require(iii.first { $0.id == "first_report_city" })
        #expect(first.owner == .level(.district))
        #expect(first.deadlineS <= (type == "disease_cluster" ? 7200 : 3600))
        #expect(first.onOverdue == .escalateAndNotifyCity)
        // And ends with a proposal of the all-clear by the warning's owner.
        #expect(iv.contains { $0.id == "propose_all_clear" && $0.owner == .warning })
    }

    @Test func shippedDeadlinesFollowPractice() throws {
        let plans = Fixtures.shippedConfig.plans
        let flood = try #require(plans["flood"])
        #expect(flood.levels[.iv]?.first { $0.id == "report_district" }?.deadlineS == 1800)  // 30 分钟内电话报告
        #expect(flood.levels[.iv]?.first { $0.id == "written_report" }?.deadlineS == 3600)  // 1 小时内书面报告
        #expect(flood.levels[.iv]?.first { $0.id == "written_report" }?.after == ["report_district"])
        let fire = try #require(plans["fire"])
        #expect(fire.levels[.ii]?.first { $0.id == "city_command_post" }?.deadlineS == 1800)
        #expect(fire.levels[.ii]?.first { $0.id == "city_command_post" }?.owner == .level(.city))
    }

    /// Driving each shipped plan to level I and doing every ready task in turn finishes every step: no step waits
    /// forever.
    @Test(arguments: incidentTypes)
    func everyShippedStepCanBeReached(_ type: String) throws {
        let plan = try #require(Fixtures.shippedConfig.plans[type])
        var book = PlanBook(plans: Fixtures.shippedConfig.plans)
        let warning = try Self.warning(type: type, tier: .i)
        var open = book.warningIssued(warning, at: warning.sent)
        #expect(!open.isEmpty)
        #expect(open.allSatisfy { $0.area.rawValue == "sz.futian.shatou" && $0.status == .actual })
        var done = 0
        while let t = open.first {
            open.removeFirst()
            let changed = try book.step(t.id, by: AreaPath("sz")!, state: .done, at: warning.sent.adding(seconds: 60))
            done += 1
            open += changed.dropFirst()
        }
        #expect(done == plan.allSteps.count)
        #expect(book.openTasks.isEmpty)
    }

    static func warning(type: String, tier: Tier) throws -> Warning {
        let level = tier.owningLevel.rawValue
        let owner = AreaPath("sz.futian.shatou")!.ancestor(at: tier.owningLevel).rawValue
        let json = """
            {"id":"w-1","seq":1,"incident":"inc-1","msgType":"alert","references":[],"status":"actual",\
            "tier":"\(tier.rawValue)","color":"\(tier.color)","category":"accident","capCategory":["Other"],\
            "event":"\(type)","headline":"h","instruction":"i","area":"sz.futian.shatou","level":"\(level)",\
            "owner":"\(owner)","location":{"lat":22.5,"lon":114.0,"radiusM":10},"sent":"2026-07-01T08:30:00Z",\
            "evidence":{"events":1,"first":"2026-07-01T08:30:00Z","last":"2026-07-01T08:30:00Z","sample":["e"]},\
            "escalated":false}
            """
        return try Warning(json: Array(json.utf8))
    }
}

/// A small plan; each broken case changes it. Line numbers are in the comments.
enum PlanBase {
    static let flood = """
        incident: flood
        name: Test flood plan
        levels:
          IV:
            - id: verify
              action: Verify on site
              owner: street
              deadline: 15m
            - id: report
              action: Phone the district
              owner: street
              deadline: 30m
              after: [verify]
              on_overdue: escalate
          III:
            - id: command
              action: Set up the district command
              owner: district
              deadline: 30m
              after: [report]
          II:
            - id: post
              action: City command post
              owner: warning
              deadline: 1h
        """
    // 1 incident, 2 name, 3 levels, 4 IV, 5 verify, 6-8, 9 report, 10-12, 13 after, 14 on_overdue, 15 III,
    // 16 command, 17-19, 20 after, 21 II, 22 post, 23 action, 24 owner, 25 deadline

    static let file = "plans/flood.yaml"
}

struct BrokenPlan: Sendable, CustomTestStringConvertible {
    var name: String
    var from: String
    var to: String
    var line: Int
    var key: String
    var message: String
    var testDescription: String { name }
}

@Suite struct BrokenPlanTests {
    static let cases: [BrokenPlan] = [
        .init(name: "unknown step in after", from: "after: [verify]", to: "after: [verfy]",
              line: 13, key: "levels.IV[1].after[0]", message: "unknown step \"verfy\""),
        .init(name: "cycle a -> b -> a", from: "      deadline: 15m\n", to: "      deadline: 15m\n      after: [report]\n",
              line: 9, key: "levels.IV[0].after", message: "cycle: verify -> report -> verify"),
        .init(name: "step waiting for itself", from: "      deadline: 15m\n", to: "      deadline: 15m\n      after: [verify]\n",
              line: 9, key: "levels.IV[0].after", message: "cycle: verify -> verify"),
        .init(name: "level without steps",
              from: "  II:\n    - id: post\n      action: City command post\n      owner: warning\n      deadline: 1h",
              to: "  II: []", line: 21, key: "levels.II", message: "a level needs at least one step"),
        .init(name: "empty level", from: "  II:\n    - id: post\n      action: City command post\n      owner: warning\n      deadline: 1h",
              to: "  II:", line: 21, key: "levels.II", message: "a level needs at least one step"),
        .init(name: "unknown owner", from: "owner: warning", to: "owner: mayor",
              line: 24, key: "levels.II[0].owner", message: "unknown value \"mayor\" (expected one of: street, district, city, warning)"),
        .init(name: "bad duration", from: "deadline: 1h", to: "deadline: an hour",
              line: 25, key: "levels.II[0].deadline", message: "expected a duration such as 30s, 5m, 2h or 1d, got \"an hour\""),
        .init(name: "zero deadline", from: "deadline: 15m", to: "deadline: 0s",
              line: 8, key: "levels.IV[0].deadline", message: "must be longer than 0s"),
        .init(name: "duplicate step id", from: "id: command", to: "id: verify",
              line: 16, key: "levels.III[0].id", message: "duplicate step id \"verify\" (first at line 5)"),
        .init(name: "unknown key", from: "on_overdue: escalate", to: "on_overdo: escalate",
              line: 14, key: "levels.IV[1].on_overdo", message: "unknown key (expected one of: action, after, deadline, id, on_overdue, owner)"),
        .init(name: "unknown top-level key", from: "name: Test flood plan", to: "title: Test flood plan",
              line: 2, key: "title", message: "unknown key"),
        .init(name: "unknown tier", from: "  II:\n", to: "  V:\n",
              line: 21, key: "levels.V", message: "unknown tier \"V\" (expected IV, III, II or I)"),
        .init(name: "unknown incident type", from: "incident: flood", to: "incident: flod",
              line: 1, key: "incident", message: "unknown incident type \"flod\""),
        .init(name: "unknown overdue action", from: "on_overdue: escalate", to: "on_overdue: shout",
              line: 14, key: "levels.IV[1].on_overdue", message: "unknown value \"shout\" (expected one of: escalate, escalate_and_notify_city)"),
        .init(name: "waiting for a higher level", from: "after: [verify]", to: "after: [command]",
              line: 13, key: "levels.IV[1].after[0]", message: "step \"command\" is added at a higher level (III)"),
        .init(name: "missing action", from: "      action: Verify on site\n", to: "",
              line: 5, key: "levels.IV[0].action", message: "missing required key \"action\""),
        .init(name: "bad step id", from: "id: post", to: "id: Post!",
              line: 22, key: "levels.II[0].id", message: "step ids are lower-case a-z, 0-9 and _"),
        .init(name: "after not a list", from: "after: [report]", to: "after: {step: report}",
              line: 20, key: "levels.III[0].after", message: "expected a list, got a mapping"),
        .init(name: "empty action", from: "action: City command post", to: "action: \"  \"",
              line: 23, key: "levels.II[0].action", message: "must not be empty"),
        .init(name: "no levels", from: "levels:\n", to: "levels: {}\nx:\n",
              line: 3, key: "levels", message: "a plan needs at least one level"),
        .init(name: "YAML syntax", from: "after: [verify]", to: "after: [verify",
              line: 14, key: "", message: "YAML syntax"),
    ]

    @Test(arguments: cases)
    func reportsFileLineAndKey(_ c: BrokenPlan) throws {
        #expect(PlanBase.flood.contains(c.from), "case \(c.name) does not apply")
        let text = PlanBase.flood.replacingOccurrences(of: c.from, with: c.to)
        let error = try #require(throws: ConfigError.self) {
            try PlansReader.read(documents: [(PlanBase.file, text)], catalog: Fixtures.shippedConfig.catalog)
        }
        let match = error.problems.first { $0.file == PlanBase.file && $0.key == c.key && $0.message.contains(c.message) }
        #expect(match != nil, "got: \(error.problems.map(\.description))")
        #expect(match?.line == c.line, "got: \(error.problems.map(\.description))")
    }

    @Test func baseLoads() throws {
        let plans = try PlansReader.read(documents: [(PlanBase.file, PlanBase.flood)], catalog: Fixtures.shippedConfig.catalog)
        let plan = try #require(plans["flood"])
        #expect(plan.name == "Test flood plan")
        #expect(plan.levels[.iv]?.map(\.id) == ["verify", "report"])
        #expect(plan.levels[.iv]?[1] == PlanStep(id: "report", action: "Phone the district", owner: .level(.street),
                                                 deadlineS: 1800, after: ["verify"], onOverdue: .escalate))
        #expect(plan.levels[.ii]?[0].owner == .warning)
        #expect(plan.levels[.ii]?[0].deadlineS == 3600)
        #expect(plan.levels[.i] == nil)
        // Without a catalog any incident type name is accepted.
        let other = PlanBase.flood.replacingOccurrences(of: "incident: flood", with: "incident: landslide")
        #expect(try PlansReader.read(documents: [("x.yaml", other)], catalog: nil)["landslide"] != nil)
    }

    @Test func twoPlansForOneType() throws {
        let error = try #require(throws: ConfigError.self) {
            try PlansReader.read(documents: [("a.yaml", PlanBase.flood), ("b.yaml", PlanBase.flood)], catalog: nil)
        }
        #expect(error.problems.map(\.description) == ["b.yaml:1:11: incident: a plan for flood is already in a.yaml"])
    }

    @Test func readsEveryYAMLFileOfAFolder() throws {
        let dir = Fixtures.temporaryDirectory("tocsin-plans")
        defer { Fixtures.removeTemporary(dir) }
        try PlanBase.flood.write(toFile: dir + "/flood.yaml", atomically: true, encoding: .utf8)
        try PlanBase.flood.replacingOccurrences(of: "incident: flood", with: "incident: fire")
            .write(toFile: dir + "/fire.yaml", atomically: true, encoding: .utf8)
        try "not a plan".write(toFile: dir + "/README.md", atomically: true, encoding: .utf8)
        let plans = try PlansReader.read(folder: dir, catalog: Fixtures.shippedConfig.catalog)
        #expect(Set(plans.keys) == ["flood", "fire"])

        try PlanBase.flood.replacingOccurrences(of: "deadline: 1h", with: "deadline: soon")
            .write(toFile: dir + "/flood.yaml", atomically: true, encoding: .utf8)
        let error = try #require(throws: ConfigError.self) { try PlansReader.read(folder: dir, catalog: nil) }
        #expect(error.problems.map(\.file) == [dir + "/flood.yaml"])
        #expect(error.problems.first?.line == 25)
    }

    /// The `plans` key of tocsin.yaml: a missing folder is an error only when the key names it.
    @Test func plansFolderOfTheMainFile() throws {
        let dir = Fixtures.temporaryDirectory("tocsin-plans-main")
        defer { Fixtures.removeTemporary(dir) }
        let config = Fixtures.repositoryRoot + "/Config"
        let main = "areas: \(config)/areas.yaml\ncatalog: \(config)/catalog.yaml\n"
        try main.write(toFile: dir + "/tocsin.yaml", atomically: true, encoding: .utf8)
        #expect(try ConfigLoader.load(path: dir + "/tocsin.yaml").plans.isEmpty)

        try (main + "plans: nowhere\n").write(toFile: dir + "/tocsin.yaml", atomically: true, encoding: .utf8)
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: dir + "/tocsin.yaml") }
        #expect(error.problems.count == 1)
        #expect(error.problems.first?.file == dir + "/tocsin.yaml")
        #expect(error.problems.first?.key == "plans")
        #expect(error.problems.first?.line == 3)
        #expect(error.problems.first?.message == "cannot read the plans folder \"\(dir)/nowhere\"")

        try FileManager.default.createDirectory(atPath: dir + "/nowhere", withIntermediateDirectories: true)
        try PlanBase.flood.replacingOccurrences(of: "incident: flood", with: "incident: flod")
            .write(toFile: dir + "/nowhere/flood.yaml", atomically: true, encoding: .utf8)
        let bad = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: dir + "/tocsin.yaml") }
        #expect(bad.problems.map(\.key) == ["incident"])
        #expect(bad.problems.first?.file == dir + "/nowhere/flood.yaml")

        try PlanBase.flood.write(toFile: dir + "/nowhere/flood.yaml", atomically: true, encoding: .utf8)
        #expect(try ConfigLoader.load(path: dir + "/tocsin.yaml").plans.keys.sorted() == ["flood"])
    }
}
