import Foundation
import TocsinCore

/// The city map of the dashboard, drawn from the configuration's areas alone (no tiles, no internet): each
/// district a padded hull around its streets' centres, streets as dots, names as labels. The projection
/// (equirectangular, scaled by the cosine of the middle latitude) is written on the `<svg>` so the page can put
/// incidents on it the same way.
public struct MapSVG: Sendable {
    public let width: Double
    public let height: Double
    let minLon: Double
    let maxLat: Double
    let kx: Double
    let ky: Double
    let areas: AreaTree

    public init(areas: AreaTree, width: Double = 900) {
        self.areas = areas
        let points = areas.sorted.map(\.center)
        var minLon = points.map(\.lon).min() ?? 113.8, maxLon = points.map(\.lon).max() ?? 114.6
        var minLat = points.map(\.lat).min() ?? 22.4, maxLat = points.map(\.lat).max() ?? 22.9
        if maxLon - minLon < 0.01 { minLon -= 0.05; maxLon += 0.05 }
        if maxLat - minLat < 0.01 { minLat -= 0.05; maxLat += 0.05 }
        let padLon = (maxLon - minLon) * 0.06, padLat = (maxLat - minLat) * 0.08
        minLon -= padLon; maxLon += padLon; minLat -= padLat; maxLat += padLat
        let cosLat = cos((minLat + maxLat) / 2 * .pi / 180)
        self.width = width
        kx = width / (maxLon - minLon)
        ky = kx / cosLat
        height = (maxLat - minLat) * ky
        self.minLon = minLon
        self.maxLat = maxLat
    }

    public func project(_ p: GeoPoint) -> (x: Double, y: Double) {
        ((p.lon - minLon) * kx, (maxLat - p.lat) * ky)
    }

    public func render() -> String {
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        let e = CAPRenderer.escaped
        var s = """
            <svg id="map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(f(width)) \(f(height))" \
            data-min-lon="\(minLon)" data-max-lat="\(maxLat)" data-kx="\(kx)" data-ky="\(ky)" \
            role="img" aria-label="City map">

            """
        s += "<rect width=\"100%\" height=\"100%\" class=\"sea\"/>\n<g class=\"districts\">\n"
        let all = areas.sorted
        let districts = all.filter { $0.path.level == .district }
        for (i, d) in districts.enumerated() {
            let pts = ([d] + all.filter { $0.path.parent == d.path }).map { project($0.center) }
            let hull = Self.convexHull(pts)
            let points = hull.map { "\(f($0.x)),\(f($0.y))" }.joined(separator: " ")
            s += "<polygon class=\"district d\(i % 6)\" data-area=\"\(e(d.path.rawValue))\" points=\"\(points)\">"
            s += "<title>\(e(d.name)) \(e(d.nameZh))</title></polygon>\n"
        }
        s += "</g>\n<g class=\"streets\">\n"
        for a in all where a.path.level == .street {
            let p = project(a.center)
            s += "<circle class=\"street\" cx=\"\(f(p.x))\" cy=\"\(f(p.y))\" r=\"2\"><title>\(e(a.name))</title></circle>\n"
        }
        s += "</g>\n<g class=\"labels\">\n"
        for d in districts {
            let p = project(d.center)
            s += "<text x=\"\(f(p.x))\" y=\"\(f(p.y))\">\(e(d.name))</text>\n"
        }
        s += "</g>\n<g id=\"incidents\"></g>\n</svg>"
        return s
    }

    /// Andrew's monotone chain; fewer than three points come back as they are.
    static func convexHull(_ points: [(x: Double, y: Double)]) -> [(x: Double, y: Double)] {
        let p = points.sorted { $0.x == $1.x ? $0.y < $1.y : $0.x < $1.x }
        guard p.count >= 3 else { return p }
        func cross(_ o: (x: Double, y: Double), _ a: (x: Double, y: Double), _ b: (x: Double, y: Double)) -> Double {
            (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x)
        }
        var lower: [(x: Double, y: Double)] = [], upper: [(x: Double, y: Double)] = []
        for q in p {
            while lower.count >= 2, cross(lower[lower.count - 2], lower[lower.count - 1], q) <= 0 { lower.removeLast() }
            lower.append(q)
        }
        for q in p.reversed() {
            while upper.count >= 2, cross(upper[upper.count - 2], upper[upper.count - 1], q) <= 0 { upper.removeLast() }
            upper.append(q)
        }
        return Array(lower.dropLast() + upper.dropLast())
    }
}
