import Foundation
import Testing
@testable import TocsinCore

/// The correlation's cache of row scales and latitude cosines gives what computing them each time gives, for
/// lookups interleaved over more rows and latitudes than it keeps.
@Suite struct NeighbourhoodScalesTests {
    @Test func cachedScalesAndCosinesEqualTheComputedOnes() {
        var cache = NeighbourhoodScales()
        let cells: [Double] = [75, 150, 2_500]
        let latitudes: [Double] = [22.5431, 22.5432, 22.61, 22.47, 22.7, 22.5431, -33.9, 0, 89.99]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let lat = latitudes.randomElement(using: &rng)!
            let cellM = cells.randomElement(using: &rng)!
            let row = GridCell.row(lat: lat, cellM: cellM)
            let got = cache.around(row: row, cellM: cellM)
            #expect(got.0 == GridCell.scale(row: row - 1, cellM: cellM))
            #expect(got.1 == GridCell.scale(row: row, cellM: cellM))
            #expect(got.2 == GridCell.scale(row: row + 1, cellM: cellM))
            #expect(cache.cosine(ofLatitude: lat) == cos(lat * .pi / 180))
        }
    }
}
