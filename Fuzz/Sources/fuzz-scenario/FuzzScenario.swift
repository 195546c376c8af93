// libFuzzer harness: the drill scenario loader (YAML through Yams, then ScenarioReader) against the shipped
// configuration and plans, and the expansion of a loaded scenario into the events a drill sends.
//
// Besides "no crash, no hang, no leak" it checks that a refusal always names a problem with a line, and that every
// event a loaded scenario expands to is one the ingest endpoint accepts: a scenario that loads cannot make a drill
// send what the wire rejects.

import FuzzSupport
import TocsinConfig
import TocsinCore
import TocsinDrill

private let config = FuzzSupport.shipped
/// Drill events are timed in the scenario's own time; "now" at the end of the representable range accepts any.
private let decoder = EventDecoder(catalog: config.catalog, areas: config.areas, maxFutureSeconds: 300)
private let endOfTime = Timestamp(micros: 253_402_300_799_000_000)  // 9999-12-31T23:59:59Z
/// Expansion is checked for scenarios up to this many events (the loader allows 10,000 per inject); larger ones
/// only load, to keep every input well under the run's time-out.
private let maxExpandedEvents = 2_000

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzScenario(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let text = FuzzSupport.utf8Text(data, size) else { return 0 }
    let scenario: Scenario
    do throws(ScenarioError) {
        scenario = try ScenarioLoader.load(
            text: text, name: "fuzz.yaml", catalog: config.catalog, areas: config.areas, plans: config.plans)
    } catch {
        if error.problems.isEmpty { FuzzSupport.violated("scenario error without a problem") }
        for p in error.problems where p.line < 1 || p.message.isEmpty {
            FuzzSupport.violated("scenario problem without line or message: \(p)")
        }
        return 0
    }
    let counts = scenario.eventCount
    guard counts.injects + counts.contingencies <= maxExpandedEvents else { return 0 }
    var events = scenario.expandedInjects()
    for e in scenario.expectations { events += scenario.contingencyInjects(for: e.id) }
    for scheduled in events {
        if scheduled.offset < 0 || scheduled.offset > scenario.duration {
            FuzzSupport.violated("event \(scheduled.id) at \(scheduled.offset) s, outside the scenario")
        }
        switch decoder.decode(scheduled.json, now: endOfTime) {
        case .success(let event):
            if event.id != scheduled.id || event.source.rawValue != scheduled.source || event.status != .exercise {
                FuzzSupport.violated("event \(scheduled.id) decodes as \(event)")
            }
        case .failure(let rejection):
            FuzzSupport.violated(
                "loaded scenario sends an event the wire rejects: \(rejection)\n\(String(decoding: scheduled.json, as: UTF8.self))")
        }
    }
    return 0
}
