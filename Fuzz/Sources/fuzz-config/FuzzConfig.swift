// libFuzzer harness: the configuration loaders (YAML through Yams, then the readers of tocsin.yaml, areas.yaml,
// catalog.yaml and a response plan). Each input is read in turn as each of the four documents, the others being
// small valid ones (the readers of the three main documents do not depend on each other; a plan is checked
// against the shipped catalog), so every reader meets it with a valid context and an input costs little.
//
// Besides "no crash, no hang, no leak" it checks that a refusal always names at least one problem with a file, a
// line from 1 and a message, and that loaded areas are valid paths inside the coordinate ranges.

import FuzzSupport
import TocsinConfig
import TocsinCore

private let mainText = "data: .tocsin\n"
private let areasText = """
    city:
      path: sz
      name: Shenzhen
      name_zh: 深圳市
      center: {lat: 22.5431, lon: 114.0579}
    """
private let catalogText = """
    incidents:
      flood: {category: natural_disaster, cap: [Met], headline: "Flood {tier}", instruction: "Keep away."}
    types:
      water_level:
        kind: sensor
        incident: flood
        values: {level_m: {}}
        tiers: {IV: [{value: level_m, gte: 2.5}]}
    """
private let catalog = FuzzSupport.shipped.catalog
/// The companions must load, or every input would be refused for their sake and the run would prove nothing.
private let companionsLoad: Void = {
    do throws(ConfigError) {
        _ = try ConfigLoader.load(main: mainText, areas: areasText, catalog: catalogText)
    } catch {
        FuzzSupport.violated("the harness's own documents do not load: \(error)")
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    // The file loaders refuse text that is not UTF-8 before YAML sees it.
    companionsLoad
    guard let text = FuzzSupport.utf8Text(data, size) else { return 0 }
    load { () throws(ConfigError) in _ = try ConfigLoader.load(main: text, areas: areasText, catalog: catalogText) }
    load { () throws(ConfigError) in
        let config = try ConfigLoader.load(main: mainText, areas: text, catalog: catalogText)
        for area in config.areas.areas.values {
            let c = area.center
            guard AreaPath.isValid(area.path.rawValue), abs(c.lat) <= 90, abs(c.lon) <= 180 else {
                FuzzSupport.violated("loaded area \(area.path) at \(c.lat), \(c.lon)")
            }
        }
    }
    load { () throws(ConfigError) in _ = try ConfigLoader.load(main: mainText, areas: areasText, catalog: text) }
    load { () throws(ConfigError) in _ = try PlansReader.read(documents: [("fuzz.yaml", text)], catalog: catalog) }
    return 0
}

private func load(_ body: () throws(ConfigError) -> Void) {
    do throws(ConfigError) {
        try body()
    } catch {
        if error.problems.isEmpty { FuzzSupport.violated("config error without a problem") }
        for p in error.problems where p.file.isEmpty || p.line < 1 || p.message.isEmpty {
            FuzzSupport.violated("config problem without file, line or message: \(p)")
        }
    }
}
