import Foundation
import Testing
import TocsinCore
import TocsinTesting

@Suite struct CAPTests {
    typealias M = Make

    // MARK: The harness

    @Test(arguments: [
        ("cma-lightning-yellow.xml", true), ("google-cap-library-australia.cap", true),
        ("google-cap-library-canada.cap", true), ("google-cap-library-invalid.cap", false),
    ])
    func samplesValidateAsExpected(file: String, valid: Bool) throws {
        let dir = try #require(CAPSchema.directory)
        let result = try CAPSchema.validate(file: "\(dir)/samples/\(file)")
        #expect(result.valid == valid, "\(result.output)")
    }

    @Test func brokenXMLFails() throws {
        #expect(try !CAPSchema.validate(xml: "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">").valid)
        #expect(try !CAPSchema.validate(xml: "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"/>").valid)
    }

    // MARK: Rendering

    /// alert IV, update III, update II (references), escalation, cancel.
    static func floodWarnings(status: Status = .actual) -> (IncidentPipeline, [Warning]) {
        var p = IncidentPipeline()
        var ws = p.feed(M.event("g0", "water_level", values: ["level_m": 2.6], status: status))
        ws += p.feed(M.event("g1", "water_level", at: 60, values: ["level_m": 3.1], status: status))
        ws += p.feed(M.event("g2", "water_level", at: 120, values: ["level_m": 3.6], status: status))
        ws += p.feed(M.event("f0", "report.collapse", at: 130, M.offset(M.here, east: 4000), status: status))
        ws += p.tick(M.time(130 + 600))  // the collapse (III, district) escalates to the city
        ws += p.close("inc-1", at: M.time(1000))
        return (p, ws)
    }

    static func render(_ w: Warning, _ p: IncidentPipeline, offsetSeconds: Int = 28_800) -> String {
        CAPRenderer.render(
            w, references: p.book.references(of: w), areaName: M.areaName(w.area) ?? w.area.rawValue,
            offsetSeconds: offsetSeconds)
    }

    @Test(arguments: [Status.actual, .exercise, .test])
    func everyWarningValidates(status: Status) throws {
        let (p, ws) = Self.floodWarnings(status: status)
        #expect(ws.map(\.msgType) == [.alert, .update, .update, .alert, .update, .cancel])
        for w in ws {
            let xml = Self.render(w, p)
            let result = try CAPSchema.validate(xml: xml)
            #expect(result.valid, "\(w.id) \(w.msgType): \(result.output)\n\(xml)")
            #expect(xml.contains("<status>\(CAPRenderer.capStatus(status))</status>"))
            #expect(xml.contains("<msgType>\(w.msgType.capValue)</msgType>"))
        }
        let utc = Self.render(ws[2], p, offsetSeconds: 0)
        #expect(try CAPSchema.validate(xml: utc).valid)
    }

    @Test func alertContent() throws {
        let (p, ws) = Self.floodWarnings()
        let xml = Self.render(ws[0], p)
        #expect(xml.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">"))
        for fragment in [
            "<identifier>w-1</identifier>", "<sender>tocsin@sz.gov.cn</sender>",
            "<sent>2026-07-01T16:30:00+08:00</sent>", "<status>Actual</status>", "<msgType>Alert</msgType>",
            "<scope>Public</scope>", "<incidents>inc-1</incidents>", "<category>Met</category>",
            "<event>flood</event>", "<urgency>Expected</urgency>", "<severity>Minor</severity>",
            "<certainty>Observed</certainty>", "<headline>Flood warning IV (blue) in Shatou</headline>",
            "<areaDesc>Shatou</areaDesc>", "<circle>22.5277,114.025 0.05</circle>",
            "<value>sz.futian.shatou</value>",
        ] {
            #expect(xml.contains(fragment), "missing \(fragment)")
        }
        #expect(!xml.contains("<references>"))
        #expect(!xml.contains("<note>"))
    }

    @Test func updateReferencesEveryEarlierWarning() throws {
        let (p, ws) = Self.floodWarnings()
        let xml = Self.render(ws[2], p)
        #expect(
            xml.contains(
                "<references>tocsin@sz.gov.cn,w-1,2026-07-01T16:30:00+08:00 tocsin@sz.gov.cn,w-2,2026-07-01T16:31:00+08:00</references>"
            ))
        #expect(xml.contains("<msgType>Update</msgType>"))
        #expect(xml.contains("<urgency>Immediate</urgency>"))
        #expect(xml.contains("<severity>Severe</severity>"))
        let utc = Self.render(ws[2], p, offsetSeconds: 0)
        #expect(utc.contains("<sent>2026-07-01T08:32:00-00:00</sent>"))
        #expect(utc.contains("w-1,2026-07-01T08:30:00-00:00 "))
        #expect(!utc.contains("Z<"))
    }

    @Test func collapseHasTwoCategoriesAndEscalates() throws {
        let (p, ws) = Self.floodWarnings()
        let xml = Self.render(ws[4], p)
        #expect(xml.contains("<category>Rescue</category>\n    <category>Infra</category>"))
        #expect(xml.contains("<value>city</value>"))
        #expect(xml.contains("<severity>Moderate</severity>"))
        #expect(xml.contains("escalated."))
    }

    @Test func cancelContent() throws {
        let (p, ws) = Self.floodWarnings()
        let cancel = ws[5]
        let xml = Self.render(cancel, p)
        #expect(xml.contains("<msgType>Cancel</msgType>"))
        #expect(xml.contains("<responseType>AllClear</responseType>"))
        #expect(xml.contains("<urgency>Past</urgency>"))
        #expect(xml.components(separatedBy: "tocsin@sz.gov.cn,w-").count - 1 == cancel.references.count)
        #expect(cancel.references == ["w-1", "w-2", "w-3"])
    }

    @Test func exerciseCarriesANote() throws {
        let (p, ws) = Self.floodWarnings(status: .exercise)
        let xml = Self.render(ws[0], p)
        #expect(xml.contains("<status>Exercise</status>"))
        #expect(xml.contains("<note>Exercise: drill traffic, not a real incident.</note>"))
    }

    @Test func textIsEscapedAndStillValid() throws {
        let nasty = "Fire <b>\"big\"</b> & 'smoke' \u{1}\u{7} in {area_name}\r\nline 2 火灾"
        let catalog = Catalog(
            types: [
                EventTypeSpec(
                    name: "report.fire", kind: .report, incident: "fire", values: [],
                    tiers: [.iv: [.count(atLeast: 1)]])
            ],
            incidents: [
                IncidentTypeSpec(
                    name: "fire", category: .accident, capCategories: [.fire, .safety], headline: nasty,
                    instruction: nasty)
            ])
        var p = IncidentPipeline(catalog: catalog)
        let w = try requireFirst(p.feed(M.event("a", "report.fire")))
        let xml = CAPRenderer.render(
            w, references: [], sender: "tocsin ops,sz", areaName: "沙头 <Shatou> & co", offsetSeconds: -5 * 3600)
        let result = try CAPSchema.validate(xml: xml)
        #expect(result.valid, "\(result.output)\n\(xml)")
        #expect(xml.contains("Fire &lt;b&gt;&quot;big&quot;&lt;/b&gt; &amp; &apos;smoke&apos; \u{FFFD}\u{FFFD} in Shatou&#13;\nline 2 火灾"))
        #expect(xml.contains("<sender>tocsin_ops_sz</sender>"))
        #expect(xml.contains("<areaDesc>沙头 &lt;Shatou&gt; &amp; co</areaDesc>"))
        #expect(xml.contains("<sent>2026-07-01T03:30:00-05:00</sent>"))
    }

    @Test(arguments: [
        (22.5277, "22.5277"), (114.025, "114.025"), (12.0000001, "12"), (-22.5, "-22.5"), (0.0, "0"),
        (-0.0000004, "0"), (22.12345678, "22.123457"),
    ])
    func circleDegrees(x: Double, expected: String) {
        #expect(CAPRenderer.circle(Warning.Location(lat: x, lon: x, radiusM: 50)) == "\(expected),\(expected) 0.05")
    }

    @Test(arguments: [(50.0, "0.05"), (1234.6, "1.235"), (3000.0, "3"), (500.0, "0.5"), (0.4, "0")])
    func circleRadius(metres: Double, km: String) {
        #expect(CAPRenderer.circle(Warning.Location(lat: 1, lon: 2, radiusM: metres)) == "1,2 \(km)")
    }
}
