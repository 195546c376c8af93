import TocsinCore

/// Reads `areas.yaml`: the city, its districts and their streets.
enum AreasReader {
    static func read(_ root: YAMLCursor) -> AreaTree {
        var areas: [Area] = []
        guard let top = root.fields(allowed: ["city"], required: ["city"]), let city = top["city"] else { return AreaTree() }
        readArea(city, parent: nil, depth: 1, childKey: "districts", into: &areas)
        var seen: [AreaPath: Int] = [:]
        for a in areas { seen[a.path, default: 0] += 1 }
        for (path, n) in seen where n > 1 {
            root.problem("area \(path) is listed \(n) times")
        }
        return AreaTree(areas)
    }

    private static func readArea(_ c: YAMLCursor, parent: AreaPath?, depth expectedDepth: Int, childKey: String?,
                                 into areas: inout [Area]) {
        var allowed: Set<String> = ["path", "name", "name_zh", "center", "public_key"]
        if let childKey { allowed.insert(childKey) }
        guard let f = c.fields(allowed: allowed, required: ["path", "name", "name_zh", "center"]) else { return }
        var path: AreaPath?
        if let pc = f["path"], let text = pc.string() {
            if let p = AreaPath(text) {
                if p.depth != expectedDepth {
                    pc.problem("\"\(text)\" should have \(expectedDepth) segment\(expectedDepth == 1 ? "" : "s") at this level")
                } else if let parent, p.parent != parent {
                    pc.problem("\"\(text)\" is not directly below \(parent)")
                } else {
                    path = p
                }
            } else {
                pc.problem("\"\(text)\" is not an area path (dotted lower-case a-z, 0-9, _; at most 3 segments)")
            }
        }
        let name = f["name"]?.nonEmptyString()
        let nameZh = f["name_zh"]?.nonEmptyString()
        let center = f["center"].flatMap(readPoint)
        var key: String?
        if let k = f["public_key"], let text = k.string() {
            if ConfigLoader.isZ85Key(text) { key = text } else { k.problem("expected a 40-character Z85 CURVE public key") }
        }
        if let path, let name, let nameZh, let center {
            areas.append(Area(path: path, name: name, nameZh: nameZh, center: center, publicKey: key))
        }
        if let childKey, let kids = f[childKey], let items = kids.items() {
            let grandchild: String? = childKey == "districts" ? "streets" : nil
            for item in items {
                readArea(item, parent: path, depth: expectedDepth + 1, childKey: grandchild, into: &areas)
            }
        }
    }

    static func readPoint(_ c: YAMLCursor) -> GeoPoint? {
        guard let f = c.fields(allowed: ["lat", "lon"], required: ["lat", "lon"]) else { return nil }
        var lat = f["lat"]?.double(), lon = f["lon"]?.double()
        if let v = lat, !(-90...90).contains(v) { f["lat"]?.problem("\(v) is out of range [-90, 90]"); lat = nil }
        if let v = lon, !(-180...180).contains(v) { f["lon"]?.problem("\(v) is out of range [-180, 180]"); lon = nil }
        guard let lat, let lon else { return nil }
        return GeoPoint(lat: lat, lon: lon)
    }
}
