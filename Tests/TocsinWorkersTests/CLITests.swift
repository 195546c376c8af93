import Foundation
import Testing
import TocsinTesting
import ZeroMQ

/// The small commands, as an operator runs them.
@Suite struct CLITests {
    @Test func keysGenerateGivesAMatchingZ85Pair() throws {
        let dir = Fixtures.temporaryDirectory("tocsin-cli")
        defer { Fixtures.removeTemporary(dir) }
        let child = try ChildProcess(arguments: ["keys", "generate"], logPath: dir + "/out")
        #expect(child.wait(timeout: 20) == 0)
        let lines = child.log.split(separator: "\n").map(String.init)
        let pub = try #require(lines.first { $0.hasPrefix("public: ") }).dropFirst(8)
        let sec = try #require(lines.first { $0.hasPrefix("secret: ") }).dropFirst(8)
        #expect(pub.count == 40 && sec.count == 40)
        #expect(try CurveKeyPair.publicKey(forSecret: String(sec)) == String(pub))
    }

    @Test func configCheckSummarisesTheShippedConfig() throws {
        let dir = Fixtures.temporaryDirectory("tocsin-cli")
        defer { Fixtures.removeTemporary(dir) }
        let child = try ChildProcess(arguments: ["config", "check", "--config", Fixtures.configPath], logPath: dir + "/out")
        #expect(child.wait(timeout: 20) == 0)
        #expect(child.log.contains("Areas: 85 platforms (1 city, 10 districts, 74 streets)"))
        #expect(child.log.contains("Event types: 10 (9 incident types)"))
    }

    @Test func configCheckListsEveryProblemAndExitsTwo() throws {
        let dir = Fixtures.temporaryDirectory("tocsin-cli")
        defer { Fixtures.removeTemporary(dir) }
        let main = try String(contentsOfFile: Fixtures.configPath, encoding: .utf8)
            .replacingOccurrences(of: "durability: full", with: "durability: fsync")
            .replacingOccurrences(of: "areas: areas.yaml", with: "areas: \(Fixtures.repositoryRoot)/Config/areas.yaml")
            .replacingOccurrences(of: "catalog: catalog.yaml", with: "catalog: \(Fixtures.repositoryRoot)/Config/catalog.yaml")
            .replacingOccurrences(of: "plans: plans", with: "plans: \(Fixtures.repositoryRoot)/Config/plans")
            .replacingOccurrences(of: "  street: 5m", with: "  street: soon")
        try main.write(toFile: dir + "/tocsin.yaml", atomically: true, encoding: .utf8)
        let child = try ChildProcess(arguments: ["config", "check", "--config", dir + "/tocsin.yaml"], logPath: dir + "/out")
        #expect(child.wait(timeout: 20) == 2)
        #expect(child.log.contains("2 configuration problems"), "\(child.log)")
        #expect(child.log.contains("tocsin.yaml:"))
        #expect(child.log.contains("durability: unknown value \"fsync\""))
        #expect(child.log.contains("escalation.street: expected a duration"))
    }

    @Test func plansShowPrintsAChecklist() throws {
        let dir = Fixtures.temporaryDirectory("tocsin-cli")
        defer { Fixtures.removeTemporary(dir) }
        let child = try ChildProcess(arguments: ["plans", "show", "flood", "--config", Fixtures.configPath], logPath: dir + "/out")
        #expect(child.wait(timeout: 20) == 0)
        for level in ["IV", "III", "II", "I"] { #expect(child.log.contains(level)) }
        let unknown = try ChildProcess(arguments: ["plans", "show", "meteor", "--config", Fixtures.configPath], logPath: dir + "/out2")
        #expect(unknown.wait(timeout: 20) == 1)
    }
}
