import Foundation
import Testing
import TocsinConfig
import TocsinCore
import TocsinTesting

/// Boundary values in the YAML configuration: numbers (NaN, infinities, -0.0, 1e309, above 2^53), durations,
/// look-alike letters in area paths, NUL, a byte order mark, tabs and duplicate keys. Each case changes one line of
/// the `Base` documents and states the exact outcome: the value loaded, or the problem with its key, line and
/// message. Numbers are read by Swift's `Double(String)`: `.nan` and `.inf` (YAML's spellings) are not numbers to
/// it, `nan`, `inf` and `1e309` are not finite, and `0x16` is 22.
@Suite struct ConfigBoundaryTests {
    enum Loaded: Sendable {
        /// The centre latitude of sz.futian, bit for bit.
        case futianLat(Double)
        case futianNameZh(String)
        case streetTimeout(Double)
        case ingestEndpoint(String)
    }

    enum Outcome: Sendable {
        case loads(Loaded)
        /// A problem in `file` at `line` with exactly this key and message (others may come with it).
        case problem(line: Int, key: String, message: String)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var file: String
        var from: String
        var to: String
        var outcome: Outcome
        /// Escaped, so that a NUL or a bidirectional control does not garble the test log.
        var testDescription: String { "\(file): " + JSONWriter.quoted(to) }
    }

    static func lat(_ text: String, _ outcome: Outcome) -> Case {
        Case(file: "areas.yaml", from: "lat: 22.5218", to: "lat: \(text)", outcome: outcome)
    }
    static func lat(_ text: String, _ x: Double) -> Case { lat(text, .loads(.futianLat(x))) }
    static func latProblem(_ text: String, _ message: String) -> Case {
        lat(text, .problem(line: 10, key: "city.districts[0].center.lat", message: message))
    }
    static func path(_ text: String) -> Case {
        Case(file: "areas.yaml", from: "path: sz.futian\n", to: "path: \(text)\n", outcome: .problem(
            line: 7, key: "city.districts[0].path",
            message: "\"\(text)\" is not an area path (dotted lower-case a-z, 0-9, _; at most 3 segments)"))
    }
    static func street(_ text: String, _ outcome: Outcome) -> Case {
        Case(file: "tocsin.yaml", from: "street: 5m", to: "street: \(text)", outcome: outcome)
    }
    static func badDuration(_ text: String) -> Case {
        street(text, .problem(line: 8, key: "escalation.street",
                              message: "expected a duration such as 30s, 5m, 2h or 1d, got \"\(text)\""))
    }

    static let cases: [Case] = [
        lat("90", 90),
        lat("-90", -90),
        lat("-0.0", -0.0),
        lat("2.25e1", 22.5),
        lat("0x16", 22),
        lat("+22.5", 22.5),
        lat("1e-400", 0),
        latProblem("90.0000001", "90.0000001 is out of range [-90, 90]"),
        latProblem("9007199254740993", "9007199254740992.0 is out of range [-90, 90]"),
        latProblem("1e309", "expected a number, got \"1e309\""),
        latProblem("-1e309", "expected a number, got \"-1e309\""),
        latProblem(".nan", "expected a number, got \".nan\""),
        latProblem("nan", "expected a number, got \"nan\""),
        latProblem(".inf", "expected a number, got \".inf\""),
        latProblem("inf", "expected a number, got \"inf\""),
        latProblem("1_000", "expected a number, got \"1_000\""),
        latProblem("\"22,5\"", "expected a number, got \"22,5\""),
        latProblem("\u{FF12}\u{FF12}.5", "expected a number, got \"\u{FF12}\u{FF12}.5\""),
        latProblem("[22.5]", "expected a number, got a list"),
        latProblem("\"\"", "expected a number, got \"\""),
        path("sz.fut\u{0456}an"),  // Cyrillic і
        path("sz.futi\u{0430}n"),  // Cyrillic а
        path("\u{FF53}\u{FF5A}.futian"),  // full-width ｓｚ
        path("sz.futian\u{200B}"),
        path("Sz.futian"),
        Case(file: "areas.yaml", from: "name_zh: 福田区", to: "name_zh: \"\u{202E}福田区\"",
             outcome: .loads(.futianNameZh("\u{202E}福田区"))),
        Case(file: "areas.yaml", from: "name_zh: 福田区", to: "name_zh: \"福\\0田区\"",
             outcome: .loads(.futianNameZh("福\u{0}田区"))),
        Case(file: "areas.yaml", from: "name_zh: 福田区", to: "name_zh: 福\u{0}田区",
             outcome: .problem(line: 9, key: "", message: "YAML syntax: control characters are not allowed")),
        Case(file: "areas.yaml", from: "city:\n", to: "\u{FEFF}city:\n", outcome: .loads(.futianLat(22.5218))),
        Case(file: "areas.yaml", from: "      name: Futian\n", to: "      name: Futian\n      name: Futian\n",
             outcome: .problem(line: 8, key: "", message: "duplicate key name")),
        Case(file: "areas.yaml", from: "  path: sz\n", to: "\tpath: sz\n", outcome: .problem(
            line: 2, key: "", message: "YAML syntax: found character that cannot start any token")),
        street("0.5s", .loads(.streetTimeout(0.5))),
        street("1d", .loads(.streetTimeout(86_400))),
        street("5", .loads(.streetTimeout(5))),
        street("0s", .problem(line: 8, key: "escalation.street", message: "must be longer than 0s")),
        badDuration("-5m"),
        badDuration("1e309s"),
        badDuration("infs"),
        badDuration("nan"),
        badDuration("5M"),
        badDuration("5 m"),
        badDuration("\u{0665}m"),  // an Arabic-Indic five
        Case(file: "tocsin.yaml", from: "ingest: tcp://127.0.0.1:7701", to: "ingest: tcp://127.0.0.1:65535",
             outcome: .loads(.ingestEndpoint("tcp://127.0.0.1:65535"))),
        Case(file: "tocsin.yaml", from: "ingest: tcp://127.0.0.1:7701", to: "ingest: tcp://127.0.0.1:65536",
             outcome: .problem(line: 2, key: "endpoints.ingest", message:
                "\"tcp://127.0.0.1:65536\" is not a ZeroMQ endpoint (tcp://host:port, ipc://path or inproc://name)")),
        Case(file: "tocsin.yaml", from: "ingest: tcp://127.0.0.1:7701", to: "ingest: tcp://127.0.0.1:0x1E",
             outcome: .problem(line: 2, key: "endpoints.ingest", message:
                "\"tcp://127.0.0.1:0x1E\" is not a ZeroMQ endpoint (tcp://host:port, ipc://path or inproc://name)")),
        Case(file: "tocsin.yaml", from: "data: .tocsin", to: "data: \"  \"",
             outcome: .problem(line: 5, key: "data", message: "must not be empty")),
    ]

    @Test(arguments: ConfigBoundaryTests.cases)
    func boundary(_ c: Case) throws {
        var main = Base.main, areas = Base.areas, catalog = Base.catalog
        switch c.file {
        case "tocsin.yaml": main = try replaced(main, c)
        case "areas.yaml": areas = try replaced(areas, c)
        default: catalog = try replaced(catalog, c)
        }
        let result: Result<TocsinConfiguration, ConfigError>
        do throws(ConfigError) {
            result = .success(try ConfigLoader.load(main: main, areas: areas, catalog: catalog))
        } catch {
            result = .failure(error)
        }
        switch (c.outcome, result) {
        case (.loads(let expected), .success(let config)):
            let futian = config.areas[AreaPath("sz.futian")!]
            switch expected {
            case .futianLat(let x): #expect(futian?.center.lat.bitPattern == x.bitPattern, "\(String(describing: futian))")
            case .futianNameZh(let s): #expect(futian?.nameZh == s)
            case .streetTimeout(let t): #expect(config.acknowledgeTimeout[.street] == t)
            case .ingestEndpoint(let e): #expect(config.endpoints.ingest == e)
            }
        case (.problem(let line, let key, let message), .failure(let error)):
            let match = error.problems.first { $0.file == c.file && $0.key == key && $0.message == message }
            #expect(match != nil, "got: \(error.problems.map(\.description))")
            #expect(match?.line == line, "got: \(error.problems.map(\.description))")
        default:
            Issue.record("expected \(c.outcome), got \(result)")
        }
    }

    private func replaced(_ text: String, _ c: Case) throws -> String {
        try #require(text.contains(c.from), "case \(c.testDescription) does not apply")
        return text.replacingOccurrences(of: c.from, with: c.to)
    }

    @Test func tableIsLarge() {
        #expect(Self.cases.count >= 40)
    }

    /// A file that is not UTF-8 is refused before YAML reads it, with its name.
    @Test func invalidUTF8File() throws {
        let folder = Fixtures.temporaryDirectory("tocsin-boundary")
        defer { Fixtures.removeTemporary(folder) }
        try Base.main.write(toFile: folder + "/tocsin.yaml", atomically: true, encoding: .utf8)
        try Base.catalog.write(toFile: folder + "/catalog.yaml", atomically: true, encoding: .utf8)
        var areas = Array(Base.areas.utf8)
        let at = try #require(areas.firstIndex(of: UInt8(ascii: "F")))
        areas.insert(contentsOf: [0xC3, 0x28], at: at)  // a lead byte without its continuation
        try Data(areas).write(to: URL(fileURLWithPath: folder + "/areas.yaml"))
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: folder + "/tocsin.yaml") }
        #expect(error.problems.map(\.description).contains { $0.contains("areas.yaml") && $0.contains("not UTF-8 text") },
                "got: \(error.problems.map(\.description))")
    }
}
