import Testing
@testable import TocsinCore

/// `EventValues` behaves as the `[String: Double]` it replaced: the same reads, writes and removals, equality and
/// hashing whatever the order, with values inline (up to two) and in the array beyond.
@Suite struct EventValuesTests {
    @Test func actsAsTheDictionary() {
        var rng = SystemRandomNumberGenerator()
        let names = ["level_m", "ppm", "lel_pct", "injured", "trapped", "cases"]
        for _ in 0..<2000 {
            var dictionary: [String: Double] = [:]
            var values = EventValues()
            for _ in 0..<Int.random(in: 0...12, using: &rng) {
                let name = names.randomElement(using: &rng)!
                let value: Double? = Int.random(in: 0...3, using: &rng) == 0 ? nil : Double(Int.random(in: 0...9, using: &rng))
                dictionary[name] = value
                values[name] = value
            }
            #expect(values.dictionary == dictionary)
            #expect(values.count == dictionary.count)
            #expect(values.isEmpty == dictionary.isEmpty)
            for name in names { #expect(values[name] == dictionary[name]) }
            #expect(Set(values.map(\.key)) == Set(dictionary.keys))
            // Equal to the same values given in any order, and hashed alike.
            let reordered = EventValues(Dictionary(uniqueKeysWithValues: dictionary.shuffled(using: &rng).map { ($0.key, $0.value) }))
            var shuffled = EventValues()
            for (k, v) in dictionary.shuffled(using: &rng) { shuffled[k] = v }
            #expect(shuffled == values && reordered == values)
            #expect(shuffled.hashValue == values.hashValue)
            if let (k, v) = dictionary.first {
                var changed = values
                changed[k] = v + 1
                #expect(changed != values)
                changed[k] = nil
                #expect(changed != values && changed.count == values.count - 1)
            }
        }
    }

    @Test func literalsAndDescription() {
        let values: EventValues = ["level_m": 2.5, "ppm": 10, "lel_pct": 1, "x": 0]
        #expect(values.count == 4)
        #expect(values[2].key == "lel_pct" && values[3].value == 0)
        #expect(values == ["x": 0, "lel_pct": 1, "ppm": 10, "level_m": 2.5])
        #expect(values != ["x": 0, "lel_pct": 1, "ppm": 10])
        #expect(EventValues() == [:])
        #expect((["a": 1] as EventValues).description == #"["a": 1.0]"#)
        #expect(Set([values, ["x": 0, "lel_pct": 1, "ppm": 10, "level_m": 2.5]]).count == 1)
    }
}
