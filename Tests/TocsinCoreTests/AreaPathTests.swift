import Testing
@testable import TocsinCore

@Suite struct AreaPathTests {
    /// Depth and ancestors against the definition (the segments, joined): every level of paths of one, two and
    /// three segments, short and long (long ones are not stored inline in the string).
    @Test(arguments: ["sz", "sz.futian", "sz.futian.shatou", "a_long_city_name_0123456789",
                      "a_long_city_name.a_longer_district_name_99.the_longest_street_name_of_all"])
    func depthAndAncestorsFollowTheSegments(_ text: String) throws {
        let path = try #require(AreaPath(text))
        let segments = text.split(separator: ".")
        #expect(path.depth == segments.count)
        for level in [Level.city, .district, .street] {
            let expected = segments.prefix(level.depth).joined(separator: ".")
            #expect(path.ancestor(at: level).rawValue == expected, "\(text) at \(level)")
            #expect(path.ancestor(at: level).depth == min(segments.count, level.depth))
        }
    }
}
