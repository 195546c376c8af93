import Testing
import TocsinCore
import TocsinTesting
@testable import TocsinWorkers

@Suite struct CoalesceTests {
    /// Ten fire reports at one place: tiers IV (1 report), III (3), II (10).
    func changes(reports: Int) -> [IncidentChange] {
        var engine = IncidentEngine(catalog: Fixtures.shippedConfig.catalog)
        var out: [IncidentChange] = []
        for i in 0..<reports {
            let event = Event(id: "f-\(i)", source: AreaPath("sz.futian.shatou")!, kind: .report, type: "report.fire",
                              time: Timestamp(seconds: 1_782_894_600 + Double(i)),
                              location: GeoPoint(lat: 22.5277, lon: 114.025))
            out += engine.apply(event, seq: Int64(i + 1))
        }
        return out
    }

    @Test func keepsEveryTierStepWithItsFactsAndTheLatestState() {
        let all = changes(reports: 10)
        let kept = ClassifyWorker.coalesce(all)
        // Runs: IV (reports 1-2), III (3-9), II (10): first and last of each run.
        #expect(kept.map(\.incident.tier) == [.iv, .iv, .iii, .iii, .ii])
        #expect(kept.map(\.incident.eventCount) == [1, 2, 3, 9, 10])
        #expect(kept.first.map { if case .opened = $0.kind { true } else { false } } == true)
    }

    @Test func batchBoundariesDoNotChangeTheTierSteps() {
        let all = changes(reports: 10)
        let whole = ClassifyWorker.coalesce(all)
        let split = ClassifyWorker.coalesce(Array(all[..<4])) + ClassifyWorker.coalesce(Array(all[4...]))
        // The changes that move the tier are the same, with the same facts, however the batch was cut.
        func steps(_ c: [IncidentChange]) -> [(Tier?, Int)] {
            var out: [(Tier?, Int)] = []
            var tier: Tier?? = .none
            for x in c where tier != .some(x.incident.tier) {
                out.append((x.incident.tier, x.incident.eventCount))
                tier = .some(x.incident.tier)
            }
            return out
        }
        #expect(steps(whole).map(\.0) == steps(split).map(\.0))
        #expect(steps(whole).map(\.1) == steps(split).map(\.1))
        #expect(whole.last?.incident.eventCount == 10)
        #expect(split.last?.incident.eventCount == 10)
    }
}
